// The unread-message count behind the 消息 tab's badge.
const api = require('./api')

const KEY = 'gz.unread'

function cached() {
  return Number(wx.getStorageSync(KEY)) || 0
}

async function refresh() {
  let count = cached()
  try {
    const res = await api.unreadCount()
    count = Number(res && res.unread) || 0
  } catch (err) {
    return count // offline or not available yet: keep what we showed
  }
  wx.setStorageSync(KEY, count)
  return count
}

function set(count) {
  wx.setStorageSync(KEY, Math.max(0, count))
}

module.exports = { KEY, cached, refresh, set }
