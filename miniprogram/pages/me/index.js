// 我的: profile and home community, my grid, polls, 关怀模式, staff login / logout, privacy.
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
