// Staff (grid workers, handlers, community staff) log in with the account the admin gave them;
// the 工作台 tab then shows their work.
const api = require('../../services/api')
const session = require('../../utils/session')
const ui = require('../../utils/ui')

Component({
  data: {
    pageClass: 'page',
    username: '',
    password: '',
    busy: false,
    errorText: '',
  },

  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
    },
    onUsername(e) {
      this.setData({ username: e.detail.value })
    },
    onPassword(e) {
      this.setData({ password: e.detail.value })
    },

    async onLogin() {
      const username = this.data.username.trim()
      if (!username || !this.data.password) {
        this.setData({ errorText: '请输入账号和密码' })
        return
      }
      if (this.data.busy) return
      this.setData({ busy: true, errorText: '' })
      try {
        await api.loginStaff(username, this.data.password)
        const me = await api.getMe()
        session.saveMe(me)
        this.setData({ busy: false, password: '' })
        wx.switchTab({ url: session.isStaff(me) ? '/pages/work/index' : '/pages/me/index' })
      } catch (err) {
        this.setData({ busy: false, errorText: err.message || '登录失败' })
      }
    },
  },
})
