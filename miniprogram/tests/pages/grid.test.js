const { loadPage, flush, tap, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { me } = require('../support/fixtures')
const session = require('../../utils/session')

const CELL = {
  id: 20, code: '370811001001001', name: '运河社区第01网格', kind: 'grid', path: '/', parent_code: '370811001001', has_geometry: true,
  geometry: { type: 'Polygon', coordinates: [[[116.58, 35.41], [116.59, 35.41], [116.59, 35.42], [116.58, 35.42], [116.58, 35.41]]] },
}
const COMMUNITY = { id: 5, code: '370811001001', name: '运河社区', kind: 'community', path: '/', has_geometry: false, office_address: '运河路 1 号', office_phone: '0537-2345678' }

async function open() {
  const page = loadPage('grid')
  await page.instance.onLoad({})
  await flush()
  return page
}

test('my grid: the cell on the map (GCJ-02), its grid workers and the community office', async () => {
  signIn(wx)
  session.saveMe(me([], { home_area: { code: CELL.code, name: CELL.name, kind: 'grid' } }))
  wx.route('GET', `/api/v1/areas/${CELL.code}`, () => [200, CELL])
  wx.route('GET', `/api/v1/areas/${COMMUNITY.code}`, () => [200, COMMUNITY])
  wx.route('GET', `/api/v1/areas/${CELL.code}/grid-workers`, () => [200, { items: [{ id: 1, display_name: '刘网格', work_phone: '13800000000' }] }])
  const page = await open()
  expect(text(page)).toContain('运河社区 运河社区第01网格')
  expect(text(page)).toContain('运河路 1 号')
  expect(page.data.polygons[0].points).toHaveLength(5)
  // drawn in GCJ-02: shifted from the WGS-84 corners by a few hundred metres
  expect(page.data.polygons[0].points[0].longitude).not.toBeCloseTo(116.58, 3)
  await tap(page, '.call', 0)
  expect(wx.makePhoneCall).toHaveBeenCalledWith(expect.objectContaining({ phoneNumber: '13800000000' }))
  await tap(page, '#office-phone')
  expect(wx.makePhoneCall).toHaveBeenLastCalledWith(expect.objectContaining({ phoneNumber: '0537-2345678' }))
})

test('when the backend cannot list grid workers yet, the page says so and still shows the office', async () => {
  signIn(wx)
  session.saveMe(me([], { home_area: { code: CELL.code, name: CELL.name, kind: 'grid' } }))
  wx.route('GET', `/api/v1/areas/${CELL.code}`, () => [200, CELL])
  wx.route('GET', `/api/v1/areas/${COMMUNITY.code}`, () => [200, COMMUNITY])
  wx.route('GET', `/api/v1/areas/${CELL.code}/grid-workers`, () => apiError(404, 'not_found', '找不到'))
  const page = await open()
  expect(text(page)).toContain('网格员信息暂未开放')
  expect(text(page)).toContain('0537-2345678')
})

test('without a home community the page asks for one', async () => {
  signIn(wx)
  session.saveMe(me([]))
  const page = await open()
  await tap(page, '#change-area')
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/welcome/index?step=area' }))
})
