// 任务地图: a grid worker's tasks (their claimed tasks, or the pool) as markers on a map. Tapping
// one shows it below the map, to open or navigate to. Up to MAX_PAGES pages of the list are read.
const api = require('../../services/api')
const format = require('../../utils/format')
const nav = require('../../utils/nav')
const ui = require('../../utils/ui')

const MAX_PAGES = 5
const TITLES = { mine: '我的任务地图', pool: '任务池地图', verify: '待核查地图' }

Component({
  data: {
    pageClass: 'page',
    scope: 'mine',
    latitude: 35.41,
    longitude: 116.59,
    markers: [],
    points: [],
    rows: [],
    selected: null,
    loading: false,
    note: '',
    errorText: '',
  },
  methods: {
    onLoad(query) {
      const scope = TITLES[query && query.scope] ? query.scope : 'mine'
      this.setData({ pageClass: ui.pageClass(), scope })
      wx.setNavigationBarTitle({ title: TITLES[scope] })
      return this.load()
    },

    onPullDownRefresh() {
      this.load().then(() => wx.stopPullDownRefresh())
    },

    async load() {
      this.setData({ loading: true, errorText: '', selected: null })
      try {
        const now = Date.now()
        let rows = []
        let cursor
        for (let i = 0; i < MAX_PAGES; i += 1) {
          const page = await api.listTasks(this.data.scope, cursor)
          rows = rows.concat(page.items.map((t) => format.ticketRow(t, now)))
          cursor = page.next
          if (!cursor) break
        }
        const placed = rows.filter(nav.hasPoint)
        const markers = placed.map((r) => nav.marker(r))
        const change = {
          rows: placed,
          markers,
          points: markers.map((m) => ({ latitude: m.latitude, longitude: m.longitude })),
          note: rows.length ? (cursor ? `只显示了前 ${rows.length} 个任务` : '') : '暂时没有任务',
        }
        if (markers.length) Object.assign(change, { latitude: markers[0].latitude, longitude: markers[0].longitude })
        this.setData(change)
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败，请下拉刷新' })
      }
      this.setData({ loading: false })
    },

    onMarker(e) {
      const id = Number((e.detail && e.detail.markerId) !== undefined ? e.detail.markerId : e.markerId)
      this.setData({ selected: this.data.rows.find((r) => r.id === id) || null })
    },

    onOpen() {
      if (this.data.selected) wx.navigateTo({ url: `/pages/ticket/index?id=${this.data.selected.id}` })
    },

    onNavigate() {
      nav.openCase(this.data.selected)
    },
  },
})
