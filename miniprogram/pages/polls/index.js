// 民意调查: the polls of my area, and a tap to be told by WeChat when a poll opens or its
// results are out (the poll_notice subscribe message; asked only on that tap).
const api = require('../../services/api')
const format = require('../../utils/format')
const subscribe = require('../../utils/subscribe')
const ui = require('../../utils/ui')

Component({
  data: { pageClass: 'page', areaName: '', rows: [], loading: false, errorText: '', remindShown: false },
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
          // Offered once per visit, and only with a poll_notice template configured.
          remindShown: !this.remindAnswered && subscribe.templateIds('poll_notice').length > 0,
        })
      } catch (err) {
        this.setData({ rows: [], remindShown: false, errorText: err.status === 404 ? '民意调查即将开通' : (err.message || '加载失败') })
      }
      this.setData({ loading: false })
    },
    // "开启投票提醒": WeChat's prompt, then the answer to the backend. A refusal gets no
    // further word; voting works the same either way.
    onRemind() {
      return subscribe.ask(subscribe.templateIds('poll_notice')).then(({ accepted, answered }) => {
        if (!answered) return
        this.remindAnswered = true
        this.setData({ remindShown: false })
        if (accepted.length) ui.toast('已开启投票提醒', 'success')
      })
    },
    onOpen(e) {
      wx.navigateTo({ url: `/pages/poll/index?id=${e.currentTarget.dataset.id}` })
    },
  },
})
