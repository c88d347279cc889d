const { loadPage, flush, tap, input, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { ticket, me, page } = require('../support/fixtures')
const coords = require('../../utils/coords')
const session = require('../../utils/session')

async function openAs(roles) {
  session.saveMe(me(roles))
  const page = loadPage('work')
  page.instance.onLoad({})
  await page.instance.onShow()
  await flush()
  return page
}

function taskCalls(wx, scope) {
  return wx.__calls.filter((c) => c.path === '/api/v1/tasks' && c.query.scope === scope)
}

const SOON = new Date(Date.now() + 2 * 3600e3).toISOString()
const LATER = new Date(Date.now() + 3 * 86400e3).toISOString()
const PAST = new Date(Date.now() - 3600e3).toISOString()

describe('grid worker', () => {
  beforeEach(() => signIn(wx))

  test('the pool is sorted by deadline and coloured', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, { items: [
      ticket({ id: 2, deadline_at: LATER, deadline_colour: 'green' }),
      ticket({ id: 3, deadline_at: PAST, deadline_colour: 'red', is_overdue: true }),
      ticket({ id: 1, deadline_at: SOON, deadline_colour: 'yellow' }),
    ], next: null }])
    const page = await openAs(['grid_worker'])
    expect(page.data.segments.map((s) => s.key)).toEqual(['pool', 'mine', 'verify'])
    expect(page.data.rows.map((r) => r.id)).toEqual([3, 1, 2])
    expect(page.data.rows.map((r) => r.deadlineClass)).toEqual(['deadline-red', 'deadline-yellow', 'deadline-green'])
    expect(text(page)).toContain('已超时 1 小时')
    expect(page.querySelectorAll('.deadline-red')).toHaveLength(1)
  })

  test('claiming sends the version seen and refreshes the pool', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, { items: [ticket({ id: 5, version: 4 })] }])
    wx.route('POST', '/api/v1/tasks/5/claim', () => [200, ticket({ id: 5, status: 'claimed' })])
    const page = await openAs(['grid_worker'])
    await tap(page, '.claim-btn', 0)
    const claim = wx.__calls.find((c) => c.path === '/api/v1/tasks/5/claim')
    expect(claim.data).toEqual({ version: 4 })
    expect(claim.header['Idempotency-Key']).toMatch(/^mp-/) // a retry after a lost answer replays
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '认领成功，请在“我的任务”中处置' }))
    expect(taskCalls(wx, 'pool')).toHaveLength(2)
  })

  test('a lost claim race shows "已被其他网格员认领" and refreshes the pool', async () => {
    let pool = [ticket({ id: 5 }), ticket({ id: 6 })]
    wx.route('GET', '/api/v1/tasks', () => [200, { items: pool }])
    wx.route('POST', '/api/v1/tasks/5/claim', () => {
      pool = [ticket({ id: 6 })] // the other worker got it
      return apiError(409, 'already_claimed', '该任务已被其他网格员认领')
    })
    const page = await openAs(['grid_worker'])
    await tap(page, '.claim-btn', 0)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已被其他网格员认领' }))
    expect(taskCalls(wx, 'pool')).toHaveLength(2)
    expect(page.data.rows.map((r) => r.id)).toEqual([6])
    expect(page.data.busy).toBe(false)
  })

  test('my tasks offer handle, return, extension and release', async () => {
    wx.route('GET', '/api/v1/tasks', (req) => [200, { items: req.query.scope === 'mine' ? [ticket({ id: 8, status: 'claimed', status_label: '已认领', version: 6 })] : [] }])
    wx.route('POST', '/api/v1/tasks/8/release', () => [200, ticket({ id: 8 })])
    const page = await openAs(['grid_worker'])
    await tap(page, '.segment', 1)
    expect(page.data.segment).toBe('mine')
    await tap(page, '.handle-btn', 0)
    expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/task/index?id=8&mode=handle' }))
    await tap(page, '.return-btn', 0)
    expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/task/index?id=8&mode=return' }))
    await tap(page, '.extension-btn', 0)
    expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/task/index?id=8&mode=extension' }))
    await tap(page, '.release-btn', 0)
    await flush()
    expect(wx.__calls.find((c) => c.path === '/api/v1/tasks/8/release').data).toEqual({ version: 6 })
  })

  test('the 核查 list says plainly when the backend does not offer it', async () => {
    wx.route('GET', '/api/v1/tasks', (req) => (req.query.scope === 'verify'
      ? apiError(422, 'invalid_query', '查询参数有误') : [200, { items: [] }]))
    const page = await openAs(['grid_worker'])
    await tap(page, '.segment', 2)
    expect(text(page)).toContain('这项功能暂未开通')
  })

  test('patrol opens the patrol page', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, { items: [] }])
    const page = await openAs(['grid_worker'])
    await tap(page, '#patrol')
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/patrol/index' }))
  })

  test('a network failure leaves an error, not a stale list', async () => {
    wx.route('GET', '/api/v1/tasks', () => 'fail')
    const page = await openAs(['grid_worker'])
    expect(text(page)).toContain('网络连接失败')
  })
})

