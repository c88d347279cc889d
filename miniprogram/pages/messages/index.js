// 消息: progress of my reports and replies to my ratings; unread ones first marked.
const api = require('../../services/api')
const unread = require('../../services/unread')
const format = require('../../utils/format')
const { tabList } = require('../../utils/tab-list')
const ui = require('../../utils/ui')

function messageRow(m) {
  return {
    id: m.id,
    title: m.title || '办理进展',
    body: m.body || '',
    ticketId: m.ticket_id || null,
    unread: !m.read,
    time: format.shortTime(m.created_at),
  }
}

Component({
  behaviors: [tabList('pages/messages/index')],

  data: {
    pageClass: 'page',
    rows: [],
    next: null,
    unreadCount: 0,
    loading: false,
    errorText: '',
  },

  methods: {
    async reload() {
      await this.load(null)
      const count = await unread.refresh()
      this.setData({ unreadCount: count })
      ui.selectTab(this, 'pages/messages/index')
    },

    async load(cursor) {
      this.setData({ loading: true, errorText: '' })
      try {
        const page = await api.listMessages(cursor || undefined)
        const rows = (cursor ? this.data.rows : []).concat(page.items.map(messageRow))
        this.setData({ rows, next: page.next || null })
      } catch (err) {
        this.setData({ errorText: err.status === 404 ? '消息功能即将开通，办理进展可在“我的上报”查看' : (err.message || '加载失败') })
      }
      this.setData({ loading: false })
    },

    async onOpen(e) {
      const index = Number(e.currentTarget.dataset.index)
      const row = this.data.rows[index]
      if (row.unread) {
        this.setData({ [`rows[${index}].unread`]: false, unreadCount: Math.max(0, this.data.unreadCount - 1) })
        unread.set(this.data.unreadCount)
        ui.selectTab(this, 'pages/messages/index')
        api.readMessage(row.id).catch(() => {})
      }
      if (row.ticketId) wx.navigateTo({ url: `/pages/ticket/index?id=${row.ticketId}` })
    },
  },
})
