// The one place that talks to the network (wx.request / wx.uploadFile).
//
// - Every call is declared in ENDPOINTS ({method, path, body fields, query names}); the contract
//   test checks that table against the backend's OpenAPI document, and call() refuses a field
//   the table does not declare, so the table cannot drift from what is really sent.
// - Tokens live in storage; a 401 triggers one refresh (shared by concurrent callers) and one
//   retry. The error envelope {"error": {"code", "message"}} becomes an ApiError.
// - At most config.maxConcurrent requests and uploads run at once (WeChat allows 10).
const config = require('../config')

const PREFIX = '/api/v1'
const AUTH_KEY = 'gz.auth'

// pending: '<why>' marks an endpoint the backend is still building; the contract test reports it
// as todo (not as passed) while the backend lacks it, and checks it for real once it is there.
// None is pending today.
const ENDPOINTS = {
  // accounts
  loginWechat: { method: 'POST', path: '/auth/wechat', auth: false, body: ['code'] },
  loginDev: { method: 'POST', path: '/auth/dev', auth: false, body: ['openid', 'display_name'] },
  loginStaff: { method: 'POST', path: '/auth/login', auth: false, body: ['username', 'password'] },
  refresh: { method: 'POST', path: '/auth/refresh', auth: false, body: ['refresh_token'] },
  logout: { method: 'POST', path: '/auth/logout', body: ['refresh_token'] },
  getMe: { method: 'GET', path: '/me' },
  updateMe: { method: 'PATCH', path: '/me', body: ['display_name', 'home_area_code'] },
  // Staff bind their WeChat (a wx.login code) so task and deadline messages reach them.
  bindWechat: { method: 'POST', path: '/me/wechat', body: ['code'] },
  unbindWechat: { method: 'DELETE', path: '/me/wechat' },
  // 我的数据 (everything held about me, as JSON) and 注销 (delete my resident account).
  myData: { method: 'GET', path: '/me/data' },
  deleteAccount: { method: 'DELETE', path: '/me' },
  // areas
  listAreas: { method: 'GET', path: '/areas', query: ['parent'] },
  locate: { method: 'GET', path: '/areas/locate', query: ['lng', 'lat', 'crs'], queryValues: { crs: ['gcj02'] } },
  getArea: { method: 'GET', path: '/areas/{code}' },
  // 网格信息: {cell, community, grid_workers: [{display_name, work_phone}]}
  listCellWorkers: { method: 'GET', path: '/areas/{code}/grid-workers' },
  // media
  startUpload: { method: 'POST', path: '/media/uploads', body: ['purpose'] },
  // The file goes to the upload_url the server returns; this is that URL's route (local mode).
  uploadLocalFile: { method: 'POST', path: '/media/uploads/{media_id}/file', multipart: ['file'] },
  // catalog
  // resident: friendly groups of what residents may report; staff: the full tree, staff-only
  // 小类 (e.g. 0102 污水井盖) included — what a grid worker's patrol report picks from.
  listCategories: { method: 'GET', path: '/categories', query: ['audience'], queryValues: { audience: ['resident', 'staff'] } },
  // tickets (residents)
  createReport: {
    method: 'POST', path: '/tickets', idempotent: true,
    body: ['category_code', 'description', 'location', 'address', 'media_ids', 'is_public', 'urgency'],
  },
  nearbyTickets: {
    method: 'GET', path: '/tickets/nearby', query: ['lng', 'lat', 'crs', 'category', 'radius_m'],
    queryValues: { crs: ['gcj02'] },
  },
  // Public tickets near a point for the map and list (closed ones too), no identities.
  publicTickets: {
    method: 'GET', path: '/tickets/public', query: ['lng', 'lat', 'crs', 'category', 'radius_m'],
    queryValues: { crs: ['gcj02'] },
  },
  myTickets: { method: 'GET', path: '/tickets/mine', query: ['limit', 'cursor'] },
  getTicket: { method: 'GET', path: '/tickets/{ticket_id}' },
  // Every state-changing ticket call is idempotent: call() sends an Idempotency-Key (the
  // caller's, kept per user intent with keyFor(), or a fresh one), and the server answers a
  // retry with the same key as it answered the first request.
  followTicket: { method: 'POST', path: '/tickets/{ticket_id}/follow', idempotent: true },
  // 撤回: the reporter withdraws a report not yet accepted; 补充信息: adds a note and/or photos.
  withdrawTicket: { method: 'POST', path: '/tickets/{ticket_id}/withdraw', idempotent: true, body: ['reason', 'version'] },
  addTicketInfo: { method: 'POST', path: '/tickets/{ticket_id}/info', idempotent: true, body: ['note', 'media_ids', 'version'] },
  // tasks (grid workers, handlers)
  listTasks: {
    method: 'GET', path: '/tasks', query: ['scope', 'limit', 'cursor'],
    queryValues: { scope: ['pool', 'mine'] },
  },
  listVerifyTasks: {
    method: 'GET', path: '/tasks', query: ['scope', 'limit', 'cursor'],
    queryValues: { scope: ['verify'] },
  },
  claimTask: { method: 'POST', path: '/tasks/{ticket_id}/claim', idempotent: true, body: ['version'] },
  releaseTask: { method: 'POST', path: '/tasks/{ticket_id}/release', idempotent: true, body: ['version'] },
  returnTask: { method: 'POST', path: '/tasks/{ticket_id}/return', idempotent: true, body: ['reason', 'version'] },
  handleTask: { method: 'POST', path: '/tasks/{ticket_id}/handle', idempotent: true, body: ['note', 'media_ids', 'version'] },
  requestExtension: {
    method: 'POST', path: '/tasks/{ticket_id}/extension', idempotent: true,
    body: ['reason', 'extra_value', 'extra_unit', 'version'],
  },
  patrolReport: {
    method: 'POST', path: '/tasks/patrol', idempotent: true,
    body: ['category_code', 'description', 'location', 'address', 'media_ids', 'is_public', 'urgency'],
  },
  selfDispose: {
    method: 'POST', path: '/tasks/self-dispose', idempotent: true,
    body: ['category_code', 'description', 'location', 'address', 'media_ids', 'is_public', 'urgency',
      'note', 'after_media_ids'],
  },
  verifyTicket: { method: 'POST', path: '/tickets/{ticket_id}/verify', idempotent: true, body: ['passed', 'note', 'media_ids', 'version'] },
  // ratings
  rateTicket: {
    method: 'POST', path: '/tickets/{ticket_id}/rating',
    body: ['result', 'service', 'stars', 'comment', 'media_ids'],
  },
  ticketRatings: { method: 'GET', path: '/tickets/{ticket_id}/ratings' },
  // Change my rating while it is editable (editable_until, 24 hours).
  updateRating: { method: 'PATCH', path: '/ratings/{rating_id}', body: ['result', 'service', 'stars', 'comment'] },
  ratingsQueue: { method: 'GET', path: '/ratings/queue', query: ['limit', 'cursor'] },
  replyRating: { method: 'POST', path: '/ratings/{rating_id}/replies', body: ['body'] },
  reworkRating: { method: 'POST', path: '/ratings/{rating_id}/rework', body: ['reason'] },
  declineRating: { method: 'POST', path: '/ratings/{rating_id}/decline', body: ['reason'] },
  // messages
  listMessages: { method: 'GET', path: '/messages', query: ['limit', 'cursor'] },
  unreadCount: { method: 'GET', path: '/messages/unread-count' },
  readMessage: { method: 'POST', path: '/messages/{message_id}/read' },
  saveSubscriptions: { method: 'POST', path: '/messages/subscriptions', body: ['template_ids', 'accepted'] },
  // polls
  listPolls: { method: 'GET', path: '/polls', query: ['limit', 'cursor'] },
  getPoll: { method: 'GET', path: '/polls/{poll_id}' },
  answerPoll: { method: 'POST', path: '/polls/{poll_id}/responses', body: ['answers'] },
  pollResults: { method: 'GET', path: '/polls/{poll_id}/results' },
}

