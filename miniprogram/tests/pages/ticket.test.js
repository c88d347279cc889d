const { loadPage, flush, tap, input, fire, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { detail, ticket, rating, page, me, photo: fixturePhoto } = require('../support/fixtures')
const coords = require('../../utils/coords')
const config = require('../../config')
const session = require('../../utils/session')

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

// --- changing a rating, navigation, "提醒我" again ------------------------------------------------

test('my rating can be changed while its window is open (PATCH /ratings/{id} with what changed)', async () => {
  signIn(wx)
  let current = rating({ editable_until: new Date(Date.now() + 3600e3).toISOString() })
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, page([current])])
  wx.route('PATCH', '/api/v1/ratings/4', (req) => {
    current = Object.assign({}, current, req.data, { overall: 'satisfied' })
    return [200, current]
  })
  const p = await open(9)
  expect(p.data.canRate).toBe(false)
  expect(text(p)).toContain('修改评价')
  await tap(p, '#edit-rating')
  expect(p.data.form).toEqual({ result: 'unsatisfied', service: 'basically_satisfied', stars: 2, comment: '还有杂物' })
  await tap(p, '.level-result', 0) // 满意
  await tap(p, '.star', 4)
  await input(p, '#rate-comment', '已经清理干净了')
  await tap(p, '#submit-rating')
  await flush()
  const patch = wx.__calls.find((c) => c.method === 'PATCH')
  expect(patch.path).toBe('/api/v1/ratings/4')
  expect(patch.data).toEqual({ result: 'satisfied', stars: 5, comment: '已经清理干净了' })
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '评价已修改' }))
  expect(p.data.editing).toBe(false)
  expect(text(p)).toContain('问题解决：满意')
})

test('past its window a rating cannot be changed; a late save shows the server message', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, page([rating({ editable_until: '2020-01-01T00:00:00Z' })])])
  let p = await open(9)
  expect(p.querySelector('#edit-rating')).toBeFalsy()
  // nor once staff have acted on it
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, page([rating({ outcome: 'rework', editable_until: '2099-01-01T00:00:00Z' })])])
  p = await open(9)
  expect(p.querySelector('#edit-rating')).toBeFalsy()

  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, page([rating({ editable_until: new Date(Date.now() + 1000).toISOString() })])])
  wx.route('PATCH', '/api/v1/ratings/4', () => apiError(409, 'rating_edit_window_closed', '评价提交 24 小时后不能再修改'))
  p = await open(9)
  await tap(p, '#edit-rating')
  await tap(p, '.level-service', 0)
  await tap(p, '#submit-rating')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '评价提交 24 小时后不能再修改' }))
})

test('a grid worker navigates to the case (GCJ-02); a resident is not offered it', async () => {
  signIn(wx)
  session.saveMe(me(['grid_worker']))
  wx.route('GET', '/api/v1/tickets/3', () => [200, detail({ id: 3, location: { lng: 116.58, lat: 35.41 } })])
  let p = await open(3)
  await tap(p, '#navigate')
  const gcj = coords.wgs84ToGcj02(116.58, 35.41)
  expect(wx.openLocation.mock.calls[0][0]).toMatchObject({ latitude: gcj.lat, longitude: gcj.lng, name: '楼道堆放杂物' })
  session.saveMe(me([]))
  p = await open(3)
  expect(p.querySelector('#navigate')).toBeFalsy()
})

