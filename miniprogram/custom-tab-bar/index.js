// Role-based tabs: residents see 随手拍 / 我的上报 / 消息 / 我的; staff also see 工作台.
// The 消息 tab shows the unread badge.
const session = require('../utils/session')
const unread = require('../services/unread')

const TABS = [
  { path: 'pages/report/index', text: '随手拍', icon: '📷' },
  { path: 'pages/mine/index', text: '我的上报', icon: '📋' },
  { path: 'pages/work/index', text: '工作台', icon: '🧰', staffOnly: true },
  { path: 'pages/messages/index', text: '消息', icon: '🔔', badge: true },
  { path: 'pages/me/index', text: '我的', icon: '👤' },
]

Component({
  data: {
    tabs: [],
    selected: '',
    unread: 0,
    care: false,
  },
  lifetimes: {
    attached() {
      this.refresh()
    },
  },
  methods: {
    refresh(path) {
      const staff = session.isStaff()
      const count = unread.cached()
      this.setData({
        tabs: TABS.filter((t) => !t.staffOnly || staff).map((t) => Object.assign({}, t, {
          badgeText: t.badge && count ? (count > 99 ? '99+' : String(count)) : '',
        })),
        selected: path || this.data.selected,
        unread: count,
        care: session.isCareMode(),
      })
    },
    onSwitch(e) {
      const path = e.currentTarget.dataset.path
      wx.switchTab({ url: `/${path}` })
    },
  },
})
