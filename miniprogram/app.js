// The app shell: privacy authorisation hook, session loss, and resending a report draft that a
// weak network left waiting. Nothing is asked of the user on launch (no subscribe prompt).
const api = require('./services/api')
const report = require('./services/report')
const unread = require('./services/unread')
const session = require('./utils/session')

App({
  globalData: {
    privacyResolve: null,
  },

  onLaunch() {
    api.setAuthLostHandler(() => {
      session.clearMe()
      wx.reLaunch({ url: '/pages/welcome/index' })
    })
    // A privacy-protected API (location, photos) was called before the user agreed: show the
    // agreement on the first-run page; its agree button resolves this.
    if (typeof wx.onNeedPrivacyAuthorization === 'function') {
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.globalData.privacyResolve = resolve
        wx.reLaunch({ url: '/pages/welcome/index' })
      })
    }
    wx.onNetworkStatusChange((res) => {
      if (res.isConnected && api.isLoggedIn()) report.retryPendingDraft()
    })
  },

  onShow() {
    if (!api.isLoggedIn()) return
    report.retryPendingDraft()
    unread.refresh()
  },
})