describe('提醒我 again after a status change', () => {
  beforeEach(() => {
    signIn(wx)
    config.subscribeTemplateIds = ['tmpl-progress']
    wx.route('POST', '/api/v1/messages/subscriptions', () => [201, { items: [] }])
  })

  test('offered when I see my ticket has moved on, asked only on the tap, then gone', async () => {
    let status = 'dispatched'
    wx.route('GET', '/api/v1/tickets/5', () => [200, detail({ id: 5, is_mine: true, status })])
    let p = await open(5)
    expect(text(p)).not.toContain('有新进展时提醒我') // first look: nothing has changed yet
    status = 'claimed'
    p = await open(5)
    expect(text(p)).toContain('有新进展时提醒我')
    expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
    await tap(p, '#remind')
    expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-progress'] }))
    expect(wx.__calls.find((c) => c.path === '/api/v1/messages/subscriptions').data).toEqual({ template_ids: ['tmpl-progress'], accepted: ['tmpl-progress'] })
    expect(text(p)).not.toContain('有新进展时提醒我')
    p = await open(5) // same status again: not offered again
    expect(text(p)).not.toContain('有新进展时提醒我')
    status = 'verifying'
    p = await open(5) // the next change: offered again, so a second message can come
    expect(text(p)).toContain('有新进展时提醒我')
  })

  test('not offered once closed, for someone else\'s ticket, or without a template', async () => {
    let status = 'claimed'
    wx.route('GET', '/api/v1/tickets/5', () => [200, detail({ id: 5, is_mine: true, status })])
    wx.route('GET', '/api/v1/tickets/6', () => [200, detail({ id: 6, is_mine: false, status })])
    wx.route('GET', '/api/v1/tickets/5/ratings', () => [200, page([])])
    await open(5)
    await open(6)
    status = 'closed'
    expect(text(await open(5))).not.toContain('有新进展时提醒我')
    status = 'handled'
    expect(text(await open(6))).not.toContain('有新进展时提醒我')
    config.subscribeTemplateIds = []
    status = 'verifying'
    expect(text(await open(5))).not.toContain('有新进展时提醒我')
  })

  test('following someone else\'s ticket offers it too', async () => {
    wx.route('GET', '/api/v1/tickets/3', () => [200, detail({ id: 3, is_mine: false })])
    wx.route('POST', '/api/v1/tickets/3/follow', () => [200, ticket({ id: 3, is_mine: true, follower_count: 1 })])
    const p = await open(3)
    await tap(p, '#follow')
    expect(text(p)).toContain('有新进展时提醒我')
  })
})

// --- the reporter's own moves: 撤回 and 补充说明; photos held from others --------------------------

const WAITING = detail({ id: 21, status: 'submitted', status_label: '待受理', is_mine: true, version: 1, allowed_actions: ['withdraw', 'add_info'] })

test('the reporter withdraws a report nobody has accepted, with a reason, once', async () => {
  signIn(wx)
  let current = WAITING
  wx.route('GET', '/api/v1/tickets/21', () => [200, current])
  wx.route('GET', '/api/v1/tickets/21/ratings', () => [200, page([])])
  let attempts = 0
  wx.route('POST', '/api/v1/tickets/21/withdraw', () => {
    attempts += 1
    if (attempts === 1) return 'fail' // the answer is lost
    current = detail({ id: 21, status: 'rejected', status_label: '不予立案', is_mine: true, version: 2, allowed_actions: [] })
    return [200, current]
  })
  const p = await open(21)
  expect(p.data.canWithdraw).toBe(true)
  expect(p.data.canAddInfo).toBe(true)
  await tap(p, '#open-withdraw')
  await input(p, '#withdraw-reason', ' 已自行解决 ')
  await tap(p, '#submit-withdraw')
  await tap(p, '#submit-withdraw')
  await flush()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '撤回上报' }))
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tickets/21/withdraw')
  expect(calls.map((c) => c.data)).toEqual([{ reason: '已自行解决', version: 1 }, { reason: '已自行解决', version: 1 }])
  // the retry carries the same Idempotency-Key: the server withdraws once
  expect(calls[0].header['Idempotency-Key']).toBeTruthy()
  expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
  expect(p.data.canWithdraw).toBe(false)
  expect(p.data.canAddInfo).toBe(false)
  expect(p.data.ticket.statusLabel).toBe('不予立案')
})

