// The photo lists a page keeps for <photo-picker> (task, patrol, rating): add, remove, upload.
// Each upload goes through services/api.js; a photo remembers its media id once it is up, so a
// retry after a failed submit sends the same ids and uploads nothing twice.
const api = require('../services/api')

const MAX_PHOTOS = 6

// The line under a photo while it goes up.
function progressText(pct) {
  return pct >= 100 ? '已上传' : `上传中 ${pct}%`
}

function addPhotos(page, field, paths) {
  const added = paths.map((path) => ({ path, progress: 0, stateText: '' }))
  page.setData({ [field]: page.data[field].concat(added).slice(0, MAX_PHOTOS) })
}

function removePhoto(page, field, index) {
  const photos = page.data[field].slice()
  photos.splice(index, 1)
  page.setData({ [field]: photos })
}

// Uploads the photos in page.data[field] that are not up yet, showing each one's progress;
// resolves the media ids of the whole list, in order.
async function uploadPhotos(page, field, purpose) {
  const ids = []
  const list = page.data[field]
  for (let i = 0; i < list.length; i += 1) {
    let id = list[i].mediaId
    if (!id) {
      const media = await api.uploadPhoto(list[i].path, purpose, (p) => {
        page.setData({ [`${field}[${i}].progress`]: p, [`${field}[${i}].stateText`]: progressText(p) })
      })
      id = media.id
      page.setData({ [`${field}[${i}].mediaId`]: id })
    }
    ids.push(id)
  }
  return ids
}

module.exports = { MAX_PHOTOS, progressText, addPhotos, removePhoto, uploadPhotos }
