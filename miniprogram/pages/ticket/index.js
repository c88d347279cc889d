// A ticket: status, timeline, before/after photos; the reporter rates it when it is closed and
// reads the staff replies; a grid worker or handler jumps to the action they may take.
const api = require('../../services/api')
const format = require('../../utils/format')
const photos = require('../../utils/photos')
const ui = require('../../utils/ui')

const STAGE_TITLE = { report: '上报照片', handling: '处置后照片', verification: '核查照片', rating: '评价照片' }
const WORK_ACTIONS = [
  { action: 'claim', label: '认领', mode: '' },
  { action: 'handle', label: '处置完成', mode: 'handle' },
  { action: 'return', label: '退回', mode: 'return' },
  { action: 'request_extension', label: '申请延期', mode: 'extension' },
  { action: 'verify_pass', label: '核查', mode: 'verify' },
]

function photosByStage(media) {
  const groups = {}
  ;(media || []).forEach((m) => {
    const url = m.thumb_url || m.url
    if (!url) return
    if (!groups[m.stage]) groups[m.stage] = { stage: m.stage, title: STAGE_TITLE[m.stage] || '照片', urls: [], full: [] }
    groups[m.stage].urls.push(url)
    groups[m.stage].full.push(m.url || url)
  })
  return Object.keys(groups).map((k) => groups[k])
}

function ratingView(r) {
  if (!r) return null
  return {
    id: r.id,
    result: format.levelLabel(r.result),
    service: format.levelLabel(r.service),
    stars: r.stars || 0,
    comment: r.comment || '',
    held: !!r.comment_held,
    replies: (r.replies || []).map((x, i) => ({
      key: i,
      author: x.author_label || '工作人员',
      body: x.body,
      time: format.shortTime(x.created_at),
    })),
  }
}

Component({
  data: {
    pageClass: 'page',
    id: 0,
    ticket: null,
    photoGroups: [],
    timeline: [],
    actions: [],
    canFollow: false,
    rating: null,
    canRate: false,
    levels: format.LEVELS,
    form: { result: '', service: '', stars: 0, comment: '' },
    ratePhotos: [],
    starList: [1, 2, 3, 4, 5],
    sending: false,
    errorText: '',
  },

  methods: {
    onLoad(query) {
      this.setData({ pageClass: ui.pageClass(), id: Number(query.id) })
      this.load()
    },

    onPullDownRefresh() {
      this.load().then(() => wx.stopPullDownRefresh())
    },

    async load() {
      try {
        const t = await api.getTicket(this.data.id)
        const row = format.ticketRow(t)
        this.setData({
          ticket: Object.assign(row, {
            assignee: t.assignee_label || '',
            cellName: t.cell ? t.cell.name : '',
            isPublic: t.is_public,
          }),
          photoGroups: photosByStage(t.media),
          timeline: (t.timeline || []).map((e, i) => ({
            key: i,
            label: e.action_label,
            actor: e.actor_label,
            time: format.shortTime(e.created_at),
            note: e.note,
            photos: (e.media || []).map((m) => m.thumb_url || m.url).filter(Boolean),
          })).reverse(),
          actions: WORK_ACTIONS.filter((a) => (t.allowed_actions || []).indexOf(a.action) >= 0),
          canFollow: !t.is_mine && row.group === 'open',
          errorText: '',
        })
        this.version = t.version
        this.isMine = t.is_mine
        this.status = t.status
        await this.loadRating()
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败' })
      }
    },

    async loadRating() {
      let rating = null
      this.ratingUnknown = false
      if (this.isMine) {
        try {
          const page = await api.ticketRatings(this.data.id)
          rating = (page.items || []).find((r) => r.is_mine) || null
        } catch (err) {
          rating = null // offline: the rating form stays hidden rather than offering a second one
          this.ratingUnknown = true
        }
      }
      this.setData({
        rating: ratingView(rating),
        canRate: this.isMine && this.status === 'closed' && !rating && !this.ratingUnknown,
      })
    },

    onPreview(e) {
      const group = this.data.photoGroups[Number(e.currentTarget.dataset.group)]
      wx.previewImage({ urls: group.full, current: group.full[Number(e.currentTarget.dataset.index)] })
    },

    async onFollow() {
      try {
        await api.followTicket(this.data.id)
        ui.toast('已关注，处理进展会通知您')
        this.load()
      } catch (err) {
        ui.showError(err)
      }
    },

    async onWork(e) {
      const { action, mode } = e.currentTarget.dataset
      if (action === 'claim') {
        try {
          await api.claimTask(this.data.id, this.version)
          ui.toast('认领成功', 'success')
        } catch (err) {
          ui.toast(err.code === 'already_claimed' ? '已被其他网格员认领' : (err.message || '认领失败'))
        }
        this.load()
        return
      }
      wx.navigateTo({ url: `/pages/task/index?id=${this.data.id}&mode=${mode}` })
    },

    // --- rating ---
    onLevel(e) {
      const { field, value } = e.currentTarget.dataset
      this.setData({ [`form.${field}`]: value })
    },

    onStar(e) {
      this.setData({ 'form.stars': Number(e.currentTarget.dataset.value) })
    },

    onComment(e) {
      this.setData({ 'form.comment': e.detail.value })
    },

    onAddRatePhotos(e) {
      photos.addPhotos(this, 'ratePhotos', e.detail.paths)
    },

    onRemoveRatePhoto(e) {
      photos.removePhoto(this, 'ratePhotos', e.detail.index)
    },

    async onSubmitRating() {
      const form = this.data.form
      if (!form.result || !form.service) {
        ui.toast('请选择“问题解决了吗”和“服务态度”')
        return
      }
      if (this.data.sending) return
      this.setData({ sending: true })
      try {
        const mediaIds = await photos.uploadPhotos(this, 'ratePhotos', 'rating')
        const body = { result: form.result, service: form.service, comment: form.comment.trim() }
        if (form.stars) body.stars = form.stars
        if (mediaIds.length) body.media_ids = mediaIds
        await api.rateTicket(this.data.id, body)
        ui.toast('感谢您的评价', 'success')
        await this.load()
      } catch (err) {
        ui.showError(err)
      }
      this.setData({ sending: false })
    },
  },
})