const NETWORK_MESSAGE = '网络连接失败，请检查网络后重试'

class ApiError extends Error {
  constructor(code, message, status, details) {
    super(message || '操作失败，请稍后重试')
    this.name = 'ApiError'
    this.code = code
    this.status = status || 0
    this.details = details || {}
  }

  // A retry may succeed: no answer at all, a server or gateway error, a rate limit, or the same
  // idempotent submit still being processed. A photo file WeChat cannot read (file_missing) is
  // never retried: it will not come back.
  get retryable() {
    if (this.code === 'file_missing' || this.code === 'not_configured') return false
    return this.status === 0 || this.status >= 500 || this.status === 429 ||
      this.code === 'idempotency_in_progress'
  }
}

// --- tokens ---------------------------------------------------------------------------------

function getAuth() {
  const auth = wx.getStorageSync(AUTH_KEY)
  return auth && auth.access_token ? auth : null
}

function saveAuth(pair) {
  wx.setStorageSync(AUTH_KEY, {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    access_expires_at: pair.access_expires_at,
    refresh_expires_at: pair.refresh_expires_at,
  })
}

function clearAuth() {
  wx.removeStorageSync(AUTH_KEY)
}

function isLoggedIn() {
  return getAuth() !== null
}

let onAuthLost = null
// The app sends the user back to the first-run page when the session cannot be renewed.
function setAuthLostHandler(handler) {
  onAuthLost = handler
}

