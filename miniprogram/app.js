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
    // A privacy-protected API (location, camera, album) was called before the user agreed: show
    // the agreement as a prompt over the page that asked; agreeing or declining answers WeChat
    // (the resolve kept here) and goes back there, so the page — and the rest of the app — stays.
    if (typeof wx.onNeedPrivacyAuthorization === 'function') {
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.globalData.privacyResolve = resolve
        wx.navigateTo({ url: '/pages/welcome/index?step=privacy' })
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
