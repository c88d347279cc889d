// Sending the saved report draft: photos first (one wx.uploadFile each, progress per photo),
// then the ticket with the draft's idempotency key. A network failure keeps the draft and the
// key, so the next try — by the resident, a timer or the app coming back — files it only once.
//
// Automatic resends are bounded (config.retryDelaysMs.length since the resident last pressed
// 提交), and a photo whose file is gone is not a network failure: the draft goes back to
// editing and says which photo to add again.
const api = require('./api')
const config = require('../config')
const drafts = require('../utils/draft')
const { MAX_PHOTOS } = require('../utils/photos')

// A draft that cannot be sent as it is; retrying will not help (retryable is always false).
class DraftError extends Error {
  constructor(code, message, details) {
    super(message)
    this.name = 'DraftError'
    this.code = code
    this.details = details || {}
  }

  get retryable() {
    return false
  }
}

// How many automatic resends a draft gets before it waits for the resident.
function maxAutoAttempts() {
  return (config.retryDelaysMs || []).length
}

function missingText(indexes) {
  return `${drafts.photoNames(indexes)}找不到了（可能已被手机清理），请删除后重新拍摄或选择`
}

// A plain sentence for what is still missing, or '' when the draft can be sent.
function validate(draft) {
  if (!draft.category) return '请选择问题类型'
  if (!draft.location) return '请确定问题位置'
  if (!draft.description || !draft.description.trim()) return '请简单描述一下问题'
  if (draft.category.requires_photo && !draft.photos.length) return '这类问题需要拍一张现场照片'
  if (draft.photos.length > MAX_PHOTOS) return `最多上传 ${MAX_PHOTOS} 张照片`
  const missing = drafts.missingPhotos(draft)
  if (missing.length) return missingText(missing)
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
// was edited since). Rejects with the ApiError (or DraftError) otherwise; the draft stays saved.
// options.auto: an automatic resend (timer, network back, app shown), counted and bounded.
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

async function doSubmit({ onPhotoProgress, auto }) {
  const draft = drafts.load()
  if (auto && draft.autoAttempts >= maxAutoAttempts()) {
    throw new DraftError('retry_limit', '网络一直不好，草稿已保存，请稍后点“立即重新提交”')
  }
  draft.autoAttempts = auto ? draft.autoAttempts + 1 : 0
  if (!draft.idempotencyKey) draft.idempotencyKey = api.newIdempotencyKey()
  draft.status = 'sending'
  draft.lastError = ''
  drafts.save(draft)
  let current = -1
  try {
    const missing = drafts.missingPhotos(draft)
    if (missing.length) throw new DraftError('photo_missing', missingText(missing), { indexes: missing })
    for (let i = 0; i < draft.photos.length; i += 1) {
      const photo = draft.photos[i]
      if (!photo.mediaId) {
        current = i
        const media = await api.uploadPhoto(photo.path, 'report', (p) => onPhotoProgress && onPhotoProgress(i, p))
        photo.mediaId = media.id
        drafts.save(draft) // an uploaded photo is never uploaded again
      } else if (onPhotoProgress) {
        onPhotoProgress(i, 100)
      }
    }
    current = -1
    const ticket = await api.createReport(reportBody(draft), draft.idempotencyKey)
    drafts.clear()
    return { ticket }
  } catch (caught) {
    let err = caught
    if (err && err.code === 'idempotency_key_reused') {
      drafts.clear()
      return { alreadyFiled: true }
    }
    // WeChat could not read the file: the photo is gone, the network is not to blame.
    if (err && err.code === 'file_missing' && current >= 0) {
      err = new DraftError('photo_missing', missingText([current]), { indexes: [current] })
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
  if (draft.status !== 'waiting_retry' || validate(draft) || draft.autoAttempts >= maxAutoAttempts()) {
    return Promise.resolve(null)
  }
  return submitDraft({ auto: true }).catch(() => null)
}

module.exports = { MAX_PHOTOS, DraftError, maxAutoAttempts, validate, reportBody, submitDraft, retryPendingDraft }
