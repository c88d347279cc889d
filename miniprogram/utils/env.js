// Which server and login mode a build uses, chosen by the build itself
// (wx.getAccountInfoSync().miniProgram.envVersion): develop (DevTools, 预览), trial (体验版) or
// release (正式版). Trial and release always log in through WeChat and refuse a development
// server (http, 127.0.0.1, localhost, a LAN address): a release build can never talk to one.
const VERSIONS = ['develop', 'trial', 'release']

// The build's version; anything unknown is treated as release, the strictest.
function envVersion() {
  try {
    const info = wx.getAccountInfoSync()
    const version = info && info.miniProgram && info.miniProgram.envVersion
    return VERSIONS.indexOf(version) >= 0 ? version : 'release'
  } catch (err) {
    return 'release'
  }
}

// Not a server a published build may use: not HTTPS, or a loopback / private address.
function isDevServer(url) {
  const match = /^https:\/\/([^/:?#]+|\[[^\]]+\])/i.exec(url || '')
  if (!match) return true
  const host = match[1].toLowerCase()
  return /^(localhost|127\.|0\.0\.0\.0|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|\[::1\])/.test(host) || host.endsWith('.local')
}

// targets: {develop: {baseUrl, env}, trial: {...}, release: {...}} → {envVersion, baseUrl, env,
// configError}. A trial or release target naming a development server yields no baseUrl and a
// configError: services/api.js then refuses every call instead of sending it there.
function chooseTarget(targets, version) {
  const v = VERSIONS.indexOf(version) >= 0 ? version : 'release'
  const target = (targets && targets[v]) || {}
  if (v === 'develop') {
    return { envVersion: v, baseUrl: target.baseUrl || '', env: target.env || 'dev', configError: '' }
  }
  if (isDevServer(target.baseUrl)) {
    return { envVersion: v, baseUrl: '', env: 'prod', configError: `${v} builds need an HTTPS API server (config.js), not ${target.baseUrl || 'nothing'}` }
  }
  return { envVersion: v, baseUrl: target.baseUrl, env: 'prod', configError: '' }
}

module.exports = { VERSIONS, envVersion, isDevServer, chooseTarget }
