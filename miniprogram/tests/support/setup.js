// Every test starts with a fresh stubbed `wx`, default config and no shared request state.
const { createWx } = require('./wx')

// config.js asks wx which build it runs in (develop / trial / release) when it is first loaded:
// the tests run as a develop build (dev login, the local server).
global.wx = createWx()
const config = require('../../config')

const defaults = JSON.parse(JSON.stringify(config))

beforeEach(() => {
  global.wx = createWx()
  Object.keys(config).forEach((k) => delete config[k])
  Object.assign(config, JSON.parse(JSON.stringify(defaults)))
  config.retryDelaysMs = [150, 150, 150]
  const app = { globalData: {} }
  global.getApp = () => app
})
