// Where the mini-program finds the API, and how it behaves on a weak network.
// Edit baseUrl (an HTTPS domain on the request/uploadFile whitelist) and env before publishing.
module.exports = {
  // The API server, without /api/v1. In WeChat DevTools tick "不校验合法域名" to use http://127.0.0.1.
  baseUrl: 'http://127.0.0.1:8000',
  // 'dev' or 'test': residents log in with POST /auth/dev (a made-up openid; the server refuses it
  // outside dev/test). 'prod': wx.login → POST /auth/wechat.
  env: 'dev',
  // WeChat allows 10 concurrent request/upload/download calls; we use a few and queue the rest.
  maxConcurrent: 4,
  // Per request, in milliseconds (WeChat's default and maximum is 60 s).
  timeoutMs: 20000,
  // Subscribe-message template ids (from the WeChat admin console), asked for after a report:
  // the id the server has as ticket_progress in WECHAT_TEMPLATES.
  subscribeTemplateIds: [],
  // The poll_notice template id (投票开始 / 结果公布), asked for on the polls list and after voting.
  // Left empty, the poll pages ask nothing: the notices still arrive in 消息.
  pollTemplateIds: [],
  // The delays before a saved report draft is sent again after a network failure.
  retryDelaysMs: [3000, 10000, 30000, 60000],
}
