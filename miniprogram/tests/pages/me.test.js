const { loadPage, flush, tap, fire, input, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { me } = require('../support/fixtures')
const session = require('../../utils/session')
const api = require('../../services/api')

test('care mode enlarges the page (and every page opened after)', async () => {
  signIn(wx)
  session.saveMe(me([], { display_name: '张阿姨', home_area: { code: 'c', name: '运河社区' } }))
  wx.route('GET', '/api/v1/me', () => [200, session.getMe()])
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  expect(text(page)).toContain('我的社区：运河社区')
  expect(page.querySelector('.care')).toBeFalsy()
  await fire(page, '#care', 'change', { value: true })
  expect(session.isCareMode()).toBe(true)
  expect(page.data.pageClass).toBe('page care')
  expect(page.dom.innerHTML).toContain('care')

  const other = loadPage('mine')
  wx.route('GET', '/api/v1/tickets/mine', () => [200, { items: [] }])
  other.instance.onLoad({})
  expect(other.data.pageClass).toBe('page care')
})

test('links: my grid, polls, change community, staff login; logout revokes and restarts', async () => {
  signIn(wx)
  session.saveMe(me([]))
  wx.route('GET', '/api/v1/me', () => [200, me([])])
  wx.route('POST', '/api/v1/auth/logout', () => [204, ''])
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  await tap(page, '#grid')
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/grid/index' }))
  await tap(page, '#polls')
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/polls/index' }))
  await tap(page, '#change-area')
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/welcome/index?step=area' }))
  await tap(page, '#staff-login')
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/staff-login/index' }))
  await tap(page, '#logout')
  await flush()
  expect(wx.__calls.some((c) => c.path === '/api/v1/auth/logout')).toBe(true)
  expect(api.isLoggedIn()).toBe(false)
  expect(wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/welcome/index' }))
})

test('staff login leads to the 工作台; a wrong password is said plainly', async () => {
  wx.route('POST', '/api/v1/auth/login', (req) => (req.data.password === 'right-password'
    ? [200, { access_token: 'a', refresh_token: 'r' }]
    : apiError(401, 'invalid_credentials', '用户名或密码错误')))
  wx.route('GET', '/api/v1/me', () => [200, me(['grid_worker'])])
  const page = loadPage('staff-login')
  page.instance.onLoad({})
  await tap(page, '#login')
  expect(text(page)).toContain('请输入账号和密码')
  await input(page, '#username', 'grid_worker')
  await input(page, '#password', 'wrong')
  await tap(page, '#login')
  expect(text(page)).toContain('用户名或密码错误')
  await input(page, '#password', 'right-password')
  await tap(page, '#login')
  expect(session.isWorker()).toBe(true)
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/work/index' }))
  expect(page.data.password).toBe('')
})

describe('关怀模式 and the phone\'s font size', () => {
  async function openMe() {
    signIn(wx)
    session.saveMe(me([]))
    wx.route('GET', '/api/v1/me', () => [200, me([])])
    const page = loadPage('me')
    await page.instance.onShow()
    await flush()
    return page
  }

  test('on the first run it follows a large system font, and can still be switched off', async () => {
    wx.getAppBaseInfo.mockReturnValue({ fontSizeSetting: 20 })
    const page = await openMe()
    expect(page.data.care).toBe(true)
    expect(page.data.pageClass).toBe('page care')
    await fire(page, '#care', 'change', { value: false })
    expect(session.isCareMode()).toBe(false)
    await page.instance.onShow() // the large font is still set: the person's choice stands
    await flush()
    expect(page.data.care).toBe(false)
  })

  test('a standard font leaves it off; older WeChat versions are read through getSystemInfoSync', async () => {
    let page = await openMe()
    expect(page.data.care).toBe(false)
    wx.__storage.clear()
    wx.getAppBaseInfo = undefined
    wx.getSystemInfoSync.mockReturnValue({ fontSizeSetting: 22 })
    page = await openMe()
    expect(page.data.care).toBe(true)
  })
})

test('附近的问题 opens the public map', async () => {
  signIn(wx)
  session.saveMe(me([]))
  wx.route('GET', '/api/v1/me', () => [200, me([])])
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  await tap(page, '#nearby')
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/nearby/index' }))
})
