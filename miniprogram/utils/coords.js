// GCJ-02 (WeChat maps, chooseLocation) <-> WGS-84 (GPS, the API's stored and GeoJSON
// coordinates). The standard published transform; the inverse is iterated to < 1e-7 degrees.
const A = 6378245.0
const EE = 0.006693421622965943

function outOfChina(lng, lat) {
  return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271
}

function transformLat(x, y) {
  let ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0
  ret += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0
  ret += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0
  return ret
}

function transformLng(x, y) {
  let ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0
  ret += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0
  ret += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0
  return ret
}

function wgs84ToGcj02(lng, lat) {
  if (outOfChina(lng, lat)) return { lng, lat }
  let dLat = transformLat(lng - 105.0, lat - 35.0)
  let dLng = transformLng(lng - 105.0, lat - 35.0)
  const radLat = (lat / 180.0) * Math.PI
  let magic = Math.sin(radLat)
  magic = 1 - EE * magic * magic
  const sqrtMagic = Math.sqrt(magic)
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI)
  dLng = (dLng * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI)
  return { lng: lng + dLng, lat: lat + dLat }
}

function gcj02ToWgs84(lng, lat) {
  if (outOfChina(lng, lat)) return { lng, lat }
  let wLng = lng
  let wLat = lat
  for (let i = 0; i < 10; i += 1) {
    const g = wgs84ToGcj02(wLng, wLat)
    const dLng = g.lng - lng
    const dLat = g.lat - lat
    wLng -= dLng
    wLat -= dLat
    if (Math.abs(dLng) < 1e-7 && Math.abs(dLat) < 1e-7) break
  }
  return { lng: wLng, lat: wLat }
}

// The outer rings of a GeoJSON Polygon / MultiPolygon.
function outerRings(geometry) {
  if (!geometry) return []
  if (geometry.type === 'Polygon') return [geometry.coordinates[0]]
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.map((poly) => poly[0])
  return []
}

// A point inside a convex-ish cell: the mean of the first ring's distinct vertices (WGS-84).
function ringCentre(ring) {
  const pts = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1]
    ? ring.slice(0, -1) : ring
  const sum = pts.reduce((acc, p) => [acc[0] + p[0], acc[1] + p[1]], [0, 0])
  return { lng: sum[0] / pts.length, lat: sum[1] / pts.length }
}

// GeoJSON (WGS-84) → the map component's polygons (GCJ-02) and a centre to show.
function geometryToMap(geometry) {
  const rings = outerRings(geometry)
  const polygons = rings.map((ring) => ({
    points: ring.map((p) => {
      const g = wgs84ToGcj02(p[0], p[1])
      return { longitude: g.lng, latitude: g.lat }
    }),
    strokeWidth: 2,
    strokeColor: '#1A73E8',
    fillColor: '#1A73E833',
  }))
  const centre = rings.length ? ringCentre(rings[0]) : null
  return { polygons, centre: centre ? wgs84ToGcj02(centre.lng, centre.lat) : null }
}

module.exports = { wgs84ToGcj02, gcj02ToWgs84, outerRings, ringCentre, geometryToMap }
