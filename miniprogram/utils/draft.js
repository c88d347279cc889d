// The report being written, kept in storage so that nothing is lost on a weak network or when
// the app is closed. Its idempotency key is created once and reused by every retry.
//
// Its photos are kept in the user data folder (wx.env.USER_DATA_PATH): chooseMedia's temporary
// paths may be cleared once the app is closed, and a draft that outlives a restart must still
// have its photos — or say plainly which one to add again (missingPhotos).
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
    autoAttempts: 0, // automatic resends since the resident last pressed 提交 (bounded)
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

function hasContent(draft) {
  return !!(draft && (draft.photos.length || draft.description || draft.category))
}

// --- photos in the user data folder ---------------------------------------------------------------

function fileSystem() {
  return typeof wx.getFileSystemManager === 'function' ? wx.getFileSystemManager() : null
}

function userDataPath() {
  return (wx.env && wx.env.USER_DATA_PATH) || ''
}

function isKept(path) {
  const root = userDataPath()
  return !!root && typeof path === 'string' && path.indexOf(`${root}/`) === 0
}

let kept = 0

// Moves a photo chooseMedia gave into the user data folder and resolves its new path. If that
// fails (no room left), the temporary path is kept: it works until the app is closed.
function keepPhoto(tempPath) {
  const fs = fileSystem()
  const root = userDataPath()
  if (!fs || !root || isKept(tempPath)) return Promise.resolve(tempPath)
  kept += 1
  const ext = (/\.[A-Za-z0-9]{1,5}$/.exec(tempPath) || ['.jpg'])[0]
  const filePath = `${root}/draft-${Date.now().toString(36)}-${kept}${ext}`
  return new Promise((resolve) => {
    fs.saveFile({
      tempFilePath: tempPath,
      filePath,
      success: (res) => resolve((res && res.savedFilePath) || filePath),
      fail: () => resolve(tempPath),
    })
  })
}

function photoExists(path) {
  const fs = fileSystem()
  if (!fs || typeof fs.accessSync !== 'function') return true
  try {
    fs.accessSync(path)
    return true
  } catch (err) {
    return false
  }
}

// Deletes a kept photo (never a temporary one, which is WeChat's to clear).
function dropPhoto(path) {
  const fs = fileSystem()
  if (!fs || !isKept(path)) return
  try {
    fs.unlinkSync(path)
  } catch (err) {
    // already gone
  }
}

// The indexes of photos still to upload whose file is gone (e.g. a temporary path after a restart).
function missingPhotos(draft) {
  const out = []
  ;(draft.photos || []).forEach((p, i) => {
    if (!p.mediaId && !photoExists(p.path)) out.push(i)
  })
  return out
}

// "第 2 张照片" / "第 1、3 张照片": which photos to add again, counted as the resident sees them.
function photoNames(indexes) {
  return `第 ${indexes.map((i) => i + 1).join('、')} 张照片`
}

function clear() {
  load().photos.forEach((p) => dropPhoto(p.path))
  wx.removeStorageSync(KEY)
}

module.exports = {
  KEY, emptyDraft, load, save, clear, hasContent, keepPhoto, photoExists, dropPhoto, missingPhotos, photoNames, isKept,
}
