const { loadPage, flush, tap, input, fire } = require('../support/page')
const { signIn } = require('../support/wx')
const { detail } = require('../support/fixtures')

function setUp(wx) {
  signIn(wx)
  wx.route('GET', '/api/v1/categories', () => [200, { audience: 'resident', items: [
    { code: '20', label: '小区和楼道', kind: 'event', children: [{ code: '2004', label: '楼道堆放杂物', requires_photo: false }] },
  ] }])
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
