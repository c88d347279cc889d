// 工作台: grid workers and handlers see their task pool (soonest deadline first, coloured), their
// claimed tasks and what waits for their 核查; community staff see the ratings queue
// (unsatisfied and unreplied first), reply, or send a ticket back for rework. Every list reads
// on at the bottom (the API pages with `next`); a task can be navigated to, and 地图 shows them.
const api = require('../../services/api')
const format = require('../../utils/format')
const nav = require('../../utils/nav')
const session = require('../../utils/session')
const ui = require('../../utils/ui')

const WORKER_SEGMENTS = [
  { key: 'pool', label: '任务池' },
  { key: 'mine', label: '我的任务' },
  { key: 'verify', label: '待核查' },
]
const STAFF_SEGMENTS = [{ key: 'ratings', label: '评价处理' }]

function ratingRank(r) {
  const unreplied = !(r.replies && r.replies.length)
  const unsatisfied = r.overall === 'unsatisfied'
  return (unsatisfied ? 0 : 2) + (unreplied ? 0 : 1)
}

const OUTCOME_TEXT = { rework: '已退回重办', declined: '不予重办' }

function ratingRow(r) {
  return {
    id: r.id,
    ticketId: r.ticket_id,
    title: `${format.levelLabel(r.overall)}评价`,
    number: r.ticket_number || `#${r.ticket_id}`,
    result: format.levelLabel(r.result),
    service: format.levelLabel(r.service),
    unsatisfied: r.overall === 'unsatisfied',
    replied: !!(r.replies && r.replies.length),
    outcomeText: OUTCOME_TEXT[r.outcome] || '',
    canDecide: r.overall === 'unsatisfied' && !r.outcome,
    stars: r.stars || 0,
    comment: r.comment || '',
    held: !!r.comment_held,
    time: format.shortTime(r.created_at),
    replies: (r.replies || []).map((x, i) => ({ key: i, body: x.body, author: x.author_label || '工作人员' })),
    rank: ratingRank(r),
    createdAt: r.created_at || '',
  }
}

