const { loadPage, flush, tap, input, fire } = require('../support/page')
const { signIn } = require('../support/wx')
const { detail, residentCategories, staffCategories } = require('../support/fixtures')

function setUp(wx) {
  signIn(wx)
  wx.route('GET', '/api/v1/categories', (req) => [200, req.query.audience === 'staff' ? staffCategories() : residentCategories()])
  let next = 90
  wx.route('POST', '/api/v1/media/uploads', () => {
    next += 1
    return [201, { media_id: next, method: 'local', upload_url: `http://127.0.0.1:8000/api/v1/media/uploads/${next}/file`, key: 'k', form: {} }]
  })
  wx.route('POST', /^\/api\/v1\/media\/uploads\/\d+\/file$/, (req) => [201, { id: Number(req.path.split('/')[5]), status: 'ready' }])
}

async function open() {
  const page = loadPage('patrol')
  page.instance.onLoad({})
  await flush()
  await input(page, '#category-search', '2004')
  await fire(page, '#category', 'change', { value: '0' })
  await input(page, '#description', '楼道堆放纸箱')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/p.jpg'] })
  return page
}

test('a patrol report is sent with an idempotency key and the same key on a retry', async () => {
  setUp(wx)
  let attempts = 0
  wx.route('POST', '/api/v1/tasks/patrol', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [201, detail({ id: 44 })]
  })
  const page = await open()
  await tap(page, '#submit')
  expect(page.data.errorText).toContain('不会重复上报')
  await tap(page, '#submit')
  await flush()
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tasks/patrol')
  expect(calls).toHaveLength(2)
  expect(calls[0].header['Idempotency-Key']).toBe(calls[1].header['Idempotency-Key'])
  expect(calls[1].data).toMatchObject({ category_code: '2004', description: '楼道堆放纸箱', media_ids: [91], location: { crs: 'gcj02' } })
  expect(wx.__uploads).toHaveLength(1) // the photo was not uploaded twice
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=44' }))
})

test('self-dispose sends what was done and the after-photos in one request', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/self-dispose', () => [201, detail({ id: 45, status: 'closed' })])
  const page = await open()
  await fire(page, '#handled-now', 'change', { value: true })
  await tap(page, '#submit')
  expect(page.data.errorText).toBe('请写一下当场是怎么处置的')
  await input(page, '#note', '已当场清理')
  await fire(page, '#after-photos', 'add', { paths: ['wxfile://tmp/after.jpg'] })
  await tap(page, '#submit')
  await flush()
  const call = wx.__calls.find((c) => c.path === '/api/v1/tasks/self-dispose')
  expect(call.data).toMatchObject({ category_code: '2004', note: '已当场清理', media_ids: [91], after_media_ids: [92] })
  const purposes = wx.__calls.filter((c) => c.path === '/api/v1/media/uploads').map((c) => c.data.purpose)
  expect(purposes).toEqual(['report', 'handling'])
})

test('a self-disposal retried after a lost answer sends the same key: one closed ticket', async () => {
  setUp(wx)
  let attempts = 0
  wx.route('POST', '/api/v1/tasks/self-dispose', () => {
    attempts += 1
    return attempts === 1 ? 'fail' : [201, detail({ id: 47, status: 'closed' })]
  })
  const page = await open()
  await fire(page, '#handled-now', 'change', { value: true })
  await input(page, '#note', '已当场清理')
  await tap(page, '#submit')
  expect(page.data.errorText).toContain('不会重复上报')
  await tap(page, '#submit')
  await flush()
  const calls = wx.__calls.filter((c) => c.path === '/api/v1/tasks/self-dispose')
  expect(calls).toHaveLength(2)
  expect(calls[0].header['Idempotency-Key']).toMatch(/^mp-/)
  expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/ticket/index?id=47' }))
})

test('a collector picks from the staff tree: staff-only 小类 such as 0102 污水井盖, and its photo rule', async () => {
  setUp(wx)
  wx.route('POST', '/api/v1/tasks/patrol', () => [201, detail({ id: 46 })])
  const page = loadPage('patrol')
  page.instance.onLoad({})
  await flush()
  expect(wx.__calls.find((c) => c.path === '/api/v1/categories').query).toEqual({ audience: 'staff' })
  // active 小类 of the full tree, under their standard names; the retired one is left out
  expect(page.data.categories.map((c) => c.code)).toEqual(['0101', '0102', '2004'])
  await input(page, '#category-search', '井盖')
  expect(page.data.categories.map((c) => c.label)).toEqual(['0101 上水井盖（公用设施）', '0102 污水井盖（公用设施）'])
  await fire(page, '#category', 'change', { value: '1' })
  await input(page, '#description', '污水井盖缺失')
  await tap(page, '#submit')
  expect(page.data.errorText).toBe('这类问题需要拍一张现场照片')
  await fire(page, '#photos', 'add', { paths: ['wxfile://tmp/well.jpg'] })
  await input(page, '#category-search', '') // clearing the search keeps the choice
  expect(page.data.categories[page.data.categoryIndex].code).toBe('0102')
  await tap(page, '#submit')
  await flush()
  expect(wx.__calls.find((c) => c.path === '/api/v1/tasks/patrol').data).toMatchObject({ category_code: '0102', media_ids: [91] })
})