// --- a small queue: at most config.maxConcurrent calls in flight ----------------------------

let active = 0
const waiting = []

function withSlot(task) {
  return new Promise((resolve, reject) => {
    const run = () => {
      active += 1
      let done
      try {
        done = Promise.resolve(task())
      } catch (err) {
        done = Promise.reject(err)
      }
      done.then(resolve, reject).then(() => {
        active -= 1
        const next = waiting.shift()
        if (next) next()
      })
    }
    if (active < (config.maxConcurrent || 4)) run()
    else waiting.push(run)
  })
}

function inFlight() {
  return { active, waiting: waiting.length }
}

// --- the wire ---------------------------------------------------------------------------------

function fillPath(template, params) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    const value = params && params[name]
    if (value === undefined || value === null || value === '') {
      throw new Error(`missing path parameter ${name} for ${template}`)
    }
    return encodeURIComponent(String(value))
  })
}

function queryString(query) {
  const parts = []
  Object.keys(query || {}).forEach((key) => {
    const value = query[key]
    if (value === undefined || value === null || value === '') return
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
  })
  return parts.length ? `?${parts.join('&')}` : ''
}

function checkDeclared(name, kind, given, declared) {
  Object.keys(given || {}).forEach((key) => {
    if (!declared || declared.indexOf(key) < 0) {
      throw new Error(`${name}: ${kind} field "${key}" is not declared in ENDPOINTS`)
    }
  })
}

function parseBody(data) {
  if (typeof data !== 'string') return data
  try {
    return JSON.parse(data)
  } catch (err) {
    return data
  }
}

function toError(status, data) {
  const body = parseBody(data)
  const envelope = body && typeof body === 'object' && body.error
  if (envelope && typeof envelope === 'object') {
    return new ApiError(envelope.code || `http_${status}`, envelope.message, status, envelope.details)
  }
  if (envelope && typeof envelope === 'string') {
    // Qiniu answers {"error": "..."} for a refused upload.
    return new ApiError('upload_refused', '照片上传失败，请重试', status, { reason: envelope })
  }
  if (status >= 500) return new ApiError(`http_${status}`, '服务暂时不可用，请稍后重试', status)
  return new ApiError(`http_${status}`, '操作失败，请稍后重试', status)
}

function failError(res) {
  const msg = (res && res.errMsg) || ''
  if (/timeout/i.test(msg)) return new ApiError('timeout', '网络超时，请稍后重试', 0)
  return new ApiError('network_error', NETWORK_MESSAGE, 0, { errMsg: msg })
}

// wx.uploadFile fails locally when the file is gone (a temporary path after a restart): that is
// not a network error, and sending again cannot help.
const MISSING_FILE = /no such file|file not (found|exist)|file doesn't exist|not a file|ENOENT/i

