const { loadPage, flush, tap, text } = require('../support/page')
const { signIn } = require('../support/wx')
const { ticket } = require('../support/fixtures')

async function open() {
  const page = loadPage('mine')
  page.instance.onLoad({})
  await page.instance.onShow()
  await flush()
  return page
}

test('my reports show status chips and deadline colours, filterable', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/mine', () => [200, { items: [
    ticket({ id: 1, status: 'claimed', status_label: '已认领', deadline_colour: 'yellow', is_mine: true }),
    ticket({ id: 2, status: 'closed', status_label: '已结案', deadline_colour: null, is_mine: true }),
  ], next: null }])
  const page = await open()
  expect(page.querySelectorAll('.ticket')).toHaveLength(2)
  expect(page.data.shown[0]).toMatchObject({ chipClass: 'chip-doing', deadlineClass: 'deadline-yellow', statusLabel: '已认领' })
  expect(page.data.shown[1]).toMatchObject({ chipClass: 'chip-done', deadlineText: '' })
  await tap(page, '.filter', 2)
  expect(page.data.shown.map((r) => r.id)).toEqual([2])
  await tap(page, '.filter', 1)
  expect(page.data.shown.map((r) => r.id)).toEqual([1])
  await tap(page, '.ticket', 0)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=1' }))
})

test('the next page loads at the bottom with the cursor', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/mine', (req) => [200, req.query.cursor === '5'
    ? { items: [ticket({ id: 4 })], next: null }
    : { items: [ticket({ id: 6 }), ticket({ id: 5 })], next: '5' }])
  const page = await open()
  page.instance.onReachBottom()
  await flush()
  expect(page.data.rows.map((r) => r.id)).toEqual([6, 5, 4])
  expect(page.data.next).toBe(null)
})

test('an expired access token is refreshed and the list still loads', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/mine', (req) => (req.header.Authorization === 'Bearer fresh'
    ? [200, { items: [ticket({ id: 3 })] }] : [401, { error: { code: 'invalid_token', message: '登录已过期' } }]))
  wx.route('POST', '/api/v1/auth/refresh', () => [200, { access_token: 'fresh', refresh_token: 'r2' }])
  const page = await open()
  expect(page.data.rows.map((r) => r.id)).toEqual([3])
})

test('an empty list and a failure are each said plainly', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/mine', () => [200, { items: [] }])
  let page = await open()
  expect(text(page)).toContain('还没有上报')
  wx.route('GET', '/api/v1/tickets/mine', () => 'fail')
  page = await open()
  expect(text(page)).toContain('网络连接失败')
})
