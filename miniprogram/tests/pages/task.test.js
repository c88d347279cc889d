const { loadPage, flush, tap, input, fire, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const { detail } = require('../support/fixtures')

function setUp(wx, status) {
  signIn(wx)
  wx.route('GET', '/api/v1/tickets/8', () => [200, detail({ id: 8, status: status || 'claimed', version: 6 })])
  let next = 70
  wx.route('POST', '/api/v1/media/uploads', () => {
    next += 1
    return [201, { media_id: next, method: 'local', upload_url: `http://127.0.0.1:8000/api/v1/media/uploads/${next}/file`, key: 'k', form: {} }]
  })
  wx.route('POST', /^\/api\/v1\/media\/uploads\/\d+\/file$/, (req) => [201, { id: Number(req.path.split('/')[5]), status: 'ready' }])
}

async function open(mode) {
  const page = loadPage('task')
  await page.instance.onLoad({ id: '8', mode })
  await flush()
  return page
}

test('handle: a note and after-photos are required, uploaded as handling, sent with the version', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/8/handle', () => [200, detail({ id: 8, status: 'verifying' })])
  const page = await open('handle')
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '处置完成' })
  await tap(page, '#submit')
  expect(text(page)).toContain('请写一下怎么处理的')
  await input(page, '#text', '已清理楼道杂物')
  await tap(page, '#submit')
  expect(text(page)).toContain('请拍一张处置后的照片')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/after.jpg'] })
  await tap(page, '#submit')
  await flush()
  expect(wx.__calls.find((c) => c.path === '/api/v1/media/uploads').data).toEqual({ purpose: 'handling' })
  expect(wx.__calls.find((c) => c.path === '/api/v1/tasks/8/handle').data).toEqual({ note: '已清理楼道杂物', media_ids: [71], version: 6 })
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('return needs a reason', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/8/return', () => [200, detail({ id: 8, status: 'returned' })])
  const page = await open('return')
  await tap(page, '#submit')
  expect(text(page)).toContain('请填写原因')
  await input(page, '#text', '属于供水公司管辖')
  await tap(page, '#submit')
  expect(wx.__calls.find((c) => c.path === '/api/v1/tasks/8/return').data).toEqual({ reason: '属于供水公司管辖', version: 6 })
})

test('extension asks for how long, in which unit', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/8/extension', () => [201, { id: 1, status: 'pending' }])
  const page = await open('extension')
  await input(page, '#text', '需要等配件')
  await input(page, '#extra-value', '0')
  await tap(page, '#submit')
  expect(text(page)).toContain('延期时长请填 1 到 1000 的整数')
  await input(page, '#extra-value', '2')
  await fire(page, '#extra-unit', 'change', { value: '2' })
  await tap(page, '#submit')
  expect(wx.__calls.find((c) => c.path === '/api/v1/tasks/8/extension').data).toEqual({ reason: '需要等配件', extra_value: 2, extra_unit: 'natural_days', version: 6 })
})

test('verify: failing needs a reason; photos go up as verification', async () => {
  setUp(wx, 'verifying')
  wx.route('POST', '/api/v1/tickets/8/verify', () => [200, detail({ id: 8, status: 'dispatched' })])
  const page = await open('verify')
  await tap(page, '#pass-no')
  await tap(page, '#submit')
  expect(text(page)).toContain('核查不通过时请写明原因')
  await input(page, '#text', '杂物还在')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/v.jpg'] })
  await tap(page, '#submit')
  await flush()
  expect(wx.__calls.find((c) => c.path === '/api/v1/media/uploads').data).toEqual({ purpose: 'verification' })
  expect(wx.__calls.find((c) => c.path === '/api/v1/tickets/8/verify').data).toEqual({ passed: false, note: '杂物还在', media_ids: [71], version: 6 })
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已退回返工' }))
})

test('a stale version says "refresh" and reloads the ticket', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/8/return', () => apiError(409, 'stale_version', '案件已被他人更新，请刷新后重试'))
  const page = await open('return')
  await input(page, '#text', '不归我们')
  await tap(page, '#submit')
  expect(text(page)).toContain('案件已被他人更新，请刷新后重试')
  expect(wx.__calls.filter((c) => c.path === '/api/v1/tickets/8')).toHaveLength(2)
  expect(wx.navigateBack).not.toHaveBeenCalled()
})

test('a retry after a failed submit sends the photos already uploaded instead of uploading them again', async () => {
  setUp(wx)
  let attempts = 0
  wx.route('POST', '/api/v1/tasks/8/handle', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [200, detail({ id: 8, status: 'verifying' })]
  })
  const page = await open('handle')
  await input(page, '#text', '已清理楼道杂物')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/after.jpg'] })
  await tap(page, '#submit')
  expect(wx.navigateBack).not.toHaveBeenCalled()
  await tap(page, '#submit')
  await flush()
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tasks/8/handle')
  expect(calls.map((c) => c.data.media_ids)).toEqual([[71], [71]])
  expect(wx.__uploads).toHaveLength(1)
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('a handle whose answer was lost is sent again with the same Idempotency-Key', async () => {
  setUp(wx)
  let attempts = 0
  wx.route('POST', '/api/v1/tasks/8/handle', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [200, detail({ id: 8, status: 'verifying' })]
  })
  const page = await open('handle')
  await input(page, '#text', '已清理楼道杂物')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/after.jpg'] })
  await tap(page, '#submit')
  await flush()
  expect(wx.navigateBack).not.toHaveBeenCalled()
  await tap(page, '#submit')
  await flush()
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tasks/8/handle')
  expect(calls).toHaveLength(2)
  expect(calls[0].header['Idempotency-Key']).toMatch(/^mp-/)
  expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('a changed note after a failure is a new intent with a new key', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/8/return', () => 'fail')
  const page = await open('return')
  await input(page, '#text', '属于供水公司管辖')
  await tap(page, '#submit')
  await input(page, '#text', '属于燃气公司管辖')
  await tap(page, '#submit')
  const keys = wx.__calls.filter((c) => c.path === '/api/v1/tasks/8/return').map((c) => c.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[0]).not.toBe(keys[1])
})