function uploadFailError(res) {
  const msg = (res && res.errMsg) || ''
  if (MISSING_FILE.test(msg)) return new ApiError('file_missing', '照片文件已失效，请重新添加', 0, { errMsg: msg })
  return failError(res)
}

function send(options) {
  return withSlot(() => new Promise((resolve, reject) => {
    wx.request({
      url: options.url,
      method: options.method,
      data: options.data,
      header: options.header,
      timeout: config.timeoutMs,
      dataType: 'json',
      success: (res) => resolve(res),
      fail: (res) => reject(failError(res)),
    })
  }))
}

let refreshing = null

// One refresh for everyone who got a 401 at the same time: a refresh token is single-use, and a
// second use would revoke the whole session (refresh_token_reused).
function refreshTokens() {
  if (refreshing) return refreshing
  const auth = getAuth()
  if (!auth || !auth.refresh_token) return Promise.reject(new ApiError('session_expired', '登录已过期，请重新登录', 401))
  refreshing = send({
    url: `${config.baseUrl}${PREFIX}${ENDPOINTS.refresh.path}`,
    method: 'POST',
    data: { refresh_token: auth.refresh_token },
    header: { 'Content-Type': 'application/json' },
  }).then((res) => {
    if (res.statusCode === 200 && res.data && res.data.access_token) {
      saveAuth(res.data)
      return res.data
    }
    const err = toError(res.statusCode, res.data)
    if (res.statusCode === 401) {
      clearAuth()
      if (onAuthLost) onAuthLost(err)
      throw new ApiError('session_expired', '登录已过期，请重新登录', 401, { cause: err.code })
    }
    throw err
  }).then((pair) => {
    refreshing = null
    return pair
  }, (err) => {
    refreshing = null
    throw err
  })
  return refreshing
}

// A trial or release build configured with a development server gets no baseUrl (config.js,
// utils/env.js): nothing is sent anywhere.
function checkConfigured() {
  if (!config.baseUrl) {
    throw new ApiError('not_configured', '服务地址未配置，请联系管理员', 0, { reason: config.configError || '' })
  }
}

// Sends one declared call; on a 401 refreshes the tokens once and sends it again.
async function call(name, { params, query, body, headers } = {}) {
  const spec = ENDPOINTS[name]
  if (!spec) throw new Error(`unknown endpoint ${name}`)
  checkConfigured()
  checkDeclared(name, 'query', query, spec.query)
  checkDeclared(name, 'body', body, spec.body)
  const url = `${config.baseUrl}${PREFIX}${fillPath(spec.path, params)}${queryString(query)}`
  const needsAuth = spec.auth !== false
  // An idempotent call never goes out without a key; the 401 retry below reuses it.
  if (spec.idempotent && !(headers && headers['Idempotency-Key'])) {
    headers = Object.assign({}, headers || {}, { 'Idempotency-Key': newIdempotencyKey() })
  }

  const attempt = async (retried) => {
    const auth = needsAuth ? getAuth() : null
    const header = Object.assign({ 'Content-Type': 'application/json' }, headers || {})
    if (auth) header.Authorization = `Bearer ${auth.access_token}`
    const res = await send({ url, method: spec.method, data: body, header })
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return res.statusCode === 204 ? null : parseBody(res.data)
    }
    if (res.statusCode === 401 && needsAuth && !retried) {
      const current = getAuth()
      // Someone else already refreshed while this request was out: just send it again.
      if (!(current && auth && current.access_token !== auth.access_token)) await refreshTokens()
      return attempt(true)
    }
    throw toError(res.statusCode, res.data)
  }
  return attempt(false)
}

// --- uploads ------------------------------------------------------------------------------------

function uploadOnce({ url, filePath, formData, header, onProgress }) {
  return withSlot(() => new Promise((resolve, reject) => {
    const task = wx.uploadFile({
      url,
      filePath,
      name: 'file',
      formData,
      header,
      timeout: config.timeoutMs,
      success: (res) => resolve(res),
      fail: (res) => reject(uploadFailError(res)),
    })
    if (task && onProgress && typeof task.onProgressUpdate === 'function') {
      task.onProgressUpdate((p) => onProgress(p.progress))
    }
  }))
}

