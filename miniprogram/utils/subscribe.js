// WeChat subscribe messages (订阅消息). WeChat shows the prompt only inside a tap handler, so ask()
// must be called straight from one: never on launch or on page load. Each "允许" buys the backend
// one send of that template; what was asked and what was accepted is reported through
// services/api.js (POST /messages/subscriptions).
const api = require('../services/api')
const config = require('../config')

// Our template names (WECHAT_TEMPLATES on the server) → where config.js keeps their WeChat ids.
const CONFIG_KEYS = {
  ticket_progress: 'subscribeTemplateIds',
  poll_notice: 'pollTemplateIds',
}

// The configured template ids for one of our template names; [] when none is configured.
function templateIds(name) {
  const ids = config[CONFIG_KEYS[name]]
  return (Array.isArray(ids) ? ids : [ids]).filter((id) => typeof id === 'string' && id)
}

// Resolves { asked, accepted, answered }. answered is false when nothing was asked (no template)
// or WeChat could not show the prompt (e.g. subscribe messages switched off in settings); the
// backend hears only real answers, refusals included ("reject", "ban", "filter" count as refused).
function ask(tmplIds) {
  const asked = Array.from(new Set((tmplIds || []).filter(Boolean)))
  if (!asked.length) return Promise.resolve({ asked, accepted: [], answered: false })
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds: asked,
      success: (res) => {
        const accepted = asked.filter((id) => res[id] === 'accept')
        api.saveSubscriptions(asked, accepted).catch(() => {}) // the prompt has answered; a lost report only costs a notice
        resolve({ asked, accepted, answered: true })
      },
      fail: () => resolve({ asked, accepted: [], answered: false }),
    })
  })
}

module.exports = { templateIds, ask }
