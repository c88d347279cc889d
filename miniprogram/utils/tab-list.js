// What the 我的上报 and 消息 tabs share: a list read page by page, reloaded when the tab shows
// or is pulled down, the next page read at the bottom. The page brings reload() and
// load(cursor) and keeps `next` and `loading` in its data.
const ui = require('./ui')

function tabList(path) {
  return Behavior({
    methods: {
      onLoad() {
        this.setData({ pageClass: ui.pageClass() })
      },

      onShow() {
        this.setData({ pageClass: ui.pageClass() })
        ui.selectTab(this, path)
        return this.reload()
      },

      onPullDownRefresh() {
        this.reload().then(() => wx.stopPullDownRefresh())
      },

      onReachBottom() {
        if (this.data.next && !this.data.loading) this.load(this.data.next)
      },
    },
  })
}

module.exports = { tabList }