// Uploads one photo (wx.uploadFile sends one file per call) and returns the media record
// ({id, status, ...}). Local mode posts to our server with the Bearer token; Qiniu mode posts
// straight to Qiniu with the upload token our API issued.
async function uploadPhoto(filePath, purpose, onProgress) {
  const ticket = await call('startUpload', { body: { purpose } })
  const progress = onProgress || (() => {})
  if (ticket.method === 'qiniu') {
    const formData = Object.assign({}, ticket.form || {}, { token: ticket.token, key: ticket.key })
    const res = await uploadOnce({ url: ticket.upload_url, filePath, formData, header: {}, onProgress: progress })
    if (res.statusCode !== 200) throw toError(res.statusCode, res.data)
    const body = parseBody(res.data) || {}
    progress(100)
    return { id: body.media_id || ticket.media_id, status: body.status || 'ready' }
  }
  const attempt = async (retried) => {
    const auth = getAuth()
    const header = auth ? { Authorization: `Bearer ${auth.access_token}` } : {}
    const res = await uploadOnce({
      url: ticket.upload_url, filePath, formData: ticket.form || {}, header, onProgress: progress,
    })
    if (res.statusCode === 201 || res.statusCode === 200) {
      progress(100)
      return parseBody(res.data)
    }
    if (res.statusCode === 401 && !retried) {
      await refreshTokens()
      return attempt(true)
    }
    throw toError(res.statusCode, res.data)
  }
  return attempt(false)
}

// --- idempotency keys ---------------------------------------------------------------------------

// ≤128 printable ASCII characters, unique enough per device: kept with the draft so that every
// retry of one report sends the same key and the server never files it twice.
function newIdempotencyKey() {
  let random = ''
  for (let i = 0; i < 4; i += 1) {
    random += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  }
  return `mp-${Date.now().toString(36)}-${random}`
}

// One key per user intent: the same holder (a page) sending the same content again — a retry
// after a lost answer or a second tap — gets the same key; changed content is a new intent
// with a new key (the server refuses one key with two bodies).
function keyFor(holder, intent) {
  const text = JSON.stringify(intent)
  if (!holder.__intent || holder.__intent.text !== text) {
    holder.__intent = { text, key: newIdempotencyKey() }
  }
  return holder.__intent.key
}

function keyed(key) {
  return key ? { 'Idempotency-Key': key } : {}
}

// --- the calls ----------------------------------------------------------------------------------

async function loginWith(name, body) {
  const pair = await call(name, { body })
  saveAuth(pair)
  return pair
}

