// The build picks its server and login mode (config.js, utils/env.js): a release build can never
// use dev login or talk to a development server.
const { chooseTarget, isDevServer, envVersion } = require('../utils/env')
const { signIn } = require('./support/wx')

const TARGETS = {
  develop: { baseUrl: 'http://127.0.0.1:8000', env: 'dev' },
  trial: { baseUrl: 'https://staging.example.cn' },
  release: { baseUrl: 'https://gongzhi.example.cn', env: 'dev' },
}

function loadConfig(version) {
  wx.getAccountInfoSync.mockReturnValue({ miniProgram: { appId: 'wx1', envVersion: version } })
  let config
  jest.isolateModules(() => { config = require('../config') })
  return config
}

test('each build chooses its own server; trial and release always log in through WeChat', () => {
  expect(chooseTarget(TARGETS, 'develop')).toMatchObject({ baseUrl: 'http://127.0.0.1:8000', env: 'dev' })
  expect(chooseTarget(TARGETS, 'trial')).toMatchObject({ baseUrl: 'https://staging.example.cn', env: 'prod' })
  // even a target that asks for dev login gets WeChat login in a release build
  expect(chooseTarget(TARGETS, 'release')).toMatchObject({ baseUrl: 'https://gongzhi.example.cn', env: 'prod', configError: '' })
})

test('config.js reads the build version from wx.getAccountInfoSync', () => {
  expect(loadConfig('develop')).toMatchObject({ envVersion: 'develop', env: 'dev', baseUrl: 'http://127.0.0.1:8000' })
  const release = loadConfig('release')
  expect(release).toMatchObject({ envVersion: 'release', env: 'prod' })
  expect(isDevServer(release.baseUrl)).toBe(false)
  expect(loadConfig('trial')).toMatchObject({ envVersion: 'trial', env: 'prod' })
})

test('an unknown or unreadable version is treated as release', () => {
  wx.getAccountInfoSync.mockImplementation(() => { throw new Error('not supported') })
  expect(envVersion()).toBe('release')
  wx.getAccountInfoSync.mockReturnValue({ miniProgram: { envVersion: 'something' } })
  expect(envVersion()).toBe('release')
  expect(chooseTarget(TARGETS, undefined).envVersion).toBe('release')
})

test('a release or trial build pointed at a development server sends nothing', async () => {
  ;['http://127.0.0.1:8000', 'http://gongzhi.example.cn', 'https://localhost:8443', 'https://192.168.1.5', 'https://10.0.0.2/api', ''].forEach((url) => {
    expect(isDevServer(url)).toBe(true)
    const chosen = chooseTarget({ release: { baseUrl: url }, trial: { baseUrl: url } }, 'release')
    expect(chosen).toMatchObject({ baseUrl: '', env: 'prod' })
    expect(chosen.configError).toMatch(/HTTPS/)
  })
  expect(isDevServer('https://gongzhi.example.cn')).toBe(false)

  let api
  jest.isolateModules(() => {
    const config = require('../config')
    Object.assign(config, chooseTarget({ release: { baseUrl: 'http://127.0.0.1:8000' } }, 'release'))
    api = require('../services/api')
  })
  signIn(wx)
  const err = await api.getMe().catch((e) => e)
  expect(err).toMatchObject({ name: 'ApiError', code: 'not_configured', retryable: false })
  expect(wx.request).not.toHaveBeenCalled()
})
