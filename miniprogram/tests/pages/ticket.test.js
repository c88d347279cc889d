const { loadPage, flush, tap, input, fire, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { detail } = require('../support/fixtures')

const photo = (id, stage) => ({ id, purpose: stage, status: 'ready', url: `https://x/${id}.jpg`, thumb_url: `https://x/${id}-t.jpg`, stage, created_at: '2026-11-25T01:00:00Z' })

const CLOSED = detail({
  id: 9, status: 'closed', status_label: '已结案', is_mine: true, deadline_colour: null,
  media: [photo(1, 'report'), photo(2, 'handling')],
  timeline: [
    { action: 'submit', action_label: '上报', actor_label: '居民', from_status: null, to_status: 'submitted', note: '', media: [photo(1, 'report')], created_at: '2026-11-25T01:00:00Z' },
    { action: 'handle', action_label: '处置完成', actor_label: '网格员 刘', from_status: 'claimed', to_status: 'handled', note: '已清理', media: [photo(2, 'handling')], created_at: '2026-11-25T02:00:00Z' },
    { action: 'verify_pass', action_label: '核查通过', actor_label: '网格员 刘', from_status: 'verifying', to_status: 'closed', note: '', media: [], created_at: '2026-11-25T03:00:00Z' },
  ],
})

async function open(id) {
  const page = loadPage('ticket')
  page.instance.onLoad({ id: String(id) })
  await flush()
  return page
}

test('the detail shows the timeline (newest first) and before/after photos', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, { items: [] }])
  const page = await open(9)
  expect(page.data.timeline.map((e) => e.label)).toEqual(['核查通过', '处置完成', '上报'])
  expect(page.data.photoGroups.map((g) => g.title)).toEqual(['上报照片', '处置后照片'])
  expect(text(page)).toContain('已清理')
  expect(text(page)).toContain('网格员 刘')
  await tap(page, '.photo', 1)
  expect(wx.previewImage).toHaveBeenCalledWith(expect.objectContaining({ urls: ['https://x/2.jpg'] }))
})

test('the reporter rates a closed ticket: result, service, stars, comment and a photo', async () => {
  signIn(wx)
  let rated = false
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, { items: rated
    ? [{ id: 4, ticket_id: 9, result: 'unsatisfied', service: 'basically_satisfied', overall: 'unsatisfied', stars: 2, comment: '还有杂物', comment_held: false, is_mine: true, replies: [], outcome: null }]
    : [] }])
  wx.route('POST', '/api/v1/media/uploads', () => [201, { media_id: 55, method: 'local', upload_url: 'http://127.0.0.1:8000/api/v1/media/uploads/55/file', key: 'k', form: {} }])
  wx.route('POST', '/api/v1/media/uploads/55/file', () => [201, { id: 55, status: 'ready' }])
  wx.route('POST', '/api/v1/tickets/9/rating', () => {
    rated = true
    return [201, { id: 4 }]
  })
  const page = await open(9)
  expect(page.data.canRate).toBe(true)
  await tap(page, '#submit-rating')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请选择“问题解决了吗”和“服务态度”' }))
  await tap(page, '.level-result', 2)
  await tap(page, '.level-service', 1)
  await tap(page, '.star', 1)
  await input(page, '#rate-comment', ' 还有杂物 ')
  await fire(page, '#rate-photos', 'add', { paths: ['wxfile://tmp/r.jpg'] })
  await tap(page, '#submit-rating')
  await flush()
  const upload = wx.__calls.find((c) => c.path === '/api/v1/media/uploads')
  expect(upload.data).toEqual({ purpose: 'rating' })
  const call = wx.__calls.find((c) => c.path === '/api/v1/tickets/9/rating' && c.method === 'POST')
  expect(call.data).toEqual({ result: 'unsatisfied', service: 'basically_satisfied', stars: 2, comment: '还有杂物', media_ids: [55] })
  expect(page.data.canRate).toBe(false)
  expect(text(page)).toContain('问题解决：不满意')
})

test('staff replies to my rating are shown', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, { items: [{
    id: 4, ticket_id: 9, result: 'unsatisfied', service: 'satisfied', overall: 'unsatisfied', stars: 2, comment: '还有杂物', comment_held: false, is_mine: true,
    replies: [{ body: '已安排重新清理', author_label: '社区工作人员 王', created_at: '2026-11-25T05:00:00Z' }], outcome: 'rework',
  }] }])
  const page = await open(9)
  expect(page.data.canRate).toBe(false)
  expect(text(page)).toContain('社区工作人员 王 回复')
  expect(text(page)).toContain('已安排重新清理')
})

test('if my ratings cannot be loaded, no second rating form is offered', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => 'fail')
  const page = await open(9)
  expect(page.data.canRate).toBe(false)
  expect(page.data.timeline).toHaveLength(3)
})

test('an open ticket of someone else can be followed ("me too")', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/3', () => [200, detail({ id: 3, is_mine: false })])
  wx.route('POST', '/api/v1/tickets/3/follow', () => [200, {}])
  const page = await open(3)
  await tap(page, '#follow')
  expect(wx.__calls.some((c) => c.path === '/api/v1/tickets/3/follow' && c.method === 'POST')).toBe(true)
})

test('a grid worker claims from the detail; a lost race says so', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/3', () => [200, detail({ id: 3, allowed_actions: ['claim', 'return', 'request_extension'] })])
  wx.route('POST', '/api/v1/tasks/3/claim', () => apiError(409, 'already_claimed', '该任务已被其他网格员认领'))
  const page = await open(3)
  expect(page.data.actions.map((a) => a.label)).toEqual(['认领', '退回', '申请延期'])
  await tap(page, '.work-btn', 0)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已被其他网格员认领' }))
  await tap(page, '.work-btn', 2)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/task/index?id=3&mode=extension' }))
})

test('a ticket I may not see shows the server message', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/404', () => apiError(404, 'ticket_not_found', '找不到该案件'))
  const page = await open(404)
  expect(text(page)).toContain('找不到该案件')
})

test('a rating that failed to send is sent again with its photo, not uploading it twice', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, { items: [] }])
  wx.route('POST', '/api/v1/media/uploads', () => [201, { media_id: 55, method: 'local', upload_url: 'http://127.0.0.1:8000/api/v1/media/uploads/55/file', key: 'k', form: {} }])
  wx.route('POST', '/api/v1/media/uploads/55/file', () => [201, { id: 55, status: 'ready' }])
  let attempts = 0
  wx.route('POST', '/api/v1/tickets/9/rating', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [201, { id: 4 }]
  })
  const page = await open(9)
  await tap(page, '.level-result', 0)
  await tap(page, '.level-service', 0)
  await fire(page, '#rate-photos', 'add', { paths: ['wxfile://tmp/r.jpg'] })
  await tap(page, '#submit-rating')
  await tap(page, '#submit-rating')
  await flush()
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tickets/9/rating' && c.method === 'POST')
  expect(calls.map((c) => c.data.media_ids)).toEqual([[55], [55]])
  expect(wx.__uploads).toHaveLength(1)
})
