const { flush } = require('./support/page')
const { signIn } = require('./support/wx')
const drafts = require('../utils/draft')

function loadApp() {
  let definition
  global.App = (d) => { definition = d }
  jest.isolateModules(() => require('../app'))
  return definition
}

test('launch asks nothing of the user: no subscribe prompt, no request when logged out', () => {
  const app = loadApp()
  app.onLaunch()
  app.onShow()
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
  expect(wx.request).not.toHaveBeenCalled()
  expect(wx.onNeedPrivacyAuthorization).toHaveBeenCalled()
})

test('a privacy request opens the agreement over the asking page, keeping WeChat\'s resolve', () => {
  const app = loadApp()
  app.onLaunch()
  const resolve = jest.fn()
  wx.onNeedPrivacyAuthorization.mock.calls[0][0](resolve)
  expect(app.globalData.privacyResolve).toBe(resolve)
  // not reLaunch: the page that asked (and the rest of the app) stays, declining included
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/welcome/index?step=privacy' }))
  expect(wx.reLaunch).not.toHaveBeenCalled()
})

test('coming back to the app does not resend a draft whose photo is gone; it says which one', async () => {
  signIn(wx)
  drafts.save(Object.assign(drafts.emptyDraft(), {
    photos: [{ path: 'wxfile://tmp/gone.jpg', mediaId: null }],
    location: { lng: 116.59, lat: 35.41, crs: 'gcj02' },
    category: { code: '2004', label: '楼道堆放杂物', requires_photo: false },
    description: '纸箱', idempotencyKey: 'mp-waiting', status: 'waiting_retry',
  }))
  wx.__restart()
  wx.route('GET', '/api/v1/messages/unread-count', () => [200, { unread: 0 }])
  const app = loadApp()
  app.onLaunch()
  app.onShow()
  await flush()
  expect(wx.uploadFile).not.toHaveBeenCalled()
  expect(wx.__calls.some((c) => c.path === '/api/v1/tickets')).toBe(false)
  expect(require('../services/report').validate(drafts.load())).toContain('第 1 张照片找不到了')
})

test('coming back to the app resends a draft a weak network left waiting, with its key', async () => {
  signIn(wx)
  drafts.save(Object.assign(drafts.emptyDraft(), {
    location: { lng: 116.59, lat: 35.41, crs: 'gcj02' },
    category: { code: '2004', label: '楼道堆放杂物', requires_photo: false },
    description: '纸箱', idempotencyKey: 'mp-waiting', status: 'waiting_retry',
  }))
  wx.route('POST', '/api/v1/tickets', () => [201, { id: 1 }])
  wx.route('GET', '/api/v1/messages/unread-count', () => [200, { unread: 2 }])
  const app = loadApp()
  app.onLaunch()
  app.onShow()
  await flush()
  const call = wx.__calls.find((c) => c.path === '/api/v1/tickets')
  expect(call.header['Idempotency-Key']).toBe('mp-waiting')
  expect(drafts.hasContent(drafts.load())).toBe(false)
  expect(wx.getStorageSync('gz.unread')).toBe(2)
})
