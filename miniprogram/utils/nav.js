// Going to a case: WeChat's own map with navigation (wx.openLocation) and the markers of the task
// map. The API's points are WGS-84; WeChat's maps want GCJ-02.
const coords = require('./coords')

function hasPoint(row) {
  return !!row && typeof row.lng === 'number' && typeof row.lat === 'number'
}

// row: a format.ticketRow (or anything with lng/lat in WGS-84, title, address).
function openCase(row) {
  if (!hasPoint(row)) return false
  const g = coords.wgs84ToGcj02(row.lng, row.lat)
  wx.openLocation({
    latitude: g.lat,
    longitude: g.lng,
    scale: 17,
    name: row.title || '案件位置',
    address: row.address || row.number || '',
  })
  return true
}

// A map marker for a row; its id is the ticket id (map marker ids are numbers).
function marker(row, extra) {
  const g = coords.wgs84ToGcj02(row.lng, row.lat)
  return Object.assign({
    id: row.id,
    latitude: g.lat,
    longitude: g.lng,
    width: 28,
    height: 36,
    title: row.title,
    callout: { content: [row.title, row.deadlineText].filter(Boolean).join(' · '), display: 'BYCLICK', padding: 8, borderRadius: 6 },
  }, extra || {})
}

module.exports = { hasPoint, openCase, marker }
