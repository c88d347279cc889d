// 附近的问题: public cases around a point, on a map and as a list (GET /tickets/public: no
// identities, closed ones too). The point is the phone's location (GCJ-02) or, without it, the
// centre of the map the resident moved; "搜索这里" asks again there.
const api = require('../../services/api')
const coords = require('../../utils/coords')
const format = require('../../utils/format')
const ui = require('../../utils/ui')

const RADIUS_M = 1000

function row(t) {
  return {
    id: t.id,
    title: (t.category && t.category.label) || '问题',
    number: t.number || `#${t.id}`,
    statusLabel: t.status_label,
    distance: t.distance_m >= 1000 ? `${(t.distance_m / 1000).toFixed(1)} 公里` : `${Math.round(t.distance_m)} 米`,
    followers: t.follower_count || 0,
    time: format.shortTime(t.created_at),
    lng: t.location.lng,
    lat: t.location.lat,
  }
}

Component({
  data: {
    pageClass: 'page',
    latitude: 35.41,
    longitude: 116.59,
    markers: [],
    rows: [],
    loading: false,
    located: false,
    locationNote: '',
    note: '',
    errorText: '',
  },
  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
      this.locate()
    },

    onPullDownRefresh() {
      this.load(this.data.longitude, this.data.latitude).then(() => wx.stopPullDownRefresh())
    },

    // Without the location (declined, or no privacy agreement) the map still works: move it and
    // tap "搜索这里".
    locate() {
      wx.getLocation({
        type: 'gcj02',
        success: (res) => {
          this.setData({ located: true, latitude: res.latitude, longitude: res.longitude })
          this.load(res.longitude, res.latitude)
        },
        fail: () => {
          this.setData({ locationNote: '没有拿到您的位置：移动地图后点“搜索这里”' })
          this.load(this.data.longitude, this.data.latitude)
        },
      })
    },

    onSearchHere() {
      wx.createMapContext('nearby-map', this).getCenterLocation({
        success: (res) => {
          this.setData({ latitude: res.latitude, longitude: res.longitude })
          this.load(res.longitude, res.latitude)
        },
      })
    },

    async load(lng, lat) {
      this.setData({ loading: true, errorText: '' })
      try {
        const res = await api.publicTickets({ lng, lat, crs: 'gcj02', radius_m: RADIUS_M })
        const rows = res.items.map(row)
        this.setData({
          rows,
          markers: rows.map((r) => {
            const g = coords.wgs84ToGcj02(r.lng, r.lat)
            return { id: r.id, latitude: g.lat, longitude: g.lng, width: 28, height: 36, callout: { content: `${r.title} · ${r.statusLabel}`, display: 'BYCLICK', padding: 8 } }
          }),
          note: rows.length ? `附近 ${RADIUS_M / 1000} 公里内 ${rows.length} 个公开的问题` : '附近还没有公开的问题',
        })
      } catch (err) {
        this.setData({ rows: [], markers: [], errorText: err.message || '加载失败，请下拉刷新' })
      }
      this.setData({ loading: false })
    },

    onMarker(e) {
      const id = Number((e.detail && e.detail.markerId) !== undefined ? e.detail.markerId : e.markerId)
      if (id) wx.navigateTo({ url: `/pages/ticket/index?id=${id}` })
    },

    onOpen(e) {
      wx.navigateTo({ url: `/pages/ticket/index?id=${e.currentTarget.dataset.id}` })
    },
  },
})
