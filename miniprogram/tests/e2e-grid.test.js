// End to end, one page: pages/grid (网格信息一键可知) rendered in miniprogram-simulate against the
// real backend that scripts/test-miniprogram starts (E2E_BASE_URL, E2E_VAR_DIR, demo district).
// The page's wx.request goes over real HTTP (node's http module: this file runs in jsdom, like
// every page test); everything else is the stubbed wx of support/wx.js. It proves the page reads
// the fields the backend really sends: the cell's grid workers appear by name.
const fs = require('fs')
const http = require('http')
const path = require('path')

const api = require('../services/api')
const config = require('../config')
const session = require('../utils/session')
const { loadPage, flush, text } = require('./support/page')

const BASE = process.env.E2E_BASE_URL
const VAR_DIR = process.env.E2E_VAR_DIR

function demoPassword(username) {
  const line = fs.readFileSync(path.join(VAR_DIR, 'demo-accounts.txt'), 'utf8').split('\n')
    .find((l) => l.split('\t')[0] === username)
  if (!line) throw new Error(`no ${username} in demo-accounts.txt`)
  return line.split('\t')[1]
}

// wx.request over real HTTP, answering as WeChat does (statusCode, parsed JSON data).
function realRequest(opts) {
  const url = new URL(opts.url)
  const body = opts.method !== 'GET' && opts.data !== undefined ? JSON.stringify(opts.data) : null
  const headers = Object.assign({}, opts.header)
  if (body) headers['Content-Length'] = Buffer.byteLength(body)
  const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method, headers }, (res) => {
    const chunks = []
    res.on('data', (c) => chunks.push(c))
    res.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let data = raw
      try { data = JSON.parse(raw) } catch (err) { /* not JSON */ }
      opts.success({ statusCode: res.statusCode, data, header: res.headers })
    })
  })
  req.on('error', (err) => opts.fail({ errMsg: `request:fail ${err.message}` }))
  if (body) req.write(body)
  req.end()
  return { abort() {} }
}

// Lets real HTTP answers arrive (flush() only settles timers and promises).
async function settle(until) {
  for (let i = 0; i < 100 && !until(); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    await flush(2)
  }
}

beforeAll(() => {
  if (!BASE || !VAR_DIR) {
    throw new Error('E2E_BASE_URL / E2E_VAR_DIR are not set: run scripts/test-miniprogram, which starts the backend with the demo district')
  }
})

test('the grid page shows the grid workers of my cell, from the real backend', async () => {
  config.baseUrl = BASE
  wx.request.mockImplementation(realRequest)
  // The demo grid worker: who should appear, and in which cell.
  await api.loginStaff('grid_worker', demoPassword('grid_worker'))
  const worker = await api.getMe()
  const cell = worker.roles.find((g) => g.role === 'grid_worker').area.code
  api.clearAuth()

  // A resident whose home is that cell.
  await api.loginDev(`e2eg${Date.now()}`, '李大爷')
  session.saveMe(await api.updateMe({ home_area_code: cell }))

  const page = loadPage('grid')
  page.instance.onLoad({})
  await settle(() => page.data.communityName || page.data.errorText)
  expect(page.data.errorText).toBe('')
  expect(page.data.workers.map((w) => w.name)).toContain(worker.display_name)
  expect(text(page)).toContain(worker.display_name)
  expect(text(page)).not.toContain('暂未公布网格员')
  expect(page.data.polygons.length).toBeGreaterThan(0)
})
