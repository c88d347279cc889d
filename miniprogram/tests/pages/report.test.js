const { loadPage, flush, tap, input, fire, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const config = require('../../config')
const drafts = require('../../utils/draft')
const report = require('../../services/report')
const session = require('../../utils/session')

const CATEGORIES = {
  audience: 'resident',
  items: [
    { code: '20', label: '小区和楼道', kind: 'event', children: [
      { code: '2004', label: '楼道堆放杂物', requires_photo: false },
      { code: '2001', label: '家里或楼道漏水', requires_photo: false },
    ] },
    { code: '01', label: '井盖、路灯等公用设施', kind: 'component', children: [
      { code: '0118', label: '路灯不亮或损坏', requires_photo: true },
    ] },
  ],
}

const TICKET = { id: 31, number: 'RC20261125001', status: 'dispatched', unit: { id: 4, name: '运河社区网格工作站' } }

function setUp(wx, { nearby } = {}) {
  signIn(wx)
  wx.route('GET', '/api/v1/categories', () => [200, CATEGORIES])
  wx.route('GET', '/api/v1/tickets/nearby', () => [200, { items: nearby || [] }])
  let nextMedia = 100
  wx.route('POST', '/api/v1/media/uploads', () => {
    nextMedia += 1
    return [201, { media_id: nextMedia, method: 'local', upload_url: `http://127.0.0.1:8000/api/v1/media/uploads/${nextMedia}/file`, key: 'k', form: {} }]
  })
  wx.route('POST', /^\/api\/v1\/media\/uploads\/\d+\/file$/, (req) => [201, { id: Number(req.path.split('/')[5]), status: 'ready' }])
}

async function openPage() {
  const page = loadPage('report')
  page.instance.onLoad({})
  await flush()
  return page
}

async function fillIn(page) {
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/1.jpg', 'wxfile://tmp/2.jpg'] })
  await tap(page, '#category-toggle')
  await tap(page, '.category', 0)
  await input(page, '#description', '楼道里堆满纸箱，挡住了消防通道')
}

function reportCalls(wx) {
  return wx.__calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/tickets')
}

test('location comes from wx.getLocation as GCJ-02 and categories can be searched', async () => {
  setUp(wx)
  const page = await openPage()
  expect(wx.getLocation).toHaveBeenCalledWith(expect.objectContaining({ type: 'gcj02' }))
  expect(page.data).toMatchObject({ hasLocation: true, latitude: 35.41, longitude: 116.59 })
  await tap(page, '#category-toggle')
  expect(text(page)).toContain('楼道堆放杂物')
  await input(page, '#category-search', '路灯')
  expect(page.data.shownCategories.map((c) => c.code)).toEqual(['0118'])
  await input(page, '#category-search', '不存在的东西')
  expect(text(page)).toContain('没有找到')
})

test('dragging the map moves the point under the pin, still GCJ-02', async () => {
  setUp(wx)
  const page = await openPage()
  page.instance.onRegionChange({ type: 'end', detail: { type: 'end', causedBy: 'drag' } })
  await flush()
  expect(drafts.load().location).toEqual({ lng: 116.5922, lat: 35.4122, crs: 'gcj02' })
  await tap(page, '#choose-location')
  expect(drafts.load()).toMatchObject({ location: { lng: 116.5911, lat: 35.4111, crs: 'gcj02' }, address: '济宁市任城区运河路 12 号 运河路 12 号' })
})

test('a submit uploads each photo with progress, files the report with an idempotency key, and clears the draft', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  await flush()
  expect(wx.__uploads).toHaveLength(2)
  const [call] = reportCalls(wx)
  expect(call.data).toEqual({
    category_code: '2004',
    description: '楼道里堆满纸箱，挡住了消防通道',
    location: { lng: 116.59, lat: 35.41, crs: 'gcj02' },
    address: '',
    media_ids: [101, 102],
    is_public: true,
  })
  expect(call.header['Idempotency-Key']).toMatch(/^mp-/)
  expect(page.data.done).toMatchObject({ id: 31, number: 'RC20261125001' })
  expect(text(page)).toContain('已派给运河社区网格工作站处理')
  expect(drafts.hasContent(drafts.load())).toBe(false)
})

test('after a network failure the draft is kept and the retry sends the same key without re-uploading', async () => {
  setUp(wx)
  let attempts = 0
  wx.route('POST', '/api/v1/tickets', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [201, TICKET]
  })
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  expect(page.data.waitingRetry).toBe(true)
  expect(text(page)).toContain('网络不好，已保存草稿')
  const saved = drafts.load()
  expect(saved.status).toBe('waiting_retry')
  expect(saved.photos.map((p) => p.mediaId)).toEqual([101, 102])
  expect(page.data.photos.map((p) => p.stateText)).toEqual(['已上传', '已上传'])
  expect(wx.onNetworkStatusChange).toHaveBeenCalled()

  await new Promise((r) => setTimeout(r, config.retryDelaysMs[0] + 20)) // the automatic retry
  await flush()
  const calls = reportCalls(wx)
  expect(calls).toHaveLength(2)
  expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
  expect(calls[1].data).toEqual(calls[0].data)
  expect(wx.__uploads).toHaveLength(2) // photos were not sent again
  expect(page.data.done).toMatchObject({ id: 31 })
})

