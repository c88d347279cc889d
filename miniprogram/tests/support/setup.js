// Every test starts with a fresh stubbed `wx`, default config and no shared request state.
const { createWx } = require('./wx')

const config = require('../../config')

const defaults = JSON.parse(JSON.stringify(config))

beforeEach(() => {
  global.wx = createWx()
  Object.keys(config).forEach((k) => delete config[k])
  Object.assign(config, JSON.parse(JSON.stringify(defaults)))
  config.retryDelaysMs = [50, 50, 50]
  const app = { globalData: {} }
  global.getApp = () => app
})
