// 网格信息一键可知: my grid cell on the map, its grid workers (the name and work phone they chose
// to publish) and the community office.
const api = require('../../services/api')
const session = require('../../utils/session')
const coords = require('../../utils/coords')
const ui = require('../../utils/ui')

Component({
  data: {
    pageClass: 'page',
    cellName: '',
    communityName: '',
    officeAddress: '',
    officePhone: '',
    latitude: 35.41,
    longitude: 116.59,
    polygons: [],
    workers: [],
    workersNote: '',
    needArea: false,
    errorText: '',
  },
  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
      return this.load()
    },

    async load() {
      const me = session.getMe()
      const home = me && me.home_area
      if (!home) {
        this.setData({ needArea: true })
        return
      }
      try {
        const area = await api.getArea(home.code)
        const map = coords.geometryToMap(area.geometry)
        const change = { polygons: map.polygons }
        if (map.centre) Object.assign(change, { latitude: map.centre.lat, longitude: map.centre.lng })
        let community = area
        if (area.kind === 'grid') {
          change.cellName = area.name
          const info = await this.loadWorkers(area.code)
          // 网格信息 names the community office too; without it, ask for the parent area.
          if (info && info.community) community = info.community
          else if (area.parent_code) community = await api.getArea(area.parent_code)
        } else {
          change.workersNote = '选择到具体网格后可以看到网格员（“我的” › 更换社区）'
        }
        Object.assign(change, {
          communityName: community.name,
          officeAddress: community.office_address || '',
          officePhone: community.office_phone || '',
        })
        this.setData(change)
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败' })
      }
    },

    // GET /areas/{code}/grid-workers answers {cell, community, grid_workers}; resolves it, or
    // null when it cannot be had (the page then says so and still shows the office).
    async loadWorkers(code) {
      try {
        const info = await api.listCellWorkers(code)
        const workers = (info.grid_workers || []).map((w, i) => ({ key: i, name: w.display_name, phone: w.work_phone || '' }))
        this.setData({ workers, workersNote: workers.length ? '' : '这个网格暂未公布网格员' })
        return info
      } catch (err) {
        this.setData({ workers: [], workersNote: '网格员信息暂未开放，请联系社区' })
        return null
      }
    },

    onCall(e) {
      const phone = e.currentTarget.dataset.phone
      if (phone) wx.makePhoneCall({ phoneNumber: phone })
    },

    onChangeArea() {
      wx.navigateTo({ url: '/pages/welcome/index?step=area' })
    },
  },
})