test('withdraw and add-info are offered only when the ticket says they are allowed', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/22', () => [200, detail({ id: 22, is_mine: true, allowed_actions: ['add_info'] })])
  wx.route('GET', '/api/v1/tickets/22/ratings', () => [200, page([])])
  const accepted = await open(22)
  expect(accepted.data.canWithdraw).toBe(false)
  expect(text(accepted)).toContain('补充说明')
  expect(text(accepted)).not.toContain('撤回上报')
  wx.route('GET', '/api/v1/tickets/9', () => [200, CLOSED])
  wx.route('GET', '/api/v1/tickets/9/ratings', () => [200, page([])])
  const closed = await open(9)
  expect(closed.data.ticket.statusLabel).toBe('已结案')
  expect(text(closed)).not.toContain('补充说明')
  expect(text(closed)).not.toContain('撤回上报')
})

test('a withdrawal the server refuses (accepted meanwhile) says so and hides the button', async () => {
  signIn(wx)
  let current = WAITING
  wx.route('GET', '/api/v1/tickets/21', () => [200, current])
  wx.route('GET', '/api/v1/tickets/21/ratings', () => [200, page([])])
  wx.route('POST', '/api/v1/tickets/21/withdraw', () => {
    current = detail({ id: 21, status: 'accepted', status_label: '已立案', is_mine: true, version: 2, allowed_actions: ['add_info'] })
    return apiError(409, 'invalid_transition', '当前状态不能撤回')
  })
  const p = await open(21)
  await tap(p, '#open-withdraw')
  await tap(p, '#submit-withdraw')
  await flush()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '当前状态不能撤回' }))
  expect(p.data.canWithdraw).toBe(false)
})

test('the reporter adds a note and a photo to an open report', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/21', () => [200, WAITING])
  wx.route('GET', '/api/v1/tickets/21/ratings', () => [200, page([])])
  wx.route('POST', '/api/v1/media/uploads', () => [201, { media_id: 56, method: 'local', upload_url: 'http://127.0.0.1:8000/api/v1/media/uploads/56/file', key: 'k', form: {} }])
  wx.route('POST', '/api/v1/media/uploads/56/file', () => [201, { id: 56, status: 'ready' }])
  wx.route('POST', '/api/v1/tickets/21/info', () => [200, WAITING])
  const p = await open(21)
  await tap(p, '#open-info')
  await tap(p, '#submit-info')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请填写补充说明或添加照片' }))
  await input(p, '#info-note', '晚上路灯也不亮')
  await fire(p, '#info-photos', 'add', { paths: ['wxfile://tmp/i.jpg'] })
  await tap(p, '#submit-info')
  await flush()
  const upload = wx.__calls.find((c) => c.path === '/api/v1/media/uploads')
  expect(upload.data).toEqual({ purpose: 'report' })
  const call = wx.__calls.find((c) => c.path === '/api/v1/tickets/21/info')
  expect(call.data).toEqual({ note: '晚上路灯也不亮', media_ids: [56], version: 1 })
  expect(call.header['Idempotency-Key']).toBeTruthy()
  expect(p.data.panel).toBe('')
  expect(p.data.infoPhotos).toEqual([])
})

test('my photo held from others is shown to me with the reason, not among the public photos', async () => {
  signIn(wx)
  const held = Object.assign(fixturePhoto(7, 'report'), { check: 'risky', url: null, thumb_url: null, held_reason: '图片未通过内容安全检测，仅您和工作人员可见' })
  const checking = Object.assign(fixturePhoto(8, 'report'), { check: 'checking', held_reason: '图片审核中，通过后他人可见' })
  wx.route('GET', '/api/v1/tickets/23', () => [200, detail({ id: 23, is_mine: true, media: [fixturePhoto(6, 'report'), held, checking] })])
  wx.route('GET', '/api/v1/tickets/23/ratings', () => [200, page([])])
  const p = await open(23)
  expect(p.data.photoGroups[0].urls).toEqual(['https://x/6-t.jpg'])
  expect(p.data.heldPhotos.map((h) => h.reason)).toEqual(['图片未通过内容安全检测，仅您和工作人员可见', '图片审核中，通过后他人可见'])
  expect(text(p)).toContain('图片未通过内容安全检测')
})
