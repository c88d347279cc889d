// Where the mini-program finds the API, and how it behaves on a weak network.
//
// The server and login mode come from the build itself (utils/env.js): WeChat says whether this
// is the 开发版 (develop), 体验版 (trial) or 正式版 (release). Put your servers in TARGETS before
// uploading; trial and release must be HTTPS domains on the request/uploadFile whitelist, and
// they always log in with wx.login — a release build can never use dev login or a dev server.
const { chooseTarget, envVersion } = require('./utils/env')

const TARGETS = {
  // DevTools and 预览: the local server (tick "不校验合法域名"); residents log in with POST
  // /auth/dev and a made-up openid, which the server allows only with APP_ENV=dev|test.
  develop: { baseUrl: 'http://127.0.0.1:8000', env: 'dev' },
  // 体验版, for testers and WeChat's reviewers: a staging server with its own WeChat app.
  trial: { baseUrl: 'https://staging.gongzhi.example.cn' },
  // 正式版.
  release: { baseUrl: 'https://gongzhi.example.cn' },
}

module.exports = Object.assign({
  // WeChat allows 10 concurrent request/upload/download calls; we use a few and queue the rest.
  maxConcurrent: 4,
  // Per request, in milliseconds (WeChat's default and maximum is 60 s).
  timeoutMs: 20000,
  // Subscribe-message template ids (from the WeChat admin console), asked for after a report and
  // again when a resident sees their ticket move on: the server's ticket_progress template.
  subscribeTemplateIds: [],
  // The poll_notice template id (投票开始 / 结果公布), asked for on the polls list and after voting.
  // Left empty, the poll pages ask nothing: the notices still arrive in 消息.
  pollTemplateIds: [],
  // The delays before a saved report draft is sent again after a network failure; one automatic
  // resend per entry, then the draft waits for the resident's tap.
  retryDelaysMs: [3000, 10000, 30000, 60000],
  // baseUrl (without /api/v1), env ('dev' | 'prod'), envVersion and configError, for this build.
}, chooseTarget(TARGETS, envVersion()))
