// First run: the privacy agreement (WeChat's privacy authorisation), login, home community.
// Later launches pass straight through to the right tab.
//
// "暂不同意" does not lock anyone out: login needs no personal information, so the app goes on
// read-only (my reports, messages, my grid, polls, the public map without "near me"); location
// and photos wait for the agreement. When a page later calls one of those, app.js opens this page
// as a prompt (?step=privacy): agreeing or declining answers WeChat and goes back to that page.
const api = require('../../services/api')
const config = require('../../config')
const session = require('../../utils/session')
const ui = require('../../utils/ui')

const KIND_LABEL = { district: '区', street: '街道', community: '社区', grid: '网格' }

function homeTab(me) {
  return session.isStaff(me) ? '/pages/work/index' : '/pages/report/index'
}

Component({
  data: {
    pageClass: 'page',
    step: 'loading', // loading | privacy | login | area
    prompt: false, // opened by app.js because a page asked for location or photos
    privacyName: '《共治小程序隐私保护指引》',
    loginError: '',
    trail: [], // [{code, name}] the areas opened so far
    areas: [],
    chosen: null, // {code, name, kind}
    located: '',
    busy: false,
  },

  methods: {
    onLoad(query) {
      this.setData({ pageClass: ui.pageClass() })
      if (query && query.step === 'area') {
        this.showArea()
        return
      }
      if (query && query.step === 'privacy') {
        this.setData({ step: 'privacy', prompt: true })
        this.readContractName()
        return
      }
      this.start()
    },

    readContractName() {
      if (typeof wx.getPrivacySetting !== 'function') return
      wx.getPrivacySetting({
        success: (res) => {
          if (res.privacyContractName) this.setData({ privacyName: res.privacyContractName })
        },
      })
    },

    // Someone who declined before is not asked again on every launch: they go on read-only.
    start() {
      if (typeof wx.getPrivacySetting === 'function') {
        wx.getPrivacySetting({
          success: (res) => {
            if (res.privacyContractName) this.setData({ privacyName: res.privacyContractName })
            if (res.needAuthorization && !session.hasDeclinedPrivacy()) this.setData({ step: 'privacy' })
            else this.login()
          },
          fail: () => this.login(),
        })
      } else if (!session.hasAgreedPrivacy() && !session.hasDeclinedPrivacy()) {
        this.setData({ step: 'privacy' })
      } else {
        this.login()
      }
    },

    // Answers WeChat's pending privacy request (app.js kept its resolve), if there is one.
    answerPending(event) {
      const app = getApp()
      const pending = app && app.globalData && app.globalData.privacyResolve
      if (!pending) return
      if (event === 'agree') pending({ buttonId: 'agree-privacy', event: 'agree' })
      else pending({ event: 'disagree' })
      app.globalData.privacyResolve = null
    },

    onOpenContract() {
      wx.openPrivacyContract({})
    },

    // The button has open-type="agreePrivacyAuthorization": WeChat records the agreement.
    onAgree() {
      session.setAgreedPrivacy()
      this.answerPending('agree')
      if (this.data.prompt) wx.navigateBack({ delta: 1 })
      else this.login()
    },

    onDisagree() {
      session.setDeclinedPrivacy()
      this.answerPending('disagree')
      ui.toast('您可以先浏览；上报问题需要拍照和定位，届时会再征求您的同意')
      if (this.data.prompt) wx.navigateBack({ delta: 1 })
      else this.login()
    },

    async login() {
      this.setData({ step: 'login', loginError: '' })
      try {
        if (!api.isLoggedIn()) {
          if (config.env === 'prod') {
            const code = await new Promise((resolve, reject) => {
              wx.login({ success: (res) => resolve(res.code), fail: reject })
            })
            await api.loginWechat(code)
          } else {
            await api.loginDev(session.devOpenid())
          }
        }
        const me = await api.getMe()
        session.saveMe(me)
        if (me.home_area || session.isStaff(me)) {
          wx.switchTab({ url: homeTab(me) })
        } else {
          this.showArea()
        }
      } catch (err) {
        this.setData({ loginError: err.message || '登录失败，请稍后重试' })
      }
    },

    onRetryLogin() {
      this.login()
    },

    // --- choosing the home community ---
    showArea() {
      this.setData({ step: 'area', trail: [], chosen: null, located: '' })
      this.loadChildren(null)
    },

    async loadChildren(parent) {
      try {
        const res = await api.listAreas(parent)
        this.setData({
          areas: res.items.map((a) => ({ code: a.code, name: a.name, kind: a.kind, kindLabel: KIND_LABEL[a.kind] || '' })),
        })
      } catch (err) {
        ui.showError(err)
      }
    },

    onOpenArea(e) {
      const { code, name, kind } = e.currentTarget.dataset
      if (kind === 'community' || kind === 'grid') this.setData({ chosen: { code, name, kind } })
      if (kind === 'grid') return
      this.setData({ trail: this.data.trail.concat([{ code, name }]) })
      this.loadChildren(code)
    },

    onBack() {
      const trail = this.data.trail.slice(0, -1)
      this.setData({ trail, chosen: null })
      this.loadChildren(trail.length ? trail[trail.length - 1].code : null)
    },

    onUseLocation() {
      wx.getLocation({
        type: 'gcj02',
        success: async (res) => {
          try {
            const found = await api.locate({ lng: res.longitude, lat: res.latitude, crs: 'gcj02' })
            if (!found.found || !found.cell) {
              this.setData({ located: found.message || '您的位置不在本平台服务范围内，请从列表中选择' })
              return
            }
            const community = (found.ancestors || []).find((a) => a.kind === 'community')
            this.setData({
              chosen: { code: found.cell.code, name: found.cell.name, kind: 'grid' },
              located: `您在${community ? community.name : ''}${found.cell.name}`,
            })
          } catch (err) {
            ui.showError(err)
          }
        },
        fail: () => ui.toast('没有拿到您的位置，请从列表中选择社区'),
      })
    },

    async onConfirmArea() {
      if (!this.data.chosen || this.data.busy) return
      this.setData({ busy: true })
      try {
        const me = await api.updateMe({ home_area_code: this.data.chosen.code })
        session.saveMe(me)
        wx.switchTab({ url: homeTab(me) })
      } catch (err) {
        ui.showError(err)
      }
      this.setData({ busy: false })
    },
  },
})
