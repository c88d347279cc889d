const { loadPage, flush, tap, text } = require('../support/page')
const { signIn } = require('../support/wx')
const { publicTicket } = require('../support/fixtures')
const coords = require('../../utils/coords')

async function open() {
  const page = loadPage('nearby')
  page.instance.onLoad({})
  await flush()
  return page
}

test('public cases near me, on the map (GCJ-02) and as a list; a tap opens one', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/public', () => [200, { items: [
    publicTicket({ id: 12 }),
    publicTicket({ id: 13, status_label: '已结案', distance_m: 1234, location: { lng: 116.6, lat: 35.42 } }),
  ] }])
  const page = await open()
  const call = wx.__calls.find((c) => c.path === '/api/v1/tickets/public')
  expect(call.query).toEqual({ lng: '116.59', lat: '35.41', crs: 'gcj02', radius_m: '1000' })
  expect(page.data.markers.map((m) => m.id)).toEqual([12, 13])
  const gcj = coords.wgs84ToGcj02(116.6, 35.42)
  expect(page.data.markers[1]).toMatchObject({ latitude: gcj.lat, longitude: gcj.lng })
  expect(text(page)).toContain('距离 18 米')
  expect(text(page)).toContain('距离 1.2 公里')
  expect(text(page)).toContain('已结案')
  await tap(page, '.case', 1)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=13' }))
  page.instance.onMarker({ detail: { markerId: 12 } })
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=12' }))
})

test('without the location the map still works: "搜索这里" asks at the map centre', async () => {
  signIn(wx)
  wx.getLocation.mockImplementation((o) => o.fail({ errMsg: 'getLocation:fail privacy permission is not authorized' }))
  wx.route('GET', '/api/v1/tickets/public', () => [200, { items: [] }])
  const page = await open()
  expect(text(page)).toContain('没有拿到您的位置')
  expect(text(page)).toContain('附近还没有公开的问题')
  await tap(page, '#search-here')
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tickets/public')
  expect(calls[1].query).toMatchObject({ lng: '116.5922', lat: '35.4122' })
})