test('a draft left waiting survives closing the app and is resent with its key when the page opens', async () => {
  setUp(wx)
  drafts.save(Object.assign(drafts.emptyDraft(), {
    location: { lng: 116.59, lat: 35.41, crs: 'gcj02' },
    category: { code: '2004', label: '楼道堆放杂物', requires_photo: false },
    description: '纸箱',
    idempotencyKey: 'mp-saved-key',
    status: 'waiting_retry',
  }))
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  const page = await openPage()
  expect(text(page)).toContain('立即重新提交')
  await tap(page, '#submit')
  expect(reportCalls(wx)[0].header['Idempotency-Key']).toBe('mp-saved-key')
  expect(page.data.done).toMatchObject({ id: 31 })
})

test('when the server says the key was already used, the earlier submit got through', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => apiError(422, 'idempotency_key_reused', '同一个 Idempotency-Key 用于了不同的内容'))
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  expect(page.data.done).toMatchObject({ id: null })
  expect(text(page)).toContain('您之前的提交已经成功')
})

test('a refused report (not retryable) shows the server message and keeps the draft for editing', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => apiError(422, 'outside_service_area', '该位置不在本平台服务范围内'))
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  expect(page.data.waitingRetry).toBe(false)
  expect(text(page)).toContain('该位置不在本平台服务范围内')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该位置不在本平台服务范围内' }))
  expect(drafts.load()).toMatchObject({ status: 'editing', description: '楼道里堆满纸箱，挡住了消防通道' })
})

test('missing category, description or a required photo is said plainly and nothing is sent', async () => {
  setUp(wx)
  const page = await openPage()
  await tap(page, '#submit')
  expect(text(page)).toContain('请选择问题类型')
  await tap(page, '#category-toggle')
  await input(page, '#category-search', '路灯')
  await tap(page, '.category', 0)
  await input(page, '#description', '路灯不亮')
  await tap(page, '#submit')
  expect(text(page)).toContain('这类问题需要拍一张现场照片')
  expect(reportCalls(wx)).toHaveLength(0)
})

test('"same problem nearby?" lists open tickets and "me too" follows one instead', async () => {
  setUp(wx, { nearby: [{ id: 12, number: 'RC1', status_label: '已派遣', category: { code: '2004', name: '楼道堆物', label: '楼道堆放杂物' }, location: { lng: 1, lat: 2 }, distance_m: 18.4, follower_count: 2, created_at: '2026-11-25T01:00:00Z' }] })
  wx.route('POST', '/api/v1/tickets/12/follow', () => [200, { id: 12 }])
  const page = await openPage()
  const nearbyCall = wx.__calls.find((c) => c.path === '/api/v1/tickets/nearby')
  expect(nearbyCall.query).toMatchObject({ crs: 'gcj02', lng: '116.59', lat: '35.41' })
  expect(text(page)).toContain('附近已有人反映')
  expect(text(page)).toContain('距离 18 米')
  await tap(page, '.follow-btn', 0)
  expect(wx.__calls.some((c) => c.path === '/api/v1/tickets/12/follow')).toBe(true)
  expect(wx.showModal).toHaveBeenCalled()
  expect(drafts.hasContent(drafts.load())).toBe(false) // "不用了" discards the draft
})

test('subscribe consent is asked only on the tap after a successful report, never on load', async () => {
  setUp(wx)
  config.subscribeTemplateIds = ['tmpl-progress']
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  wx.route('POST', '/api/v1/messages/subscriptions', () => [201, {}])
  const page = await openPage()
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
  await fillIn(page)
  await tap(page, '#submit')
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
  await tap(page, '#subscribe')
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-progress'] }))
  const saved = wx.__calls.find((c) => c.path === '/api/v1/messages/subscriptions')
  expect(saved.data).toEqual({ template_ids: ['tmpl-progress'], accepted: ['tmpl-progress'] })
  expect(page.data.subscribed).toBe(true)
})

test('a failed category load says so instead of an empty list', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/categories', () => 'fail')
  wx.route('GET', '/api/v1/tickets/nearby', () => [200, { items: [] }])
  const page = await openPage()
  expect(text(page)).toContain('问题类型加载失败')
})

// --- draft photos across a restart, and bounded retries ---------------------------------------

function waitingDraft(photoPaths) {
  return drafts.save(Object.assign(drafts.emptyDraft(), {
    photos: photoPaths.map((path) => ({ path, mediaId: null })),
    location: { lng: 116.59, lat: 35.41, crs: 'gcj02' },
    category: { code: '2004', label: '楼道堆放杂物', requires_photo: false },
    description: '纸箱',
    idempotencyKey: 'mp-restart-key',
    status: 'waiting_retry',
  }))
}

