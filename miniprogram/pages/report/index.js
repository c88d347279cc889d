// 随手拍: photos, location (GCJ-02 from WeChat's map, sent as such), category, description,
// public or private, "same problem nearby?", then submit with the draft's idempotency key.
const api = require('../../services/api')
const report = require('../../services/report')
const drafts = require('../../utils/draft')
const format = require('../../utils/format')
const config = require('../../config')
const photos = require('../../utils/photos')
const session = require('../../utils/session')
const subscribe = require('../../utils/subscribe')
const ui = require('../../utils/ui')

// A photo to upload whose file is gone (a restart cleared it) says so under its thumbnail.
function photoView(list, progress, missing) {
  return list.map((p, i) => {
    const pct = progress && progress[i] !== undefined ? progress[i] : (p.mediaId ? 100 : 0)
    if (missing && missing.indexOf(i) >= 0) return { path: p.path, progress: 0, stateText: '照片已失效，请删除后重新添加', missing: true }
    return { path: p.path, progress: pct, stateText: pct > 0 ? photos.progressText(pct) : '' }
  })
}

Component({
  data: {
    pageClass: 'page',
    photos: [],
    maxPhotos: report.MAX_PHOTOS,
    hasLocation: false,
    latitude: 35.41,
    longitude: 116.59,
    address: '',
    categories: [],
    shownCategories: [],
    keyword: '',
    category: null,
    categoryOpen: false,
    description: '',
    isPublic: true,
    nearby: [],
    sending: false,
    waitingRetry: false,
    errorText: '',
    done: null, // {id, number, text}
    subscribed: false,
    needPrivacy: false, // declined the agreement: no automatic location until they agree here
  },

  lifetimes: {
    detached() {
      this.stopRetry()
    },
  },

  methods: {
    onLoad() {
      const needPrivacy = session.hasDeclinedPrivacy() && !session.hasAgreedPrivacy()
      this.setData({ pageClass: ui.pageClass(), needPrivacy })
      const draft = drafts.load()
      this.showDraft(draft)
      this.loadCategories()
      if (!draft.location && !needPrivacy) this.onLocate()
      else if (draft.location) this.checkNearby()
      if (draft.status === 'waiting_retry') this.scheduleRetry()
    },

    onShow() {
      this.setData({ pageClass: ui.pageClass() })
      ui.selectTab(this, 'pages/report/index')
    },

    onUnload() {
      this.stopRetry()
    },

    showDraft(draft, progress) {
      const missing = drafts.missingPhotos(draft)
      this.setData({
        photos: photoView(draft.photos, progress, missing),
        hasLocation: !!draft.location,
        latitude: draft.location ? draft.location.lat : this.data.latitude,
        longitude: draft.location ? draft.location.lng : this.data.longitude,
        address: draft.address,
        category: draft.category,
        description: draft.description,
        isPublic: draft.isPublic,
        waitingRetry: draft.status === 'waiting_retry',
        errorText: missing.length ? report.validate(draft) : (draft.lastError || ''),
      })
    },

    // Changes the saved draft and shows it.
    edit(change) {
      const draft = Object.assign(drafts.load(), change)
      if (draft.status === 'waiting_retry') draft.status = 'editing'
      drafts.save(draft)
      this.showDraft(draft)
      return draft
    },

    async loadCategories() {
      try {
        const res = await api.listCategories()
        const rows = format.categoryRows(res.items)
        this.setData({ categories: rows, shownCategories: rows })
      } catch (err) {
        this.setData({ errorText: '问题类型加载失败，请下拉刷新重试' })
      }
    },

    onPullDownRefresh() {
      this.loadCategories().then(() => wx.stopPullDownRefresh())
    },

    // The banner's button has open-type="agreePrivacyAuthorization": WeChat records the agreement.
    onAgreePrivacy() {
      session.setAgreedPrivacy()
      this.setData({ needPrivacy: false })
      if (!drafts.load().location) this.onLocate()
    },

    // --- photos: kept in the user data folder, so the draft survives a restart ---
    async onAddPhotos(e) {
      const room = report.MAX_PHOTOS - drafts.load().photos.length
      const paths = await Promise.all((e.detail.paths || []).slice(0, room).map((path) => drafts.keepPhoto(path)))
      const draft = drafts.load()
      const added = paths.slice(0, report.MAX_PHOTOS - draft.photos.length).map((path) => ({ path, mediaId: null }))
      this.edit({ photos: draft.photos.concat(added), lastError: '' })
    },

    onRemovePhoto(e) {
      const list = drafts.load().photos.slice()
      const [removed] = list.splice(e.detail.index, 1)
      if (removed) drafts.dropPhoto(removed.path)
      this.edit({ photos: list, lastError: '' })
    },

    // --- location: always GCJ-02 (the map's system), and the request says so ---
    onLocate() {
      wx.getLocation({
        type: 'gcj02',
        isHighAccuracy: true,
        success: (res) => this.setLocation(res.longitude, res.latitude),
        fail: () => ui.toast('没有拿到您的位置，请点“在地图上选”'),
      })
    },

    onChooseLocation() {
      const options = {
        success: (res) => this.setLocation(res.longitude, res.latitude, [res.address, res.name].filter(Boolean).join(' ')),
      }
      if (this.data.hasLocation) {
        options.latitude = this.data.latitude
        options.longitude = this.data.longitude
      }
      wx.chooseLocation(options)
    },

    // The pin sits in the middle of the map: dragging the map moves the point under it.
    onRegionChange(e) {
      const detail = e.detail || {}
      const type = e.type === 'end' || detail.type === 'end'
      const byDrag = (e.causedBy || detail.causedBy) === 'drag'
      if (!type || !byDrag) return
      wx.createMapContext('report-map', this).getCenterLocation({
        success: (res) => this.setLocation(res.longitude, res.latitude),
      })
    },

    setLocation(lng, lat, address) {
      const change = { location: { lng, lat, crs: 'gcj02' } }
      if (address !== undefined) change.address = address
      this.edit(change)
      this.checkNearby()
    },

    onAddress(e) {
      this.edit({ address: e.detail.value })
    },

    // --- category ---
    onToggleCategories() {
      this.setData({ categoryOpen: !this.data.categoryOpen })
    },

    onSearch(e) {
      const keyword = (e.detail.value || '').trim()
      const shown = keyword
        ? this.data.categories.filter((c) => c.label.indexOf(keyword) >= 0 || c.group.indexOf(keyword) >= 0)
        : this.data.categories
      this.setData({ keyword, shownCategories: shown })
    },

    onPickCategory(e) {
      const code = e.currentTarget.dataset.code
      const found = this.data.categories.find((c) => c.code === code)
      if (!found) return
      this.edit({ category: { code: found.code, label: found.label, requires_photo: found.requires_photo } })
      this.setData({ categoryOpen: false })
      this.checkNearby()
    },

    onDescription(e) {
      this.edit({ description: e.detail.value })
    },

    onPublicChange(e) {
      this.edit({ isPublic: !!e.detail.value })
    },

    // --- same problem nearby? ---
    async checkNearby() {
      const draft = drafts.load()
      if (!draft.location) return
      try {
        const res = await api.nearbyTickets({
          lng: draft.location.lng,
          lat: draft.location.lat,
          crs: draft.location.crs,
          category: draft.category ? draft.category.code : undefined,
        })
        this.setData({
          nearby: (res.items || []).map((t) => ({
            id: t.id,
            title: t.category ? t.category.label : '问题',
            statusLabel: t.status_label,
            distance: `${Math.round(t.distance_m)} 米`,
            followers: t.follower_count || 0,
          })),
        })
      } catch (err) {
        this.setData({ nearby: [] }) // a hint only: never block the report
      }
    },

    async onFollow(e) {
      const id = Number(e.currentTarget.dataset.id)
      try {
        await api.followTicket(id)
        ui.toast('已关注，处理进展会通知您')
        wx.showModal({
          title: '已有人反映这个问题',
          content: '您已关注它的处理进展。还要继续上报您自己的吗？',
          confirmText: '不用了',
          cancelText: '继续上报',
          success: (res) => {
            if (res.confirm) this.reset()
          },
        })
      } catch (err) {
        ui.showError(err)
      }
    },

    reset() {
      this.stopRetry()
      drafts.clear()
      this.showDraft(drafts.load())
      this.setData({ nearby: [], done: null, subscribed: false, sending: false })
    },

    // --- submit ---
    // The resident's tap: a fresh round of automatic resends if the network fails again.
    onSubmit() {
      this.retries = 0
      return this.send(false)
    },

    async send(auto) {
      if (this.data.sending) return
      const problem = report.validate(drafts.load())
      if (problem) {
        this.setData({ errorText: problem })
        ui.toast(problem)
        return
      }
      this.stopRetry()
      const progress = {}
      this.setData({ sending: true, errorText: '', waitingRetry: false })
      try {
        const result = await report.submitDraft({
          auto,
          onPhotoProgress: (i, pct) => {
            progress[i] = pct
            this.setData({ [`photos[${i}].progress`]: pct, [`photos[${i}].stateText`]: photos.progressText(pct) })
          },
        })
        this.retries = 0
        const done = result.ticket
          ? { id: result.ticket.id, number: result.ticket.number || `#${result.ticket.id}`, text: `已提交，已派给${result.ticket.unit ? result.ticket.unit.name : '工作人员'}处理` }
          : { id: null, number: '', text: '您之前的提交已经成功，可在“我的上报”查看' }
        this.showDraft(drafts.load())
        this.setData({ sending: false, done, nearby: [] })
      } catch (err) {
        const draft = drafts.load()
        this.showDraft(draft, progress)
        this.setData({ sending: false, errorText: err.message || '提交失败' })
        if (err.retryable && this.scheduleRetry()) {
          this.setData({ waitingRetry: true, errorText: '网络不好，已保存草稿，会自动重新提交' })
        } else if (err.retryable || err.code === 'retry_limit') {
          // Tried as often as we will on our own: the draft waits for the resident's tap.
          this.setData({ waitingRetry: true, errorText: '网络一直不好，草稿已保存，请稍后点“立即重新提交”' })
        } else {
          ui.showError(err)
        }
      }
    },

    // Resends after the next delay (or when the network comes back); false once every delay in
    // config.retryDelaysMs has been used — never a loop without end.
    scheduleRetry() {
      this.stopRetry()
      const delays = config.retryDelaysMs || []
      const n = this.retries || 0
      if (n >= delays.length) return false
      this.retries = n + 1
      this.retryTimer = setTimeout(() => this.send(true), delays[n])
      this.networkListener = (res) => {
        if (res.isConnected) this.send(true)
      }
      wx.onNetworkStatusChange(this.networkListener)
      return true
    },

    stopRetry() {
      if (this.retryTimer) clearTimeout(this.retryTimer)
      this.retryTimer = null
      if (this.networkListener && wx.offNetworkStatusChange) wx.offNetworkStatusChange(this.networkListener)
      this.networkListener = null
    },

    // Asked here, on the resident's tap after a successful report — never on launch.
    onSubscribe() {
      const tmplIds = subscribe.templateIds('ticket_progress')
      if (!tmplIds.length) {
        ui.toast('处理进展会显示在“消息”里')
        return undefined
      }
      return subscribe.ask(tmplIds).then(({ accepted, answered }) => {
        if (answered) this.setData({ subscribed: true })
        ui.toast(accepted.length ? '已开启提醒' : '没有开启提醒，可以在“消息”里查看进展', accepted.length ? 'success' : 'none')
      })
    },

    onViewTicket() {
      if (this.data.done && this.data.done.id) wx.navigateTo({ url: `/pages/ticket/index?id=${this.data.done.id}` })
      else wx.switchTab({ url: '/pages/mine/index' })
    },

    onNewReport() {
      this.reset()
      this.onLocate()
    },
  },
})