const api = {
  ApiError,
  ENDPOINTS,
  PREFIX,
  call,
  uploadPhoto,
  newIdempotencyKey,
  keyFor,
  isLoggedIn,
  getAuth,
  clearAuth,
  setAuthLostHandler,
  inFlight,

  loginWechat: (code) => loginWith('loginWechat', { code }),
  loginDev: (openid, displayName) => loginWith('loginDev', displayName ? { openid, display_name: displayName } : { openid }),
  loginStaff: (username, password) => loginWith('loginStaff', { username, password }),
  async logout() {
    const auth = getAuth()
    try {
      if (auth) await call('logout', { body: { refresh_token: auth.refresh_token } })
    } finally {
      clearAuth()
    }
  },
  getMe: () => call('getMe'),
  updateMe: (changes) => call('updateMe', { body: changes }),
  bindWechat: (code) => call('bindWechat', { body: { code } }),
  unbindWechat: () => call('unbindWechat'),
  myData: () => call('myData'),
  // Once the account is gone its tokens are useless; on a failure they stay (nothing was deleted).
  async deleteAccount() {
    await call('deleteAccount')
    clearAuth()
  },

  listAreas: (parent) => call('listAreas', { query: parent ? { parent } : {} }),
  locate: ({ lng, lat, crs }) => call('locate', { query: { lng, lat, crs } }),
  getArea: (code) => call('getArea', { params: { code } }),
  listCellWorkers: (code) => call('listCellWorkers', { params: { code } }),

  // 'resident' (the default) or 'staff' (the full tree; refused with 403 staff_only for residents).
  listCategories: (audience) => call('listCategories', { query: { audience: audience || 'resident' } }),

  createReport: (body, idempotencyKey) => call('createReport', { body, headers: { 'Idempotency-Key': idempotencyKey } }),
  nearbyTickets: ({ lng, lat, crs, category, radius_m: radius }) => call('nearbyTickets', {
    query: { lng, lat, crs, category, radius_m: radius },
  }),
  publicTickets: ({ lng, lat, crs, category, radius_m: radius }) => call('publicTickets', {
    query: { lng, lat, crs, category, radius_m: radius },
  }),
  myTickets: (cursor, limit) => call('myTickets', { query: { cursor, limit } }),
  getTicket: (id) => call('getTicket', { params: { ticket_id: id } }),
  followTicket: (id, key) => call('followTicket', { params: { ticket_id: id }, headers: keyed(key) }),
  withdrawTicket: (id, body, key) => call('withdrawTicket', { params: { ticket_id: id }, body, headers: keyed(key) }),
  addTicketInfo: (id, body, key) => call('addTicketInfo', { params: { ticket_id: id }, body, headers: keyed(key) }),

  listTasks: (scope, cursor) => call(scope === 'verify' ? 'listVerifyTasks' : 'listTasks', {
    query: { scope, cursor },
  }),
  claimTask: (id, version, key) => call('claimTask', { params: { ticket_id: id }, body: { version }, headers: keyed(key) }),
  releaseTask: (id, version, key) => call('releaseTask', { params: { ticket_id: id }, body: { version }, headers: keyed(key) }),
  returnTask: (id, reason, version, key) => call('returnTask', { params: { ticket_id: id }, body: { reason, version }, headers: keyed(key) }),
  handleTask: (id, body, key) => call('handleTask', { params: { ticket_id: id }, body, headers: keyed(key) }),
  requestExtension: (id, body, key) => call('requestExtension', { params: { ticket_id: id }, body, headers: keyed(key) }),
  patrolReport: (body, idempotencyKey) => call('patrolReport', { body, headers: { 'Idempotency-Key': idempotencyKey } }),
  selfDispose: (body, key) => call('selfDispose', { body, headers: keyed(key) }),
  verifyTicket: (id, body, key) => call('verifyTicket', { params: { ticket_id: id }, body, headers: keyed(key) }),

  rateTicket: (id, body) => call('rateTicket', { params: { ticket_id: id }, body }),
  ticketRatings: (id) => call('ticketRatings', { params: { ticket_id: id } }),
  updateRating: (id, changes) => call('updateRating', { params: { rating_id: id }, body: changes }),
  ratingsQueue: (cursor) => call('ratingsQueue', { query: { cursor } }),
  replyRating: (id, body) => call('replyRating', { params: { rating_id: id }, body: { body } }),
  reworkRating: (id, reason) => call('reworkRating', { params: { rating_id: id }, body: { reason } }),
  declineRating: (id, reason) => call('declineRating', { params: { rating_id: id }, body: { reason } }),

  listMessages: (cursor) => call('listMessages', { query: { cursor } }),
  unreadCount: () => call('unreadCount'),
  readMessage: (id) => call('readMessage', { params: { message_id: id } }),
  // What one wx.requestSubscribeMessage tap asked for, and which of those the user accepted.
  saveSubscriptions: (asked, accepted) => call('saveSubscriptions', { body: { template_ids: asked, accepted } }),

  listPolls: (cursor) => call('listPolls', { query: { cursor } }),
  getPoll: (id) => call('getPoll', { params: { poll_id: id } }),
  answerPoll: (id, answers) => call('answerPoll', { params: { poll_id: id }, body: { answers } }),
  pollResults: (id) => call('pollResults', { params: { poll_id: id } }),
}

module.exports = api