describe('community staff', () => {
  beforeEach(() => signIn(wx))

  const rating = (o) => Object.assign({
    ticket_number: `RC${o.ticket_id}`, comment_held: false, is_mine: false, editable_until: '2026-11-26T01:00:00Z',
    outcome: null, outcome_note: '', replies: [],
  }, o)
  const QUEUE = [
    rating({ id: 1, ticket_id: 11, result: 'satisfied', service: 'satisfied', overall: 'satisfied', stars: 5, comment: '很快', created_at: '2026-11-25T01:00:00Z' }),
    rating({ id: 2, ticket_id: 12, result: 'unsatisfied', service: 'basically_satisfied', overall: 'unsatisfied', stars: 2, comment: '还是有杂物', replies: [{ body: '已安排', author_label: '社区工作人员 王', created_at: '2026-11-25T02:00:00Z' }], created_at: '2026-11-25T01:30:00Z' }),
    rating({ id: 3, ticket_id: 13, result: 'unsatisfied', service: 'unsatisfied', overall: 'unsatisfied', stars: 1, comment: '没人来', created_at: '2026-11-25T03:00:00Z' }),
    rating({ id: 4, ticket_id: 14, result: 'unsatisfied', service: 'satisfied', overall: 'unsatisfied', stars: 2, comment: '', outcome: 'rework', outcome_note: '重办', replies: [{ body: '已重办', author_label: '社区工作人员 王', created_at: '2026-11-25T02:00:00Z' }], created_at: '2026-11-25T00:30:00Z' }),
  ]

  test('the ratings queue shows unsatisfied and unreplied first', async () => {
    wx.route('GET', '/api/v1/ratings/queue', () => [200, { items: QUEUE, next: null }])
    const page = await openAs(['community_staff'])
    expect(page.data.segments.map((s) => s.key)).toEqual(['ratings'])
    expect(page.data.rows.map((r) => r.id)).toEqual([3, 4, 2, 1])
    expect(text(page)).toContain('待回复')
    expect(text(page)).toContain('社区工作人员 王：已安排')
    expect(text(page)).toContain('已退回重办')
    expect(page.data.rows.find((r) => r.id === 4).canDecide).toBe(false)
    await tap(page, '.ticket-link', 0)
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=13' }))
  })

  test('staff reply to a rating', async () => {
    wx.route('GET', '/api/v1/ratings/queue', () => [200, { items: QUEUE }])
    wx.route('POST', '/api/v1/ratings/3/replies', () => [201, { id: 9 }])
    const page = await openAs(['community_staff'])
    await tap(page, '.rating-head', 0)
    await tap(page, '.reply-btn', 0)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请填写回复内容' }))
    await input(page, '.reply-input', '已联系物业，明天上午清理')
    await tap(page, '.reply-btn', 0)
    expect(wx.__calls.find((c) => c.path === '/api/v1/ratings/3/replies').data).toEqual({ body: '已联系物业，明天上午清理' })
    expect(page.data.openId).toBe(null)
  })

  test('staff send an unsatisfied one back for rework with a reason', async () => {
    wx.route('GET', '/api/v1/ratings/queue', () => [200, { items: QUEUE }])
    wx.route('POST', '/api/v1/ratings/3/rework', () => [200, {}])
    const page = await openAs(['community_staff'])
    await tap(page, '.rating-head', 0)
    await input(page, '.reason-input', '居民反映仍有杂物')
    await tap(page, '.rework-btn', 0)
    expect(wx.__calls.find((c) => c.path === '/api/v1/ratings/3/rework').data).toEqual({ reason: '居民反映仍有杂物' })
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已退回重办' }))
  })

  test('staff record why an unsatisfied one is not sent back (不予重办)', async () => {
    wx.route('GET', '/api/v1/ratings/queue', () => [200, { items: QUEUE }])
    wx.route('POST', '/api/v1/ratings/3/decline', () => [200, {}])
    const page = await openAs(['community_staff'])
    await tap(page, '.rating-head', 0)
    await tap(page, '.decline-btn', 0)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请填写不予重办的原因' }))
    await input(page, '.reason-input', '属于私人住宅内部问题')
    await tap(page, '.decline-btn', 0)
    expect(wx.__calls.find((c) => c.path === '/api/v1/ratings/3/decline').data).toEqual({ reason: '属于私人住宅内部问题' })
  })

  test('a refused rework shows the server message', async () => {
    wx.route('GET', '/api/v1/ratings/queue', () => [200, { items: QUEUE }])
    wx.route('POST', '/api/v1/ratings/3/rework', () => apiError(409, 'invalid_transition', '当前状态（返工重办）不能执行此操作'))
    const page = await openAs(['community_staff'])
    await tap(page, '.rating-head', 0)
    await input(page, '.reason-input', '再办一次')
    await tap(page, '.rework-btn', 0)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '当前状态（返工重办）不能执行此操作' }))
  })
})

