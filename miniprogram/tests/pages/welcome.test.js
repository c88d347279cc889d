const { loadPage, flush, tap, fire, text } = require('../support/page')
const { apiError } = require('../support/wx')
const { me } = require('../support/fixtures')
const api = require('../../services/api')
const config = require('../../config')
const session = require('../../utils/session')

const TOKENS = { access_token: 'a', refresh_token: 'r', access_expires_at: '2099-01-01T00:00:00Z', refresh_expires_at: '2099-01-01T00:00:00Z' }
const RESIDENT = me([], { display_name: '微信用户' })

function areas(wx) {
  const tree = {
    '': [{ code: '370811', name: '任城区', kind: 'district' }],
    370811: [{ code: '370811001', name: '古槐街道', kind: 'street' }],
    370811001: [{ code: '370811001001', name: '运河社区', kind: 'community' }],
    370811001001: [{ code: '370811001001001', name: '运河社区第01网格', kind: 'grid' }],
  }
  wx.route('GET', '/api/v1/areas', (req) => [200, { items: tree[req.query.parent || ''] || [] }])
}

async function open(query) {
  const page = loadPage('welcome')
  page.instance.onLoad(query || {})
  await flush()
  return page
}

test('first run: privacy agreement, then dev login and choosing the community from the tree', async () => {
  wx.getPrivacySetting.mockImplementation((o) => o.success({ needAuthorization: true, privacyContractName: '《共治隐私指引》' }))
  wx.route('POST', '/api/v1/auth/dev', () => [200, TOKENS])
  wx.route('GET', '/api/v1/me', () => [200, RESIDENT])
  wx.route('PATCH', '/api/v1/me', (req) => [200, me([], { home_area: { code: req.data.home_area_code, name: '运河社区', kind: 'community' } })])
  areas(wx)
  const page = await open()
  expect(page.data.step).toBe('privacy')
  expect(text(page)).toContain('《共治隐私指引》')
  expect(wx.request).not.toHaveBeenCalled() // nothing is sent before the agreement

  const resolve = jest.fn()
  getApp().globalData.privacyResolve = resolve
  // the button's open-type="agreePrivacyAuthorization" fires bindagreeprivacyauthorization
  await fire(page, '#agree-privacy', 'agreeprivacyauthorization', {})
  expect(resolve).toHaveBeenCalledWith({ buttonId: 'agree-privacy', event: 'agree' })
  expect(wx.__calls[0]).toMatchObject({ path: '/api/v1/auth/dev' })
  expect(wx.__calls[0].data.openid).toMatch(/^dev/)
  expect(api.isLoggedIn()).toBe(true)
  expect(page.data.step).toBe('area')

  await tap(page, '.area-item', 0) // 任城区
  await tap(page, '.area-item', 0) // 古槐街道
  await tap(page, '.area-item', 0) // 运河社区: chosen, and its cells shown
  expect(page.data.chosen).toMatchObject({ code: '370811001001', kind: 'community' })
  expect(text(page)).toContain('运河社区第01网格')
  await tap(page, '#confirm-area')
  expect(wx.__calls.find((c) => c.method === 'PATCH').data).toEqual({ home_area_code: '370811001001' })
  expect(session.getMe().home_area.code).toBe('370811001001')
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/report/index' }))
})

test('production config logs in with the wx.login code', async () => {
  config.env = 'prod'
  wx.route('POST', '/api/v1/auth/wechat', () => [200, TOKENS])
  wx.route('GET', '/api/v1/me', () => [200, me([], { home_area: { code: 'x', name: '运河社区' } })])
  await open()
  expect(wx.login).toHaveBeenCalled()
  expect(wx.__calls[0]).toMatchObject({ path: '/api/v1/auth/wechat', data: { code: 'wx-code-1' } })
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/report/index' }))
})

test('staff who are already logged in go to the 工作台', async () => {
  wx.setStorageSync('gz.auth', TOKENS)
  wx.route('GET', '/api/v1/me', () => [200, me(['grid_worker'])])
  await open()
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/work/index' }))
})

