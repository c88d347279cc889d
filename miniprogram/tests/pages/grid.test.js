const { loadPage, flush, tap, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { me, area, community, gridInfo, CELL_REF } = require('../support/fixtures')
const session = require('../../utils/session')

// Mocks come from the shared fixtures, which the contract test checks against the API schema.
const CELL = area()
const COMMUNITY = community()

async function open() {
  const page = loadPage('grid')
  await page.instance.onLoad({})
  await flush()
  return page
}

function homeInCell() {
  signIn(wx)
  session.saveMe(me([], { home_area: Object.assign({}, CELL_REF) }))
}

test('my grid: the cell on the map (GCJ-02), its grid workers and the community office', async () => {
  homeInCell()
  wx.route('GET', `/api/v1/areas/${CELL.code}`, () => [200, CELL])
  wx.route('GET', `/api/v1/areas/${CELL.code}/grid-workers`, () => [200, gridInfo({
    grid_workers: [{ display_name: '刘网格', work_phone: '13800000000' }, { display_name: '王网格', work_phone: '' }],
  })])
  const page = await open()
  expect(text(page)).toContain('运河社区 运河社区第01网格')
  expect(text(page)).toContain('运河路 1 号')
  expect(page.data.workers.map((w) => w.name)).toEqual(['刘网格', '王网格'])
  expect(text(page)).not.toContain('暂未公布网格员')
  expect(page.querySelectorAll('.worker')).toHaveLength(2)
  expect(page.data.polygons[0].points).toHaveLength(5)
  // drawn in GCJ-02: shifted from the WGS-84 corners by a few hundred metres
  expect(page.data.polygons[0].points[0].longitude).not.toBeCloseTo(116.58, 3)
  // the office comes with the grid information: no second area request
  expect(wx.__calls.filter((c) => c.path === `/api/v1/areas/${COMMUNITY.code}`)).toHaveLength(0)
  await tap(page, '.call', 0)
  expect(wx.makePhoneCall).toHaveBeenCalledWith(expect.objectContaining({ phoneNumber: '13800000000' }))
  await tap(page, '#office-phone')
  expect(wx.makePhoneCall).toHaveBeenLastCalledWith(expect.objectContaining({ phoneNumber: '0537-2345678' }))
})

test('a cell with no published grid worker says so', async () => {
  homeInCell()
  wx.route('GET', `/api/v1/areas/${CELL.code}`, () => [200, CELL])
  wx.route('GET', `/api/v1/areas/${CELL.code}/grid-workers`, () => [200, gridInfo({ grid_workers: [] })])
  const page = await open()
  expect(text(page)).toContain('这个网格暂未公布网格员')
  expect(text(page)).toContain('0537-2345678')
})

test('when the backend cannot list grid workers, the page says so and still shows the office', async () => {
  homeInCell()
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
