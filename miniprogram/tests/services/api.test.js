const api = require('../../services/api')
const config = require('../../config')
const { signIn, apiError } = require('../support/wx')
const { flush } = require('../support/page')

const TOKENS2 = {
  access_token: 'access-2', refresh_token: 'refresh-2',
  access_expires_at: '2099-01-01T00:00:00Z', refresh_expires_at: '2099-01-01T00:00:00Z',
}

function bearer(call) {
  return call.header.Authorization
}

describe('the error envelope', () => {
  test('becomes an ApiError with code, Chinese message and status', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/tasks/7/claim', () => apiError(409, 'already_claimed', '该任务已被其他网格员认领'))
    const err = await api.claimTask(7, 3).catch((e) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err).toMatchObject({ code: 'already_claimed', message: '该任务已被其他网格员认领', status: 409 })
    expect(err.retryable).toBe(false)
    expect(wx.__calls[0].data).toEqual({ version: 3 })
  })

  test('a dropped connection is a retryable network_error', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/me', () => 'fail')
    const err = await api.getMe().catch((e) => e)
    expect(err).toMatchObject({ code: 'network_error', status: 0, retryable: true })
  })

  test('a timeout and a gateway error without an envelope are retryable too', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/me', () => 'timeout')
    expect(await api.getMe().catch((e) => e)).toMatchObject({ code: 'timeout', retryable: true })
    wx.route('GET', '/api/v1/me', () => [502, '<html>bad gateway</html>'])
    expect(await api.getMe().catch((e) => e)).toMatchObject({ code: 'http_502', message: '服务暂时不可用，请稍后重试', retryable: true })
  })

  test('a field the ENDPOINTS table does not declare is refused before sending', async () => {
    signIn(wx)
    await expect(api.call('claimTask', { params: { ticket_id: 1 }, body: { version: 1, extra: 2 } })).rejects.toThrow(/not declared/)
    expect(wx.request).not.toHaveBeenCalled()
  })
})

describe('tokens', () => {
  test('login stores the pair; requests carry the Bearer token', async () => {
    wx.route('POST', '/api/v1/auth/dev', () => [200, TOKENS2])
    wx.route('GET', '/api/v1/me', () => [200, { id: 1 }])
    await api.loginDev('alice')
    expect(wx.__calls[0].data).toEqual({ openid: 'alice' })
    expect(bearer(wx.__calls[0])).toBeUndefined()
    await api.getMe()
    expect(bearer(wx.__calls[1])).toBe('Bearer access-2')
  })

  test('a 401 refreshes once and retries with the new token', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/me', (req) => (req.header.Authorization === 'Bearer access-2' ? [200, { id: 1 }] : apiError(401, 'invalid_token')))
    wx.route('POST', '/api/v1/auth/refresh', (req) => (req.data.refresh_token === 'refresh-1' ? [200, TOKENS2] : apiError(401, 'invalid_refresh_token')))
    expect(await api.getMe()).toEqual({ id: 1 })
    expect(wx.__calls.map((c) => c.path)).toEqual(['/api/v1/me', '/api/v1/auth/refresh', '/api/v1/me'])
    expect(api.getAuth().refresh_token).toBe('refresh-2')
  })

  test('concurrent 401s share one refresh (a refresh token is single-use)', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/me', (req) => (req.header.Authorization === 'Bearer access-2' ? [200, { id: 1 }] : apiError(401, 'invalid_token')))
    wx.route('POST', '/api/v1/auth/refresh', () => [200, TOKENS2])
    const results = await Promise.all([api.getMe(), api.getMe(), api.getMe()])
    expect(results).toHaveLength(3)
    expect(wx.__calls.filter((c) => c.path === '/api/v1/auth/refresh')).toHaveLength(1)
  })

  test('a refused refresh clears the session and tells the app', async () => {
    signIn(wx)
    const lost = jest.fn()
    api.setAuthLostHandler(lost)
    wx.route('GET', '/api/v1/me', () => apiError(401, 'invalid_token'))
    wx.route('POST', '/api/v1/auth/refresh', () => apiError(401, 'refresh_token_reused'))
    const err = await api.getMe().catch((e) => e)
    expect(err).toMatchObject({ code: 'session_expired', status: 401 })
    expect(api.isLoggedIn()).toBe(false)
    expect(lost).toHaveBeenCalled()
    api.setAuthLostHandler(null)
  })

  test('a second 401 after refreshing is not retried again', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/me', () => apiError(401, 'invalid_token'))
    wx.route('POST', '/api/v1/auth/refresh', () => [200, TOKENS2])
    const err = await api.getMe().catch((e) => e)
    expect(err.code).toBe('invalid_token')
    expect(wx.__calls).toHaveLength(3)
  })

  test('logout revokes the refresh token and forgets the session', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/auth/logout', () => [204, ''])
    await api.logout()
    expect(wx.__calls[0].data).toEqual({ refresh_token: 'refresh-1' })
    expect(api.isLoggedIn()).toBe(false)
  })
})

