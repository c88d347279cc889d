// One action on a task: 处置 (note + after-photos), 退回 (reason), 延期 (reason + how long),
// 核查 (pass or fail, note, photos). The version we saw goes along, so a stale screen gets a
// clear "refresh" instead of overwriting someone else's change.
const api = require('../../services/api')
const format = require('../../utils/format')
const photos = require('../../utils/photos')
const ui = require('../../utils/ui')

const MODES = {
  handle: { title: '处置完成', purpose: 'handling', photos: true },
  return: { title: '退回（不属于我们处理）', purpose: '', photos: false },
  extension: { title: '申请延期', purpose: '', photos: false },
  verify: { title: '现场核查', purpose: 'verification', photos: true },
}
const UNITS = [
  { value: 'work_days', label: '个工作日' },
  { value: 'work_hours', label: '个工作小时' },
  { value: 'natural_days', label: '天（自然日）' },
  { value: 'natural_hours', label: '小时（自然时）' },
]

Component({
  data: {
    pageClass: 'page',
    id: 0,
    mode: 'handle',
    modeTitle: '',
    withPhotos: false,
    ticket: null,
    text: '',
    photos: [],
    passed: true,
    extraValue: '1',
    units: UNITS,
    unitIndex: 0,
    sending: false,
    errorText: '',
  },

  methods: {
    onLoad(query) {
      const mode = MODES[query.mode] ? query.mode : 'handle'
      this.setData({
        pageClass: ui.pageClass(),
        id: Number(query.id),
        mode,
        modeTitle: MODES[mode].title,
        withPhotos: MODES[mode].photos,
      })
      wx.setNavigationBarTitle({ title: MODES[mode].title })
      return this.load()
    },

    async load() {
      try {
        const t = await api.getTicket(this.data.id)
        this.version = t.version
        this.setData({ ticket: format.ticketRow(t), errorText: '' })
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败' })
      }
    },

    onText(e) {
      this.setData({ text: e.detail.value })
    },

    onPassed(e) {
      this.setData({ passed: e.currentTarget.dataset.value === 'yes' })
    },

    onExtraValue(e) {
      this.setData({ extraValue: e.detail.value })
    },

    onUnit(e) {
      this.setData({ unitIndex: Number(e.detail.value) })
    },

    onAddPhotos(e) {
      photos.addPhotos(this, 'photos', e.detail.paths)
    },

    onRemovePhoto(e) {
      photos.removePhoto(this, 'photos', e.detail.index)
    },

    problem() {
      const text = this.data.text.trim()
      const mode = this.data.mode
      if (mode === 'handle' && !text) return '请写一下怎么处理的'
      if (mode === 'handle' && !this.data.photos.length) return '请拍一张处置后的照片'
      if ((mode === 'return' || mode === 'extension') && !text) return '请填写原因'
      if (mode === 'extension') {
        const n = Number(this.data.extraValue)
        if (!Number.isInteger(n) || n < 1 || n > 1000) return '延期时长请填 1 到 1000 的整数'
      }
      if (mode === 'verify' && !this.data.passed && !text) return '核查不通过时请写明原因'
      return ''
    },

    async onSubmit() {
      const problem = this.problem()
      if (problem) {
        this.setData({ errorText: problem })
        ui.toast(problem)
        return
      }
      if (this.data.sending) return
      this.setData({ sending: true, errorText: '' })
      const id = this.data.id
      const text = this.data.text.trim()
      const version = this.version
      try {
        const mode = this.data.mode
        if (mode === 'handle') {
          const media = await photos.uploadPhotos(this, 'photos', 'handling')
          const body = { note: text, media_ids: media, version }
          await api.handleTask(id, body, api.keyFor(this, ['handle', id, body]))
          ui.toast('已提交，等待核查', 'success')
        } else if (mode === 'return') {
          await api.returnTask(id, text, version, api.keyFor(this, ['return', id, text, version]))
          ui.toast('已退回派遣中心', 'success')
        } else if (mode === 'extension') {
          const body = {
            reason: text, extra_value: Number(this.data.extraValue), extra_unit: UNITS[this.data.unitIndex].value, version,
          }
          await api.requestExtension(id, body, api.keyFor(this, ['extension', id, body]))
          ui.toast('延期申请已提交，等待批准', 'success')
        } else {
          const media = await photos.uploadPhotos(this, 'photos', 'verification')
          const body = { passed: this.data.passed, note: text, media_ids: media, version }
          await api.verifyTicket(id, body, api.keyFor(this, ['verify', id, body]))
          ui.toast(this.data.passed ? '核查通过，已结案' : '已退回返工', 'success')
        }
        this.setData({ sending: false })
        wx.navigateBack({ delta: 1 })
      } catch (err) {
        if (err.code === 'stale_version') await this.load()
        this.setData({ sending: false, errorText: err.message || '提交失败' })
        ui.showError(err)
      }
    },
  },
})
