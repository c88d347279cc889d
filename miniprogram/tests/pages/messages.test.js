const { loadPage, flush, tap, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')

async function open() {
  const page = loadPage('messages')
  page.instance.onLoad({})
  await page.instance.onShow()
  await flush()
  return page
}

test('messages list with the unread count; opening one marks it read and goes to the ticket', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/messages', () => [200, { items: [
    { id: 1, kind: 'ticket.dispatched', title: '您的上报已派遣', body: '已派给运河社区网格工作站', ticket_id: 31, read: false, read_at: null, created_at: '2026-11-25T01:00:00Z' },
    { id: 2, kind: 'rating.replied', title: '社区回复了您的评价', body: '已安排重新清理', ticket_id: 31, read: true, read_at: '2026-11-24T02:00:00Z', created_at: '2026-11-24T01:00:00Z' },
  ], next: null }])
  wx.route('GET', '/api/v1/messages/unread-count', () => [200, { unread: 1 }])
  wx.route('POST', '/api/v1/messages/1/read', () => [200, { id: 1, read: true }])
  const page = await open()
  expect(text(page)).toContain('1 条未读')
  expect(page.querySelectorAll('.unread')).toHaveLength(1)
  expect(wx.getStorageSync('gz.unread')).toBe(1)
  await tap(page, '.message', 0)
  expect(wx.__calls.some((c) => c.method === 'POST' && c.path === '/api/v1/messages/1/read')).toBe(true)
  expect(page.data.unreadCount).toBe(0)
  expect(wx.getStorageSync('gz.unread')).toBe(0)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=31' }))
  await tap(page, '.message', 1) // already read: no second read call
  expect(wx.__calls.filter((c) => c.path.endsWith('/read'))).toHaveLength(1)
})

test('while the backend has no messages yet, the page says where progress is', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/messages', () => apiError(404, 'not_found', '找不到'))
  wx.route('GET', '/api/v1/messages/unread-count', () => apiError(404, 'not_found', '找不到'))
  const page = await open()
  expect(text(page)).toContain('办理进展可在“我的上报”查看')
  expect(page.data.unreadCount).toBe(0)
})