describe('requests', () => {
  test('at most config.maxConcurrent are in flight; the rest wait their turn', async () => {
    signIn(wx)
    config.maxConcurrent = 2
    let open = 0
    let peak = 0
    const releases = []
    wx.route('GET', '/api/v1/me', () => {
      open += 1
      peak = Math.max(peak, open)
      return new Promise((resolve) => releases.push(() => { open -= 1; resolve([200, {}]) }))
    })
    const all = Promise.all([1, 2, 3, 4, 5].map(() => api.getMe()))
    await flush()
    expect(peak).toBe(2)
    expect(api.inFlight()).toEqual({ active: 2, waiting: 3 })
    while (releases.length) {
      releases.shift()()
      await flush()
    }
    await all
    expect(peak).toBe(2)
    expect(wx.__calls).toHaveLength(5)
  })

  test('query parameters and path parameters are encoded', async () => {
    signIn(wx)
    wx.route('GET', '/api/v1/tickets/nearby', () => [200, { items: [] }])
    await api.nearbyTickets({ lng: 116.5, lat: 35.4, crs: 'gcj02', category: '2004' })
    expect(wx.__calls[0].url).toBe('http://127.0.0.1:8000/api/v1/tickets/nearby?lng=116.5&lat=35.4&crs=gcj02&category=2004')
  })

  test('a report carries its Idempotency-Key header', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/tickets', () => [201, { id: 9 }])
    await api.createReport({ category_code: '2004', description: 'x', location: { lng: 1, lat: 2, crs: 'gcj02' } }, 'mp-key-1')
    expect(wx.__calls[0].header['Idempotency-Key']).toBe('mp-key-1')
  })

  test('every state-changing ticket call is idempotent and never goes out without a key', async () => {
    const actions = ['followTicket', 'withdrawTicket', 'addTicketInfo', 'claimTask', 'releaseTask', 'returnTask',
      'handleTask', 'requestExtension', 'selfDispose', 'verifyTicket', 'createReport', 'patrolReport']
    expect(actions.filter((n) => !api.ENDPOINTS[n].idempotent)).toEqual([])
    signIn(wx)
    wx.route('POST', '/api/v1/tasks/5/claim', () => [200, { id: 5 }])
    await api.claimTask(5, 4)
    await api.claimTask(5, 4, 'mp-mine')
    const keys = wx.__calls.map((c) => c.header['Idempotency-Key'])
    expect(keys[0]).toMatch(/^mp-/)
    expect(keys[1]).toBe('mp-mine')
  })

  test('keyFor keeps one key per intent: the same content again reuses it, new content gets a new one', () => {
    const page = {}
    const first = api.keyFor(page, ['claim', 5, 4])
    expect(api.keyFor(page, ['claim', 5, 4])).toBe(first)
    expect(api.keyFor(page, ['claim', 5, 5])).not.toBe(first)
  })

  test('idempotency keys are printable ASCII, at most 128 characters, and differ', () => {
    const a = api.newIdempotencyKey()
    const b = api.newIdempotencyKey()
    expect(a).toMatch(/^[\x21-\x7e]{1,128}$/)
    expect(a).not.toBe(b)
  })
})

describe('photo uploads', () => {
  test('local: the file goes to our upload_url as field "file" with the Bearer token, with progress', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/media/uploads', (req) => {
      expect(req.data).toEqual({ purpose: 'report' })
      return [201, { media_id: 5, method: 'local', upload_url: 'http://127.0.0.1:8000/api/v1/media/uploads/5/file', key: 'report/x.jpg', token: null, form: {} }]
    })
    wx.route('POST', '/api/v1/media/uploads/5/file', () => [201, { id: 5, status: 'ready' }])
    const progress = []
    const media = await api.uploadPhoto('wxfile://tmp/a.jpg', 'report', (p) => progress.push(p))
    expect(media).toEqual({ id: 5, status: 'ready' })
    const up = wx.__uploads[0]
    expect(up).toMatchObject({ url: 'http://127.0.0.1:8000/api/v1/media/uploads/5/file', name: 'file', filePath: 'wxfile://tmp/a.jpg' })
    expect(up.header.Authorization).toBe('Bearer access-1')
    expect(progress).toEqual(expect.arrayContaining([40, 100]))
  })

  test('qiniu: the file goes straight to Qiniu with the upload token and key, no Bearer token', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/media/uploads', () => [201, {
      media_id: 8, method: 'qiniu', upload_url: 'https://upload.qiniup.com', key: 'report/y.jpg', token: 'qiniu-token', form: { token: 'qiniu-token', key: 'report/y.jpg' },
    }])
    wx.route('POST', '/', () => [200, { media_id: 8, status: 'ready' }])
    const media = await api.uploadPhoto('wxfile://tmp/b.jpg', 'rating')
    expect(media).toEqual({ id: 8, status: 'ready' })
    const up = wx.__uploads[0]
    expect(up.url).toBe('https://upload.qiniup.com')
    expect(up.formData).toEqual({ token: 'qiniu-token', key: 'report/y.jpg' })
    expect(up.header.Authorization).toBeUndefined()
  })

  test('a refused photo becomes an ApiError', async () => {
    signIn(wx)
    wx.route('POST', '/api/v1/media/uploads', () => [201, { media_id: 5, method: 'local', upload_url: 'http://127.0.0.1:8000/api/v1/media/uploads/5/file', key: 'k', form: {} }])
    wx.route('POST', '/api/v1/media/uploads/5/file', () => apiError(415, 'unsupported_media_type', '只支持 JPEG、PNG 和 WebP 图片'))
    const err = await api.uploadPhoto('wxfile://tmp/a.gif', 'report').catch((e) => e)
    expect(err).toMatchObject({ code: 'unsupported_media_type', status: 415 })
  })
})
