// 民意调查: the polls of my area.
const api = require('../../services/api')
const format = require('../../utils/format')
const ui = require('../../utils/ui')

Component({
  data: { pageClass: 'page', areaName: '', rows: [], loading: false, errorText: '' },
  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
    },
    onShow() {
      return this.load()
    },
    onPullDownRefresh() {
      this.load().then(() => wx.stopPullDownRefresh())
    },
    async load() {
      this.setData({ loading: true, errorText: '' })
      try {
        const page = await api.listPolls()
        this.setData({
          areaName: page.area ? page.area.name : '',
          rows: page.items.map((p) => ({
            id: p.id,
            title: p.title,
            closes: p.closes_at ? `截止 ${format.shortTime(p.closes_at)}` : '',
            answered: !!p.has_voted,
            open: p.status === 'open',
          })),
        })
      } catch (err) {
        this.setData({ rows: [], errorText: err.status === 404 ? '民意调查即将开通' : (err.message || '加载失败') })
      }
      this.setData({ loading: false })
    },
    onOpen(e) {
      wx.navigateTo({ url: `/pages/poll/index?id=${e.currentTarget.dataset.id}` })
    },
  },
})
