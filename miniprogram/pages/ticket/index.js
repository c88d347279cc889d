// A ticket: status, timeline, before/after photos; the reporter rates it when it is closed (and
// may change the rating while it is editable) and reads the staff replies; a grid worker or
// handler jumps to the action they may take, or navigates to the case. When a resident sees a
// status change on a ticket of theirs, "有新进展时提醒我" is offered again: one subscribe consent
// buys one message, so a single consent at report time would carry only the first step.
// The reporter withdraws a report nobody has accepted yet (撤回, with a reason) and adds a note
// and photos to an open one (补充说明): each button shows only when the ticket's
// `allowed_actions` lists it. A photo other people cannot see (being checked, failed the
// content check, hidden by staff) is shown to its owner with the reason (`held_reason`).
const api = require('../../services/api')
const format = require('../../utils/format')
const nav = require('../../utils/nav')
const photos = require('../../utils/photos')
const session = require('../../utils/session')
const subscribe = require('../../utils/subscribe')
const ui = require('../../utils/ui')

const STAGE_TITLE = { report: '上报照片', handling: '处置后照片', verification: '核查照片', rating: '评价照片' }
const WORK_ACTIONS = [
  { action: 'claim', label: '认领', mode: '' },
  { action: 'handle', label: '处置完成', mode: 'handle' },
  { action: 'return', label: '退回', mode: 'return' },
  { action: 'request_extension', label: '申请延期', mode: 'extension' },
  { action: 'verify_pass', label: '核查', mode: 'verify' },
]

// My photos other people do not see, each with why (the server sends held_reason to the owner).
function heldPhotos(media) {
  return (media || []).filter((m) => m.held_reason).map((m) => ({
    id: m.id, reason: m.held_reason, url: m.thumb_url || m.url || '',
  }))
}

function photosByStage(media) {
  const groups = {}
  ;(media || []).forEach((m) => {
    const url = m.thumb_url || m.url
    if (!url || m.held_reason) return
    if (!groups[m.stage]) groups[m.stage] = { stage: m.stage, title: STAGE_TITLE[m.stage] || '照片', urls: [], full: [] }
    groups[m.stage].urls.push(url)
    groups[m.stage].full.push(m.url || url)
  })
  return Object.keys(groups).map((k) => groups[k])
}

// Statuses after which no further progress message can come.
const FINAL = ['closed', 'rejected', 'merged', 'voided']  // a forwarded case still gets the outside body's answer

