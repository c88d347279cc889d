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

test('a staff member binds their WeChat for task messages, and can unbind it', async () => {
  signIn(wx)
  session.saveMe(me(['grid_worker']))
  wx.route('GET', '/api/v1/me', () => [200, session.getMe()])
  wx.route('POST', '/api/v1/me/wechat', (req) => (req.data.code === 'wx-code-1'
    ? [200, me(['grid_worker'], { wechat_bound: true })]
    : apiError(401, 'invalid_wechat_code', '微信登录失败，请重试')))
  wx.route('DELETE', '/api/v1/me/wechat', () => [200, me(['grid_worker'], { wechat_bound: false })])
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  expect(page.querySelector('#delete-account')).toBeFalsy()
  expect(text(page)).toContain('绑定微信后')
  await tap(page, '#bind-wechat')
  await flush()
  expect(wx.login).toHaveBeenCalled()
  expect(wx.__calls.find((c) => c.path === '/api/v1/me/wechat').data).toEqual({ code: 'wx-code-1' })
  expect(page.data.wechatBound).toBe(true)
  expect(text(page)).toContain('已绑定微信')
  expect(page.querySelector('#bind-wechat')).toBeFalsy()

  await tap(page, '#unbind-wechat')
  await flush()
  expect(wx.__calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/me/wechat')).toBe(true)
  expect(page.data.wechatBound).toBe(false)
  expect(session.getMe().wechat_bound).toBe(false)
})

test('a failed binding is said plainly and changes nothing', async () => {
  signIn(wx)
  session.saveMe(me(['grid_worker']))
  wx.route('GET', '/api/v1/me', () => [200, session.getMe()])
  wx.route('POST', '/api/v1/me/wechat', () => apiError(409, 'wechat_already_bound', '该微信已绑定其他工作人员账号'))
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  await tap(page, '#bind-wechat')
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该微信已绑定其他工作人员账号' }))
  expect(page.data.wechatBound).toBe(false)
})

test('我的数据 summarises what is held and copies the whole JSON', async () => {
  signIn(wx)
  session.saveMe(me([]))
  wx.route('GET', '/api/v1/me', () => [200, me([])])
  const data = {
    exported_at: '2026-12-01T00:00:00Z',
    profile: me([]),
    sections: {
      reports: [{ id: 3, description: '井盖松动' }], follows: [], ratings: [{ ticket_id: 3 }],
      poll_ballots: [], messages: [{ title: '已办结' }, { title: '已受理' }],
    },
    retention: { account: '保留至注销', messages: '站内消息保留 180 天' },
  }
  wx.route('GET', '/api/v1/me/data', () => [200, data])
  wx.setClipboardData = jest.fn()
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  await tap(page, '#my-data')
  await flush()
  const modal = wx.showModal.mock.calls[wx.showModal.mock.calls.length - 1][0]
  expect(modal.title).toBe('我的数据')
  expect(modal.content).toContain('上报 1 条')
  expect(modal.content).toContain('站内消息 2 条')
  expect(wx.setClipboardData).toHaveBeenCalled()
  expect(JSON.parse(wx.setClipboardData.mock.calls[0][0].data).sections.reports[0].description).toBe('井盖松动')
})

test('注销 asks first, then deletes the account and starts over', async () => {
  signIn(wx)
  session.saveMe(me([]))
  wx.route('GET', '/api/v1/me', () => [200, me([])])
  wx.route('DELETE', '/api/v1/me', () => [204, ''])
  const page = loadPage('me')
  await page.instance.onShow()
  await flush()
  expect(page.querySelector('#bind-wechat')).toBeFalsy()

  wx.showModal.mockImplementationOnce((opts) => opts.success({ confirm: false, cancel: true }))
  await tap(page, '#delete-account')
  await flush()
  expect(wx.__calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/me')).toBe(false)
  expect(api.isLoggedIn()).toBe(true)

  await tap(page, '#delete-account')
  await flush()
  const modal = wx.showModal.mock.calls[wx.showModal.mock.calls.length - 1][0]
  expect(modal.content).toContain('不可恢复')
  expect(wx.__calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/me')).toBe(true)
  expect(api.isLoggedIn()).toBe(false)
  expect(session.getMe()).toBeFalsy()
  expect(wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/welcome/index' }))
})
