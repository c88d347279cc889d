// The report being written, kept in storage so that nothing is lost on a weak network or when
// the app is closed. Its idempotency key is created once and reused by every retry.
const KEY = 'gz.reportDraft'

function emptyDraft() {
  return {
    photos: [], // [{path, mediaId}] — mediaId once uploaded, so a retry does not upload again
    location: null, // {lng, lat, crs: 'gcj02'}
    address: '',
    category: null, // {code, label, requires_photo}
    description: '',
    isPublic: true,
    idempotencyKey: '',
    status: 'editing', // editing | sending | waiting_retry
    lastError: '',
  }
}

function load() {
  const saved = wx.getStorageSync(KEY)
  return saved && typeof saved === 'object' ? Object.assign(emptyDraft(), saved) : emptyDraft()
}

function save(draft) {
  wx.setStorageSync(KEY, draft)
  return draft
}

function clear() {
  wx.removeStorageSync(KEY)
}

function hasContent(draft) {
  return !!(draft && (draft.photos.length || draft.description || draft.category))
}

module.exports = { KEY, emptyDraft, load, save, clear, hasContent }