function ratingView(r, now) {
  if (!r) return null
  const until = r.editable_until ? new Date(r.editable_until).getTime() : 0
  return {
    id: r.id,
    raw: { result: r.result, service: r.service, stars: r.stars || 0, comment: r.comment || '' },
    // the server refuses a change after its window or once staff acted on it (an outcome)
    editable: !!r.is_mine && !r.outcome && until > (now || Date.now()),
    editableText: until ? `${format.shortTime(r.editable_until)} 前可以修改` : '',
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
    editing: false, // changing my rating (PATCH) rather than rating for the first time
    canNavigate: false,
    remindShown: false,
    levels: format.LEVELS,
    form: { result: '', service: '', stars: 0, comment: '' },
    ratePhotos: [],
    starList: [1, 2, 3, 4, 5],
    sending: false,
    errorText: '',
    heldPhotos: [],
    canWithdraw: false,
    canAddInfo: false,
    panel: '', // 'withdraw' | 'info': the reporter's form that is open
    withdrawReason: '',
    infoNote: '',
    infoPhotos: [],
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
          heldPhotos: heldPhotos(t.media),
          canWithdraw: (t.allowed_actions || []).indexOf('withdraw') >= 0,
          canAddInfo: (t.allowed_actions || []).indexOf('add_info') >= 0,
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
          canNavigate: session.isWorker() && nav.hasPoint(row),
          errorText: '',
        })
        this.row = row
        this.version = t.version
        this.isMine = t.is_mine
        this.status = t.status
        this.noteSeen(t)
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
        editing: false,
      })
    },

    // --- "提醒我" again after a status change the resident saw ---
    noteSeen(t) {
      const before = session.seenStatus(t.id)
      session.setSeenStatus(t.id, t.status)
      const changed = !!before && before !== t.status
      if (t.is_mine && changed && FINAL.indexOf(t.status) < 0) this.offerRemind()
      else if (this.data.remindShown && FINAL.indexOf(t.status) >= 0) this.setData({ remindShown: false })
    },

    offerRemind() {
      if (subscribe.templateIds('ticket_progress').length) this.setData({ remindShown: true })
    },

    // Asked on this tap only; a refusal gets no further word.
    onRemind() {
      return subscribe.ask(subscribe.templateIds('ticket_progress')).then(({ accepted, answered }) => {
        if (!answered) return
        this.setData({ remindShown: false })
        if (accepted.length) ui.toast('下一步有进展时会通知您', 'success')
      })
    },

    onNavigate() {
      if (!nav.openCase(this.row)) ui.toast('这个案件没有位置')
    },

    onPreview(e) {
      const group = this.data.photoGroups[Number(e.currentTarget.dataset.group)]
      wx.previewImage({ urls: group.full, current: group.full[Number(e.currentTarget.dataset.index)] })
    },

    async onFollow() {
      try {
        await api.followTicket(this.data.id)
        ui.toast('已关注，处理进展会通知您')
        this.offerRemind()
        this.load()
      } catch (err) {
        ui.showError(err)
      }
    },

    async onWork(e) {
      const { action, mode } = e.currentTarget.dataset
      if (action === 'claim') {
        try {
          await api.claimTask(this.data.id, this.version, api.keyFor(this, ['claim', this.data.id, this.version]))
          ui.toast('认领成功', 'success')
        } catch (err) {
          ui.toast(err.code === 'already_claimed' ? '已被其他网格员认领' : (err.message || '认领失败'))
        }
        this.load()
        return
      }
      wx.navigateTo({ url: `/pages/task/index?id=${this.data.id}&mode=${mode}` })
    },

    // --- the reporter's own moves: 撤回 and 补充说明 ---
    onOpenPanel(e) {
      const panel = e.currentTarget.dataset.panel
      this.setData({ panel: this.data.panel === panel ? '' : panel })
    },

    onWithdrawReason(e) {
      this.setData({ withdrawReason: e.detail.value })
    },

    onInfoNote(e) {
      this.setData({ infoNote: e.detail.value })
    },

    onAddInfoPhotos(e) {
      photos.addPhotos(this, 'infoPhotos', e.detail.paths)
    },

    onRemoveInfoPhoto(e) {
      photos.removePhoto(this, 'infoPhotos', e.detail.index)
    },

    async onWithdraw() {
      if (this.data.sending) return
      const reason = this.data.withdrawReason.trim()
      const confirmed = await new Promise((resolve) => wx.showModal({
        title: '撤回上报', content: '撤回后这件事不再办理，确定撤回吗？', confirmText: '撤回',
        success: (r) => resolve(!!r.confirm), fail: () => resolve(false),
      }))
      if (!confirmed) return
      this.setData({ sending: true })
      try {
        // One key per intent: a retry after a lost answer withdraws once.
        const key = api.keyFor(this, ['withdraw', this.data.id, this.version, reason])
        await api.withdrawTicket(this.data.id, { reason, version: this.version }, key)
        ui.toast('已撤回', 'success')
        this.setData({ panel: '', withdrawReason: '' })
        await this.load()
      } catch (err) {
        ui.showError(err)
        if (err.status === 409) await this.load() // accepted meanwhile: the button goes away
      }
      this.setData({ sending: false })
    },

    async onSubmitInfo() {
      if (this.data.sending) return
      const note = this.data.infoNote.trim()
      if (!note && !this.data.infoPhotos.length) {
        ui.toast('请填写补充说明或添加照片')
        return
      }
      this.setData({ sending: true })
      try {
        const mediaIds = await photos.uploadPhotos(this, 'infoPhotos', 'report')
        const body = { note, media_ids: mediaIds, version: this.version }
        const key = api.keyFor(this, ['add_info', this.data.id, note, mediaIds])
        await api.addTicketInfo(this.data.id, body, key)
        ui.toast('已补充', 'success')
        this.setData({ panel: '', infoNote: '', infoPhotos: [] })
        await this.load()
      } catch (err) {
        ui.showError(err)
        if (err.status === 409) await this.load()
      }
      this.setData({ sending: false })
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

    // 修改评价: the form again, filled with what was said.
    onEditRating() {
      const r = this.data.rating
      if (!r || !r.editable) return
      this.setData({ editing: true, form: Object.assign({}, r.raw) })
    },

    onCancelEdit() {
      this.setData({ editing: false, form: { result: '', service: '', stars: 0, comment: '' } })
    },

    async onSubmitRating() {
      const form = this.data.form
      if (!form.result || !form.service) {
        ui.toast('请选择“问题解决了吗”和“服务态度”')
        return
      }
      if (this.data.sending) return
      this.setData({ sending: true })
      if (this.data.editing) {
        await this.saveRatingChange(form)
        this.setData({ sending: false })
        return
      }
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

    // PATCH /ratings/{id} with what changed; past the window the server says so (409).
    async saveRatingChange(form) {
      const before = this.data.rating.raw
      const changes = {}
      ;['result', 'service'].forEach((k) => { if (form[k] !== before[k]) changes[k] = form[k] })
      if (form.stars && form.stars !== before.stars) changes.stars = form.stars
      if (form.comment.trim() !== before.comment) changes.comment = form.comment.trim()
      if (!Object.keys(changes).length) {
        this.setData({ editing: false })
        return
      }
      try {
        await api.updateRating(this.data.rating.id, changes)
        ui.toast('评价已修改', 'success')
        await this.loadRating()
      } catch (err) {
        ui.showError(err)
        if (err.status === 409) await this.loadRating()
      }
    },
  },
})
