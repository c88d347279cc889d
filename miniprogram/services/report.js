// Sending the saved report draft: photos first (one wx.uploadFile each, progress per photo),
// then the ticket with the draft's idempotency key. A network failure keeps the draft and the
// key, so the next try — by the resident, a timer or the app coming back — files it only once.
const api = require('./api')
const drafts = require('../utils/draft')
const { MAX_PHOTOS } = require('../utils/photos')

// A plain sentence for what is still missing, or '' when the draft can be sent.
function validate(draft) {
  if (!draft.category) return '请选择问题类型'
  if (!draft.location) return '请确定问题位置'
  if (!draft.description || !draft.description.trim()) return '请简单描述一下问题'
  if (draft.category.requires_photo && !draft.photos.length) return '这类问题需要拍一张现场照片'
  if (draft.photos.length > MAX_PHOTOS) return `最多上传 ${MAX_PHOTOS} 张照片`
  return ''
}

function reportBody(draft) {
  return {
    category_code: draft.category.code,
    description: draft.description.trim(),
    location: { lng: draft.location.lng, lat: draft.location.lat, crs: draft.location.crs },
    address: draft.address || '',
    media_ids: draft.photos.map((p) => p.mediaId),
    is_public: !!draft.isPublic,
  }
}

let sending = null

// Resolves {ticket} when filed, or {alreadyFiled: true} when the server says this key was
// already used for a report (an earlier try got through but its answer was lost, and the draft
// was edited since). Rejects with the ApiError otherwise; the draft then stays saved.
function submitDraft(options) {
  if (sending) return sending
  sending = doSubmit(options || {}).then((result) => {
    sending = null
    return result
  }, (err) => {
    sending = null
    throw err
  })
  return sending
}

async function doSubmit({ onPhotoProgress }) {
  const draft = drafts.load()
  if (!draft.idempotencyKey) draft.idempotencyKey = api.newIdempotencyKey()
  draft.status = 'sending'
  draft.lastError = ''
  drafts.save(draft)
  try {
    for (let i = 0; i < draft.photos.length; i += 1) {
      const photo = draft.photos[i]
      if (!photo.mediaId) {
        const media = await api.uploadPhoto(photo.path, 'report', (p) => onPhotoProgress && onPhotoProgress(i, p))
        photo.mediaId = media.id
        drafts.save(draft) // an uploaded photo is never uploaded again
      } else if (onPhotoProgress) {
        onPhotoProgress(i, 100)
      }
    }
    const ticket = await api.createReport(reportBody(draft), draft.idempotencyKey)
    drafts.clear()
    return { ticket }
  } catch (err) {
    if (err && err.code === 'idempotency_key_reused') {
      drafts.clear()
      return { alreadyFiled: true }
    }
    draft.status = err && err.retryable ? 'waiting_retry' : 'editing'
    draft.lastError = (err && err.message) || '提交失败'
    drafts.save(draft)
    throw err
  }
}

// Sends a draft left waiting by a network failure (the app calls this when it comes back).
function retryPendingDraft() {
  const draft = drafts.load()
  if (draft.status !== 'waiting_retry' || validate(draft)) return Promise.resolve(null)
  return submitDraft({}).catch(() => null)
}

module.exports = { MAX_PHOTOS, validate, reportBody, submitDraft, retryPendingDraft }
