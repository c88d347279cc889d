// 我的上报: the tickets I reported or follow, with status chips and deadline colours.
const api = require('../../services/api')
const format = require('../../utils/format')
const { tabList } = require('../../utils/tab-list')

const FILTERS = [
  { key: 'all', label: '全部' },
  { key: 'open', label: '办理中' },
  { key: 'closed', label: '已办结' },
]

Component({
  behaviors: [tabList('pages/mine/index')],

  data: {
    pageClass: 'page',
    filters: FILTERS,
    filter: 'all',
    rows: [],
    shown: [],
    next: null,
    loading: false,
    errorText: '',
  },

  methods: {
    reload() {
      return this.load(null)
    },

    async load(cursor) {
      this.setData({ loading: true, errorText: '' })
      try {
        const page = await api.myTickets(cursor || undefined)
        const now = Date.now()
        const rows = (cursor ? this.data.rows : []).concat(page.items.map((t) => format.ticketRow(t, now)))
        this.setData({ rows, next: page.next || null })
        this.applyFilter()
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败，请下拉刷新' })
      }
      this.setData({ loading: false })
    },

    applyFilter() {
      const f = this.data.filter
      this.setData({ shown: f === 'all' ? this.data.rows : this.data.rows.filter((r) => r.group === f) })
    },

    onFilter(e) {
      this.setData({ filter: e.currentTarget.dataset.key })
      this.applyFilter()
    },

    onOpen(e) {
      wx.navigateTo({ url: `/pages/ticket/index?id=${e.currentTarget.dataset.id}` })
    },
  },
})