Component({
  data: {
    pageClass: 'page',
    segments: [],
    segment: '',
    rows: [],
    next: null, // the cursor of the next page, null at the end
    loading: false,
    errorText: '',
    isWorker: false,
    openId: null, // the rating whose reply / rework form is open
    replyText: '',
    reworkReason: '',
    busy: false,
  },

  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
    },

    onShow() {
      const me = session.getMe()
      const isWorker = session.isWorker(me)
      const segments = (isWorker ? WORKER_SEGMENTS : []).concat(session.isCommunityStaff(me) ? STAFF_SEGMENTS : [])
      const keep = segments.some((s) => s.key === this.data.segment)
      this.setData({
        pageClass: ui.pageClass(),
        segments,
        isWorker,
        segment: keep ? this.data.segment : (segments[0] ? segments[0].key : ''),
      })
      ui.selectTab(this, 'pages/work/index')
      return this.reload()
    },

    onPullDownRefresh() {
      this.reload().then(() => wx.stopPullDownRefresh())
    },

    onSegment(e) {
      this.setData({ segment: e.currentTarget.dataset.key, rows: [], next: null, openId: null })
      return this.reload()
    },

    onReachBottom() {
      if (this.data.next && !this.data.loading) return this.load(this.data.next)
      return undefined
    },

    reload() {
      return this.load(null)
    },

    // The first page (cursor null) replaces the list; a later one is added to it.
    async load(cursor) {
      const segment = this.data.segment
      if (!segment) return
      this.setData({ loading: true, errorText: '' })
      try {
        const kept = cursor ? this.data.rows : []
        let rows
        let page
        if (segment === 'ratings') {
          page = await api.ratingsQueue(cursor || undefined)
          rows = kept.concat(page.items.map(ratingRow)).sort((a, b) => a.rank - b.rank || (a.createdAt < b.createdAt ? -1 : 1))
        } else {
          page = await api.listTasks(segment, cursor || undefined)
          const now = Date.now()
          rows = kept.concat(page.items.map((t) => format.ticketRow(t, now))).sort(format.byDeadline)
        }
        if (this.data.segment === segment) this.setData({ rows, next: page.next || null })
      } catch (err) {
        const errorText = err.status === 404 || err.status === 422 ? '这项功能暂未开通' : (err.message || '加载失败，请下拉刷新')
        // a failed next page keeps what is shown; a failed first page shows no stale list
        this.setData(cursor ? { errorText } : { rows: [], next: null, errorText })
      }
      this.setData({ loading: false })
    },

    onOpen(e) {
      wx.navigateTo({ url: `/pages/ticket/index?id=${e.currentTarget.dataset.id}` })
    },

    // A lost race is normal here: someone else claimed it first.
    async onClaim(e) {
      const { id, version } = e.currentTarget.dataset
      if (this.data.busy) return
      this.setData({ busy: true })
      try {
        await api.claimTask(Number(id), Number(version), api.keyFor(this, ['claim', id, version]))
        ui.toast('认领成功，请在“我的任务”中处置', 'success')
      } catch (err) {
        if (err.code === 'already_claimed') ui.toast('已被其他网格员认领')
        else ui.showError(err)
      }
      this.setData({ busy: false })
      await this.reload()
    },

    onAct(e) {
      const { id, mode } = e.currentTarget.dataset
      wx.navigateTo({ url: `/pages/task/index?id=${id}&mode=${mode}` })
    },

    onRelease(e) {
      const { id, version } = e.currentTarget.dataset
      wx.showModal({
        title: '取消认领',
        content: '取消后任务回到任务池，其他网格员可以认领。',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await api.releaseTask(Number(id), Number(version), api.keyFor(this, ['release', id, version]))
            ui.toast('已放回任务池')
          } catch (err) {
            ui.showError(err)
          }
          await this.reload()
        },
      })
    },

    onPatrol() {
      wx.navigateTo({ url: '/pages/patrol/index' })
    },

    // 导航: WeChat's map of the case, with its route planning.
    onNavigate(e) {
      const row = this.data.rows.find((r) => r.id === Number(e.currentTarget.dataset.id))
      if (!nav.openCase(row)) ui.toast('这个案件没有位置')
    },

    // The tasks of this list on a map.
    onMap() {
      wx.navigateTo({ url: `/pages/task-map/index?scope=${this.data.segment}` })
    },

    // --- ratings ---
    onOpenRating(e) {
      const id = Number(e.currentTarget.dataset.id)
      this.setData({ openId: this.data.openId === id ? null : id, replyText: '', reworkReason: '' })
    },

    onReplyInput(e) {
      this.setData({ replyText: e.detail.value })
    },

    onReasonInput(e) {
      this.setData({ reworkReason: e.detail.value })
    },

    onReply() {
      return this.act('replyText', '请填写回复内容', api.replyRating, '已回复')
    },

    onRework() {
      return this.act('reworkReason', '请填写退回重办的原因', api.reworkRating, '已退回重办')
    },

    // Not sent back, with the reason recorded (e.g. the request is outside what can be done).
    onDecline() {
      return this.act('reworkReason', '请填写不予重办的原因', api.declineRating, '已记录不予重办')
    },

    // Sends the open rating's reply or reason (this.data[field], required) with send(id, text),
    // then reloads the queue.
    async act(field, emptyHint, send, done) {
      const text = this.data[field].trim()
      if (!text) {
        ui.toast(emptyHint)
        return
      }
      if (this.data.busy) return
      this.setData({ busy: true })
      try {
        await send(this.data.openId, text)
        ui.toast(done, 'success')
        this.setData({ openId: null, replyText: '', reworkReason: '' })
      } catch (err) {
        ui.showError(err)
      }
      this.setData({ busy: false })
      await this.reload()
    },
  },
})
