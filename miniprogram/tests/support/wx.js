// A stubbed `wx` for one test: in-memory storage, a fake API server with routes, an in-memory
// file system, and jest.fn() for every UI and device call the pages make. Each test builds a fresh
// one. Mocked response bodies reach the page through ./record.js, which logs the fields read.
const record = require('./record')

const USER_DATA_PATH = 'wxfile://usr'

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

function splitUrl(url) {
  const match = /^https?:\/\/[^/?]+(\/[^?]*)?(\?.*)?$/.exec(url)
  const path = match ? (match[1] || '/') : url
  const query = {}
  const qs = match && match[2] ? match[2].slice(1) : ''
  qs.split('&').filter(Boolean).forEach((pair) => {
    const [k, v] = pair.split('=')
    query[decodeURIComponent(k)] = decodeURIComponent(v || '')
  })
  return { path, query }
}

function createWx() {
  const storage = new Map()
  const routes = []
  const calls = []
  const uploads = []

  // route('POST', '/api/v1/tasks/7/claim', (req) => [409, {error: {...}}]) — the handler may
  // also return 'fail' (no answer: the network dropped) or a Promise of either.
  function route(method, path, handler) {
    routes.unshift({ method, path, handler })
  }

  function answer(method, url, req, success, fail) {
    const { path, query } = splitUrl(url)
    const entry = Object.assign({ method, url, path, query }, req)
    const found = routes.find((r) => r.method === method && (r.path instanceof RegExp ? r.path.test(path) : r.path === path))
    return Promise.resolve().then(() => {
      if (!found) return [404, { error: { code: 'not_found', message: '找不到 (stub)' } }, 'unrouted']
      return found.handler(entry)
    }).then((result) => {
      if (result === 'fail') {
        fail({ errMsg: 'request:fail net::ERR_CONNECTION_RESET' })
        return
      }
      if (result === 'timeout') {
        fail({ errMsg: 'request:fail timeout' })
        return
      }
      const [statusCode, data, unrouted] = result
      const body = unrouted ? clone(data) : record.response({ method, path, status: statusCode }, clone(data))
      success({ statusCode, data: body, header: {} })
    })
  }

  const ok = (value) => jest.fn((opts = {}) => {
    const res = Object.assign({ errMsg: 'ok' }, typeof value === 'function' ? value(opts) : value)
    if (opts.success) opts.success(res)
    if (opts.complete) opts.complete(res)
    return Promise.resolve(res)
  })

  // Files: chooseMedia's temporary paths exist until the app "restarts" (WeChat may clear them);
  // files saved under USER_DATA_PATH survive.
  const files = { saved: new Set(), gone: new Set() }
  const exists = (p) => !files.gone.has(p) && (files.saved.has(p) || /^wxfile:\/\/tmp\//.test(p))
  const notFound = (p) => ({ errMsg: `no such file or directory ${p}` })
  let savedCount = 0
  const fsCall = (fn) => jest.fn((opts = {}) => {
    let res
    try {
      res = Object.assign({ errMsg: 'ok' }, fn(opts))
    } catch (err) {
      if (opts.fail) opts.fail(err)
      if (opts.complete) opts.complete(err)
      return
    }
    if (opts.success) opts.success(res)
    if (opts.complete) opts.complete(res)
  })
  const fileSystem = {
    saveFile: fsCall(({ tempFilePath, filePath }) => {
      if (!exists(tempFilePath)) throw notFound(tempFilePath)
      savedCount += 1
      const target = filePath || `${USER_DATA_PATH}/saved-${savedCount}`
      files.saved.add(target)
      files.gone.delete(target)
      files.gone.add(tempFilePath) // saveFile moves the temporary file
      return { savedFilePath: target }
    }),
    copyFile: fsCall(({ srcPath, destPath }) => {
      if (!exists(srcPath)) throw notFound(srcPath)
      files.saved.add(destPath)
      files.gone.delete(destPath)
      return {}
    }),
    access: fsCall(({ path }) => {
      if (!exists(path)) throw notFound(path)
      return {}
    }),
    accessSync: jest.fn((p) => {
      if (!exists(p)) throw new Error(`accessSync:fail no such file or directory ${p}`)
    }),
    unlink: fsCall(({ filePath }) => {
      files.saved.delete(filePath)
      files.gone.add(filePath)
      return {}
    }),
    unlinkSync: jest.fn((p) => {
      files.saved.delete(p)
      files.gone.add(p)
    }),
  }

  const origins = new Map() // storage key → the response it came from (see record.js)

  const wx = {
    __storage: storage,
    __calls: calls,
    __uploads: uploads,
    __files: files,
    // The app restarts: the temporary files it knew of (those named in storage) are gone; files
    // saved under USER_DATA_PATH stay, and new temporary ones can be made.
    __restart() {
      storage.forEach((value) => {
        (JSON.stringify(value).match(/wxfile:\/\/tmp\/[^"]+/g) || []).forEach((p) => files.gone.add(p))
      })
    },
    route,
    env: { USER_DATA_PATH },
    getFileSystemManager: jest.fn(() => fileSystem),
    getStorageSync: jest.fn((key) => (storage.has(key) ? record.rewrap(clone(storage.get(key)), origins.get(key)) : '')),
    setStorageSync: jest.fn((key, value) => {
      storage.set(key, clone(value))
      const origin = record.originOf(value)
      if (origin) origins.set(key, origin)
      else origins.delete(key)
    }),
    removeStorageSync: jest.fn((key) => {
      storage.delete(key)
      origins.delete(key)
    }),
    clearStorageSync: jest.fn(() => {
      storage.clear()
      origins.clear()
    }),

    request: jest.fn((opts) => {
      const req = { data: clone(opts.data), header: Object.assign({}, opts.header) }
      calls.push(Object.assign({ method: opts.method, url: opts.url }, splitUrl(opts.url), req))
      answer(opts.method, opts.url, req, opts.success, opts.fail)
      return { abort: jest.fn() }
    }),
    uploadFile: jest.fn((opts) => {
      const listeners = []
      const req = { filePath: opts.filePath, name: opts.name, formData: clone(opts.formData), header: Object.assign({}, opts.header) }
      uploads.push(Object.assign({ url: opts.url }, splitUrl(opts.url), req))
      Promise.resolve().then(() => {
        listeners.forEach((fn) => fn({ progress: 40, totalBytesSent: 400, totalBytesExpectedToSend: 1000 }))
        return answer('POST', opts.url, req, (res) => {
          listeners.forEach((fn) => fn({ progress: 100, totalBytesSent: 1000, totalBytesExpectedToSend: 1000 }))
          // wx.uploadFile hands the body back as a string
          opts.success(Object.assign({}, res, { data: JSON.stringify(res.data) }))
        }, opts.fail)
      })
      return { onProgressUpdate: (fn) => listeners.push(fn), abort: jest.fn() }
    }),

    login: ok({ code: 'wx-code-1' }),
    getLocation: ok({ longitude: 116.5900, latitude: 35.4100, accuracy: 20 }),
    chooseLocation: ok({ longitude: 116.5911, latitude: 35.4111, name: '运河路 12 号', address: '济宁市任城区运河路 12 号' }),
    chooseMedia: ok((opts) => ({
      type: 'image',
      tempFiles: Array.from({ length: Math.min(opts.count || 1, 2) }, (_, i) => ({ tempFilePath: `wxfile://tmp/photo${i + 1}.jpg`, size: 1000, fileType: 'image' })),
    })),
    requestSubscribeMessage: ok((opts) => {
      const res = {}
      ;(opts.tmplIds || []).forEach((id) => { res[id] = 'accept' })
      return res
    }),
    getSetting: ok({ authSetting: { 'scope.userLocation': true } }),
    openSetting: ok({ authSetting: {} }),
    getPrivacySetting: ok({ needAuthorization: false, privacyContractName: '《共治小程序隐私保护指引》' }),
    requirePrivacyAuthorize: ok({}),
    openPrivacyContract: ok({}),
    onNeedPrivacyAuthorization: jest.fn(),
    showToast: jest.fn(),
    showModal: ok({ confirm: true, cancel: false, content: '' }),
    showLoading: jest.fn(),
    hideLoading: jest.fn(),
    showActionSheet: ok({ tapIndex: 0 }),
    navigateTo: ok({}),
    redirectTo: ok({}),
    switchTab: ok({}),
    reLaunch: ok({}),
    navigateBack: ok({}),
    setNavigationBarTitle: jest.fn(),
    stopPullDownRefresh: jest.fn(),
    setTabBarBadge: jest.fn(),
    removeTabBarBadge: jest.fn(),
    makePhoneCall: ok({}),
    previewImage: ok({}),
    onNetworkStatusChange: jest.fn(),
    offNetworkStatusChange: jest.fn(),
    getNetworkType: ok({ networkType: 'wifi' }),
    openLocation: ok({}),
    getAccountInfoSync: jest.fn(() => ({ miniProgram: { appId: 'wx-test', envVersion: 'develop', version: '' } })),
    getAppBaseInfo: jest.fn(() => ({ fontSizeSetting: 16, SDKVersion: '3.3.4' })),
    getSystemInfoSync: jest.fn(() => ({ fontSizeSetting: 16, SDKVersion: '3.3.4', platform: 'devtools' })),
    createMapContext: jest.fn(() => ({
      getCenterLocation: jest.fn((opts) => opts.success({ longitude: 116.5922, latitude: 35.4122 })),
      moveToLocation: jest.fn(),
    })),
  }
  return wx
}

// A logged-in user's tokens in storage, as services/api.js keeps them.
function signIn(wx, tokens) {
  wx.setStorageSync('gz.auth', Object.assign({
    access_token: 'access-1',
    refresh_token: 'refresh-1',
    access_expires_at: '2099-01-01T00:00:00Z',
    refresh_expires_at: '2099-01-01T00:00:00Z',
  }, tokens || {}))
}

function apiError(status, code, message) {
  return [status, { error: { code, message: message || code, details: {} } }]
}

module.exports = { createWx, signIn, apiError, splitUrl }