test('a resident sees how to log in as staff', async () => {
  signIn(wx)
  const page = await openAs([])
  expect(text(page)).toContain('工作人员登录后可以在这里处理任务')
  expect(wx.request).not.toHaveBeenCalled()
})

describe('grid worker: more tasks, navigation and the map', () => {
  beforeEach(() => signIn(wx))

  test('the task list reads on at the bottom with the cursor, and stops at the end', async () => {
    wx.route('GET', '/api/v1/tasks', (req) => [200, req.query.cursor === '1.20'
      ? page([ticket({ id: 21, deadline_at: LATER })])
      : page(Array.from({ length: 20 }, (_, i) => ticket({ id: i + 1, deadline_at: SOON })), '1.20')])
    const work = await openAs(['grid_worker'])
    expect(work.data.rows).toHaveLength(20)
    expect(text(work)).toContain('上拉加载更多')
    await work.instance.onReachBottom()
    await flush()
    expect(taskCalls(wx, 'pool').map((c) => c.query.cursor)).toEqual([undefined, '1.20'])
    expect(work.data.rows).toHaveLength(21)
    expect(work.data.rows[20].id).toBe(21)
    expect(work.data.next).toBe(null)
    await work.instance.onReachBottom() // the end: nothing more is asked
    await flush()
    expect(taskCalls(wx, 'pool')).toHaveLength(2)
  })

  test('a failed next page keeps the tasks already shown', async () => {
    wx.route('GET', '/api/v1/tasks', (req) => (req.query.cursor ? 'fail' : [200, page([ticket({ id: 1 })], '1.1')]))
    const work = await openAs(['grid_worker'])
    await work.instance.onReachBottom()
    await flush()
    expect(work.data.rows.map((r) => r.id)).toEqual([1])
    expect(text(work)).toContain('网络连接失败')
  })

  test('导航 opens WeChat\'s map at the case, in GCJ-02', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, page([ticket({ id: 8, status: 'claimed', location: { lng: 116.58, lat: 35.41 } })])])
    const work = await openAs(['grid_worker'])
    await tap(work, '.segment', 1)
    await tap(work, '.nav-btn', 0)
    const call = wx.openLocation.mock.calls[0][0]
    const gcj = coords.wgs84ToGcj02(116.58, 35.41)
    expect(call.longitude).toBeCloseTo(gcj.lng, 6)
    expect(call.latitude).toBeCloseTo(gcj.lat, 6)
    expect(call).toMatchObject({ name: '楼道堆放杂物', address: '3 号楼 2 单元' })
  })

  test('地图查看 opens the map of this list', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, page([])])
    const work = await openAs(['grid_worker'])
    await tap(work, '.segment', 1)
    await tap(work, '#task-map')
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/task-map/index?scope=mine' }))
  })
})

describe('the task map', () => {
  beforeEach(() => signIn(wx))

  async function openMap(scope) {
    const map = loadPage('task-map')
    await map.instance.onLoad({ scope })
    await flush()
    return map
  }

  test('my tasks as markers (all pages), a tapped one can be opened or navigated to', async () => {
    wx.route('GET', '/api/v1/tasks', (req) => [200, req.query.cursor === '1.2'
      ? page([ticket({ id: 3, location: { lng: 116.60, lat: 35.42 } })])
      : page([ticket({ id: 1 }), ticket({ id: 2, location: { lng: 116.59, lat: 35.40 } })], '1.2')])
    const map = await openMap('mine')
    expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '我的任务地图' })
    expect(taskCalls(wx, 'mine').map((c) => c.query.cursor)).toEqual([undefined, '1.2'])
    expect(map.data.markers.map((m) => m.id)).toEqual([1, 2, 3])
    const gcj = coords.wgs84ToGcj02(116.60, 35.42)
    expect(map.data.markers[2]).toMatchObject({ latitude: gcj.lat, longitude: gcj.lng })
    expect(map.data.points).toHaveLength(3)
    map.instance.onMarker({ detail: { markerId: 2 } })
    await flush()
    expect(text(map)).toContain('RC20261125001')
    await tap(map, '#open-task')
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=2' }))
    await tap(map, '#navigate')
    expect(wx.openLocation).toHaveBeenCalledTimes(1)
  })

  test('no tasks, or a failure, is said plainly', async () => {
    wx.route('GET', '/api/v1/tasks', () => [200, page([])])
    let map = await openMap('pool')
    expect(text(map)).toContain('暂时没有任务')
    wx.route('GET', '/api/v1/tasks', () => 'fail')
    map = await openMap('mine')
    expect(text(map)).toContain('网络连接失败')
  })
})