test('photos added to the draft are kept in the user data folder and survive a restart', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  let page = await openPage()
  await fillIn(page)
  const kept = drafts.load().photos.map((p) => p.path)
  expect(kept).toHaveLength(2)
  kept.forEach((p) => expect(p.startsWith(`${wx.env.USER_DATA_PATH}/`)).toBe(true))
  expect(wx.getFileSystemManager().saveFile).toHaveBeenCalledWith(expect.objectContaining({ tempFilePath: 'wxfile://tmp/1.jpg' }))

  wx.__restart() // WeChat clears the temporary files; the kept copies stay
  page = await openPage()
  expect(text(page)).not.toContain('已失效')
  await tap(page, '#submit')
  await flush()
  expect(wx.__uploads.map((u) => u.filePath)).toEqual(kept)
  expect(page.data.done).toMatchObject({ id: 31 })
  // a filed draft leaves no files behind
  expect(wx.getFileSystemManager().unlinkSync.mock.calls.map((c) => c[0]).sort()).toEqual(kept.slice().sort())
})

test('a photo lost in a restart is named for the resident; nothing is uploaded or retried', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  // a draft from before photos were kept: its second photo is a temporary path
  waitingDraft([`${wx.env.USER_DATA_PATH}/kept.jpg`, 'wxfile://tmp/old.jpg'])
  wx.__files.saved.add(`${wx.env.USER_DATA_PATH}/kept.jpg`)
  wx.__restart()
  const page = await openPage()
  expect(text(page)).toContain('第 2 张照片找不到了')
  expect(page.data.photos.map((p) => !!p.missing)).toEqual([false, true])
  await new Promise((r) => setTimeout(r, config.retryDelaysMs[0] + 50))
  await tap(page, '#submit')
  expect(wx.__uploads).toHaveLength(0)
  expect(reportCalls(wx)).toHaveLength(0)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: expect.stringContaining('第 2 张照片') }))
  // removing it and adding it again lets the report go
  await fire(page, '#photos', 'remove', { index: 1 })
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/new.jpg'] })
  expect(text(page)).not.toContain('找不到了')
  await tap(page, '#submit')
  await flush()
  expect(wx.__uploads).toHaveLength(2)
  expect(reportCalls(wx)[0].header['Idempotency-Key']).toBe('mp-restart-key')
})

test('an upload WeChat refuses because the file is gone is not a network error: no retry loop', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  wx.uploadFile.mockImplementation((opts) => {
    wx.__uploads.push({ filePath: opts.filePath })
    Promise.resolve().then(() => opts.fail({ errMsg: 'uploadFile:fail file not found' }))
    return { onProgressUpdate: () => {}, abort: () => {} }
  })
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  expect(page.data.waitingRetry).toBe(false)
  expect(text(page)).toContain('第 1 张照片找不到了')
  expect(drafts.load().status).toBe('editing')
  await new Promise((r) => setTimeout(r, config.retryDelaysMs[0] * 2))
  await flush()
  expect(wx.__uploads).toHaveLength(1) // tried once, never again on its own
})

test('automatic resends are bounded; then the draft waits for the resident\'s tap', async () => {
  setUp(wx)
  config.retryDelaysMs = [20, 20]
  wx.route('POST', '/api/v1/tickets', () => 'fail')
  const page = await openPage()
  await fillIn(page)
  await tap(page, '#submit')
  for (let i = 0; i < 6; i += 1) {
    await new Promise((r) => setTimeout(r, 40))
    await flush()
  }
  expect(reportCalls(wx)).toHaveLength(3) // the tap and two automatic resends
  expect(text(page)).toContain('请稍后点“立即重新提交”')
  expect(drafts.load().status).toBe('waiting_retry')
  // coming back to the app does not start another round either
  await report.retryPendingDraft()
  expect(reportCalls(wx)).toHaveLength(3)
  // the resident's tap does
  wx.route('POST', '/api/v1/tickets', () => [201, TICKET])
  await tap(page, '#submit')
  expect(reportCalls(wx)).toHaveLength(4)
  expect(page.data.done).toMatchObject({ id: 31 })
})

test('after "暂不同意" the page asks for nothing on its own and offers the agreement', async () => {
  setUp(wx)
  session.setDeclinedPrivacy()
  const page = await openPage()
  expect(wx.getLocation).not.toHaveBeenCalled()
  expect(text(page)).toContain('同意并继续上报')
  expect(text(page)).toContain('问题类型') // the rest of the page is there
  await fire(page, '#agree-privacy', 'agreeprivacyauthorization', {})
  expect(session.hasAgreedPrivacy()).toBe(true)
  expect(wx.getLocation).toHaveBeenCalledWith(expect.objectContaining({ type: 'gcj02' }))
  expect(page.querySelector('#agree-privacy')).toBeFalsy()
})
