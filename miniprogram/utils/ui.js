// Small UI helpers shared by the pages.
const session = require('./session')

function toast(title, icon) {
  wx.showToast({ title, icon: icon || 'none', duration: 2500 })
}

// An ApiError's (or a report draft's DraftError's) message is Chinese and meant for the user;
// anything else gets a plain sentence.
function showError(err, fallback) {
  const mine = err && (err.name === 'ApiError' || err.name === 'DraftError')
  const message = (mine && err.message) || fallback || '操作失败，请稍后重试'
  toast(message)
  return message
}

// The page root's class: 关怀模式 enlarges text and buttons.
function pageClass() {
  return session.isCareMode() ? 'page care' : 'page'
}

// Keeps the custom tab bar's highlight in step with the page (real WeChat only).
function selectTab(page, path) {
  if (typeof page.getTabBar === 'function') {
    const bar = page.getTabBar()
    if (bar && typeof bar.refresh === 'function') bar.refresh(path)
  }
}

module.exports = { toast, showError, pageClass, selectTab }
