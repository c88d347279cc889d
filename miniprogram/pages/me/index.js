// 我的: profile and home community, my grid, polls, 关怀模式, staff login / logout, privacy;
// staff bind their WeChat for task messages; residents see their data (我的数据) and 注销.
const api = require('../../services/api')
const session = require('../../utils/session')
const ui = require('../../utils/ui')

const ROLE_LABEL = {
  grid_worker: '网格员', handler: '处置人员', community_staff: '社区工作人员', dispatcher: '派遣员', admin: '管理员',
}

Component({
  data: {
    pageClass: 'page',
    name: '',
    homeArea: '',
    roleText: '',
    isStaff: false,
    wechatBound: false,
    care: false,
  },

  methods: {
    onLoad() {
      this.show()
    },

    onShow() {
      this.show()
      ui.selectTab(this, 'pages/me/index')
      return this.refresh()
    },

    show() {
      const me = session.getMe()
      const roleNames = session.roles(me).map((r) => ROLE_LABEL[r]).filter(Boolean)
      this.setData({
        pageClass: ui.pageClass(),
        care: session.isCareMode(),
        name: (me && me.display_name) || '居民',
        homeArea: (me && me.home_area && me.home_area.name) || '未选择',
        roleText: roleNames.filter((r, i) => roleNames.indexOf(r) === i).join('、'),
        isStaff: session.isStaff(me),
        wechatBound: !!(me && me.wechat_bound),
      })
    },

    async refresh() {
      try {
        session.saveMe(await api.getMe())
        this.show()
      } catch (err) {
        // offline: keep showing what we had
      }
    },

    onCareMode(e) {
      session.setCareMode(!!e.detail.value)
      this.show()
      ui.toast(e.detail.value ? '已开启关怀模式：字更大' : '已关闭关怀模式')
    },

    onChangeArea() {
      wx.navigateTo({ url: '/pages/welcome/index?step=area' })
    },

    onGrid() {
      wx.navigateTo({ url: '/pages/grid/index' })
    },

    onNearby() {
      wx.navigateTo({ url: '/pages/nearby/index' })
    },

    onPolls() {
      wx.navigateTo({ url: '/pages/polls/index' })
    },

    onStaffLogin() {
      wx.navigateTo({ url: '/pages/staff-login/index' })
    },

    onPrivacy() {
      wx.openPrivacyContract({})
    },

    // wx.login while signed in as staff: the code binds this WeChat to the staff account, so
    // task-assigned and deadline messages can reach it (the consent is asked on the 工作台).
    async onBindWechat() {
      try {
        const code = await new Promise((resolve, reject) => {
          wx.login({ success: (res) => resolve(res.code), fail: reject })
        })
        session.saveMe(await api.bindWechat(code))
        this.show()
        ui.toast('已绑定微信，可接收任务提醒')
      } catch (err) {
        ui.toast((err && err.message) || '绑定失败，请稍后再试')
      }
    },

    onUnbindWechat() {
      wx.showModal({
        title: '解除微信绑定',
        content: '解除后将不再通过微信接收任务提醒，站内消息不受影响。',
        success: async (res) => {
          if (!res.confirm) return
          try {
            session.saveMe(await api.unbindWechat())
            this.show()
            ui.toast('已解除绑定')
          } catch (err) {
            ui.toast((err && err.message) || '操作失败，请稍后再试')
          }
        },
      })
    },

    // 我的数据: what the server holds about me, summarised, with the whole JSON to copy.
    async onMyData() {
      let data
      try {
        data = await api.myData()
      } catch (err) {
        ui.toast((err && err.message) || '获取失败，请稍后再试')
        return
      }
      const s = data.sections || {}
      const count = (name) => (s[name] || []).length
      const content = [
        `上报 ${count('reports')} 条，关注 ${count('follows')} 条`,
        `评价 ${count('ratings')} 条，投票 ${count('poll_ballots')} 次`,
        `站内消息 ${count('messages')} 条`,
        '可复制全部数据（JSON）保存。',
      ].join('\n')
      wx.showModal({
        title: '我的数据',
        content,
        confirmText: '复制数据',
        success: (res) => {
          if (!res.confirm) return
          wx.setClipboardData({ data: JSON.stringify(data, null, 2) })
        },
      })
    },

    // 注销: reports stay for the record without my identity; everything else about me goes.
    onDeleteAccount() {
      wx.showModal({
        title: '注销账号',
        content: '注销后，您的微信标识、昵称和社区信息将被删除，站内消息一并删除；已上报的问题和评价作为城市管理记录保留，但不再与您关联。此操作不可恢复。',
        confirmText: '确认注销',
        confirmColor: '#d03050',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await api.deleteAccount()
          } catch (err) {
            ui.toast((err && err.message) || '注销失败，请稍后再试')
            return
          }
          session.clearMe()
          ui.toast('账号已注销')
          wx.reLaunch({ url: '/pages/welcome/index' })
        },
      })
    },

    onLogout() {
      wx.showModal({
        title: '退出登录',
        content: '退出后需要重新登录。',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await api.logout()
          } catch (err) {
            // the local session is cleared either way
          }
          session.clearMe()
          wx.reLaunch({ url: '/pages/welcome/index' })
        },
      })
    },
  },
})
