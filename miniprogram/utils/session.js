// What the app remembers between launches (besides the tokens, which services/api.js keeps):
// the profile from GET /me, the privacy agreement, care mode and the dev-mode openid.
const KEYS = {
  me: 'gz.me',
  privacy: 'gz.privacyAgreed',
  care: 'gz.careMode',
  devOpenid: 'gz.devOpenid',
}

const WORKER_ROLES = ['grid_worker', 'handler']

function getMe() {
  return wx.getStorageSync(KEYS.me) || null
}

function saveMe(me) {
  wx.setStorageSync(KEYS.me, me)
}

function clearMe() {
  wx.removeStorageSync(KEYS.me)
}

function roles(me) {
  const user = me === undefined ? getMe() : me
  if (!user || !Array.isArray(user.roles)) return []
  return user.roles.map((grant) => grant.role)
}

function hasRole(role, me) {
  return roles(me).indexOf(role) >= 0
}

function isWorker(me) {
  return roles(me).some((role) => WORKER_ROLES.indexOf(role) >= 0)
}

function isCommunityStaff(me) {
  return hasRole('community_staff', me)
}

function isStaff(me) {
  return isWorker(me) || isCommunityStaff(me) || hasRole('dispatcher', me)
}

// The grid cells a grid worker covers (from their role grants).
function workerCells(me) {
  const user = me === undefined ? getMe() : me
  if (!user || !Array.isArray(user.roles)) return []
  return user.roles.filter((g) => g.role === 'grid_worker' && g.area).map((g) => g.area)
}

function isCareMode() {
  return wx.getStorageSync(KEYS.care) === true
}

function setCareMode(on) {
  wx.setStorageSync(KEYS.care, !!on)
}

function hasAgreedPrivacy() {
  return wx.getStorageSync(KEYS.privacy) === true
}

function setAgreedPrivacy() {
  wx.setStorageSync(KEYS.privacy, true)
}

// Dev/test only: a stable made-up openid per device, for POST /auth/dev.
function devOpenid() {
  let openid = wx.getStorageSync(KEYS.devOpenid)
  if (!openid) {
    openid = `dev${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
    wx.setStorageSync(KEYS.devOpenid, openid)
  }
  return openid
}

module.exports = {
  KEYS,
  getMe,
  saveMe,
  clearMe,
  roles,
  hasRole,
  isWorker,
  isCommunityStaff,
  isStaff,
  workerCells,
  isCareMode,
  setCareMode,
  hasAgreedPrivacy,
  setAgreedPrivacy,
  devOpenid,
}
