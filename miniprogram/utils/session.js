// What the app remembers between launches (besides the tokens, which services/api.js keeps):
// the profile from GET /me, the privacy agreement, care mode and the dev-mode openid.
const KEYS = {
  me: 'gz.me',
  privacy: 'gz.privacyAgreed',
  care: 'gz.careMode',
  devOpenid: 'gz.devOpenid',
  privacyDeclined: 'gz.privacyDeclined',
  seen: 'gz.seenStatus',
}

// How many tickets' last-seen status are remembered (the oldest are forgotten first).
const SEEN_LIMIT = 200

const WORKER_ROLES = ['grid_worker', 'handler']

// The phone's font size (微信 › 设置 › 通用 › 字体大小, in px) from which 关怀模式 starts on:
// standard is 16 (Android) or 17 (iOS).
const LARGE_FONT_PX = 18

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

// Whether the person has asked WeChat for large text.
function systemLargeFont() {
  try {
    const info = typeof wx.getAppBaseInfo === 'function' ? wx.getAppBaseInfo() : wx.getSystemInfoSync()
    const size = Number(info && info.fontSizeSetting) || 0
    const scale = Number(info && info.fontSizeScaleFactor) || 0
    return size >= LARGE_FONT_PX || scale >= 1.15
  } catch (err) {
    return false
  }
}

// 关怀模式: on the first run it follows the phone's large-font setting, and that choice is kept;
// from then on only the switch under 我的 changes it.
function isCareMode() {
  const stored = wx.getStorageSync(KEYS.care)
  if (stored === true || stored === false) return stored
  const on = systemLargeFont()
  wx.setStorageSync(KEYS.care, on)
  return on
}

function setCareMode(on) {
  wx.setStorageSync(KEYS.care, !!on)
}

function hasAgreedPrivacy() {
  return wx.getStorageSync(KEYS.privacy) === true
}

function setAgreedPrivacy() {
  wx.setStorageSync(KEYS.privacy, true)
  wx.removeStorageSync(KEYS.privacyDeclined)
}

// "暂不同意": the app stays usable read-only (lists, details, my grid, polls); location and
// photos wait until the person agrees, which they can do from any page that needs them.
function hasDeclinedPrivacy() {
  return wx.getStorageSync(KEYS.privacyDeclined) === true
}

function setDeclinedPrivacy() {
  wx.setStorageSync(KEYS.privacyDeclined, true)
}

// The status of a ticket when this person last looked at it: a change they now see is the moment
// to offer "提醒我" again (one subscribe consent buys one message).
function seenStatus(id) {
  const seen = wx.getStorageSync(KEYS.seen) || {}
  return seen[String(id)] ? seen[String(id)].status : ''
}

function setSeenStatus(id, status) {
  const seen = wx.getStorageSync(KEYS.seen) || {}
  seen[String(id)] = { status, at: Date.now() }
  const ids = Object.keys(seen)
  if (ids.length > SEEN_LIMIT) {
    ids.sort((a, b) => seen[a].at - seen[b].at).slice(0, ids.length - SEEN_LIMIT).forEach((k) => { delete seen[k] })
  }
  wx.setStorageSync(KEYS.seen, seen)
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
  systemLargeFont,
  hasAgreedPrivacy,
  setAgreedPrivacy,
  hasDeclinedPrivacy,
  setDeclinedPrivacy,
  devOpenid,
  seenStatus,
  setSeenStatus,
}