test('a failed login says why and can be retried', async () => {
  let fails = true
  wx.route('POST', '/api/v1/auth/dev', () => (fails ? apiError(429, 'too_many_requests', '操作太频繁，请稍后再试') : [200, TOKENS]))
  wx.route('GET', '/api/v1/me', () => [200, me([], { home_area: { code: 'x', name: '运河社区' } })])
  const page = await open()
  expect(text(page)).toContain('操作太频繁，请稍后再试')
  fails = false
  await tap(page, '#retry-login')
  expect(wx.switchTab).toHaveBeenCalled()
})

test('the community can be found from the current location (GCJ-02)', async () => {
  wx.setStorageSync('gz.auth', TOKENS)
  wx.route('GET', '/api/v1/areas/locate', () => [200, {
    found: true,
    cell: { id: 20, code: '370811001001002', name: '运河社区第02网格', kind: 'grid', path: '/' },
    ancestors: [{ code: '370811001001', name: '运河社区', kind: 'community' }],
    snapped: false, distance_m: 0, wgs84: { lng: 1, lat: 2 }, message: '',
  }])
  areas(wx)
  const page = await open({ step: 'area' })
  await tap(page, '#use-location')
  const call = wx.__calls.find((c) => c.path === '/api/v1/areas/locate')
  expect(call.query).toEqual({ lng: '116.59', lat: '35.41', crs: 'gcj02' })
  expect(text(page)).toContain('您在运河社区运河社区第02网格')
  expect(page.data.chosen.code).toBe('370811001001002')
})

test('a location outside the service area says so', async () => {
  wx.setStorageSync('gz.auth', TOKENS)
  wx.route('GET', '/api/v1/areas/locate', () => [200, { found: false, cell: null, ancestors: [], wgs84: { lng: 1, lat: 2 }, message: '该位置不在任何网格内' }])
  areas(wx)
  const page = await open({ step: 'area' })
  await tap(page, '#use-location')
  expect(text(page)).toContain('该位置不在任何网格内')
  expect(page.data.chosen).toBe(null)
})

// --- declining the privacy agreement -----------------------------------------------------------

test('"暂不同意" still logs in and leaves the read-only pages usable; later launches do not block', async () => {
  wx.getPrivacySetting.mockImplementation((o) => o.success({ needAuthorization: true, privacyContractName: '《共治隐私指引》' }))
  wx.route('POST', '/api/v1/auth/dev', () => [200, TOKENS])
  wx.route('GET', '/api/v1/me', () => [200, me([], { home_area: { id: 5, code: '370811001001', name: '运河社区', kind: 'community', path: '/' } })])
  let page = await open()
  expect(text(page)).toContain('不同意也可以浏览')
  expect(text(page)).toContain('相册')
  await tap(page, '#disagree')
  expect(session.hasDeclinedPrivacy()).toBe(true)
  expect(api.isLoggedIn()).toBe(true)
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/report/index' }))
  expect(wx.getLocation).not.toHaveBeenCalled()

  wx.switchTab.mockClear()
  page = await open() // the next launch: no agreement wall
  expect(page.data.step).not.toBe('privacy')
  expect(wx.switchTab).toHaveBeenCalled()
})

test('as a prompt (a page asked for location or photos): each answer goes to WeChat and back to that page', async () => {
  const resolve = jest.fn()
  getApp().globalData.privacyResolve = resolve
  let page = await open({ step: 'privacy' })
  expect(page.data.step).toBe('privacy')
  await tap(page, '#disagree')
  expect(resolve).toHaveBeenCalledWith({ event: 'disagree' })
  expect(wx.navigateBack).toHaveBeenCalledTimes(1)
  expect(wx.request).not.toHaveBeenCalled()

  const again = jest.fn()
  getApp().globalData.privacyResolve = again
  page = await open({ step: 'privacy' })
  await fire(page, '#agree-privacy', 'agreeprivacyauthorization', {})
  expect(again).toHaveBeenCalledWith({ buttonId: 'agree-privacy', event: 'agree' })
  expect(session.hasAgreedPrivacy()).toBe(true)
  expect(session.hasDeclinedPrivacy()).toBe(false)
  expect(wx.navigateBack).toHaveBeenCalledTimes(2)
})
