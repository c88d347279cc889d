// 巡查上报 and 自行处置 in one flow: a grid worker reports what they found in their own cells;
// if they fixed it on the spot they add what they did and an after-photo, and it is closed at once.
// Categories come from the staff tree, so staff-only 小类 (0102 污水井盖) can be chosen.
const api = require('../../services/api')
const format = require('../../utils/format')
const photos = require('../../utils/photos')
const ui = require('../../utils/ui')

Component({
  data: {
    pageClass: 'page',
    categories: [], // the 小类 the picker shows (all, or those matching the search)
    categoryIndex: -1,
    keyword: '',
    hasLocation: false,
    latitude: 35.41,
    longitude: 116.59,
    address: '',
    description: '',
    photos: [],
    handledNow: false,
    note: '',
    afterPhotos: [],
    sending: false,
    errorText: '',
  },

  methods: {
    onLoad() {
      this.setData({ pageClass: ui.pageClass() })
      this.key = api.newIdempotencyKey()
      this.loadCategories()
      this.onLocate()
    },

    async loadCategories() {
      try {
        const res = await api.listCategories('staff')
        this.allCategories = format.staffCategoryRows(res.items).map((c) => Object.assign(c, {
          label: `${c.code} ${c.label}（${c.group}）`,
        }))
        this.setData({ categories: this.allCategories })
      } catch (err) {
        this.setData({ errorText: '问题类型加载失败' })
      }
    },

    onLocate() {
      wx.getLocation({
        type: 'gcj02',
        isHighAccuracy: true,
        success: (res) => this.setData({ hasLocation: true, latitude: res.latitude, longitude: res.longitude }),
        fail: () => ui.toast('没有拿到位置，请在地图上选'),
      })
    },

    onChooseLocation() {
      wx.chooseLocation({
        success: (res) => this.setData({
          hasLocation: true, latitude: res.latitude, longitude: res.longitude, address: [res.address, res.name].filter(Boolean).join(' '),
        }),
      })
    },

    onCategory(e) {
      this.setData({ categoryIndex: Number(e.detail.value) })
    },
    // The staff tree is long: a code or a word narrows the picker.
    onSearch(e) {
      const keyword = (e.detail.value || '').trim()
      const chosen = this.chosenCategory()
      const shown = (this.allCategories || []).filter((c) => !keyword || c.label.indexOf(keyword) >= 0)
      this.setData({ keyword, categories: shown, categoryIndex: chosen ? shown.findIndex((c) => c.code === chosen.code) : -1 })
    },
    chosenCategory() {
      return this.data.categoryIndex >= 0 ? this.data.categories[this.data.categoryIndex] : null
    },
    onAddress(e) {
      this.setData({ address: e.detail.value })
    },
    onDescription(e) {
      this.setData({ description: e.detail.value })
    },
    onHandledNow(e) {
      this.setData({ handledNow: !!e.detail.value })
    },
    onNote(e) {
      this.setData({ note: e.detail.value })
    },
    onAddPhotos(e) {
      photos.addPhotos(this, 'photos', e.detail.paths)
    },
    onRemovePhoto(e) {
      photos.removePhoto(this, 'photos', e.detail.index)
    },
    onAddAfter(e) {
      photos.addPhotos(this, 'afterPhotos', e.detail.paths)
    },
    onRemoveAfter(e) {
      photos.removePhoto(this, 'afterPhotos', e.detail.index)
    },

    problem() {
      const category = this.chosenCategory()
      if (!category) return '请选择问题类型'
      if (!this.data.hasLocation) return '请确定位置'
      if (!this.data.description.trim()) return '请描述问题'
      if (category.requires_photo && !this.data.photos.length) return '这类问题需要拍一张现场照片'
      if (this.data.handledNow && !this.data.note.trim()) return '请写一下当场是怎么处置的'
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
      try {
        const body = {
          category_code: this.chosenCategory().code,
          description: this.data.description.trim(),
          location: { lng: this.data.longitude, lat: this.data.latitude, crs: 'gcj02' },
          address: this.data.address,
          media_ids: await photos.uploadPhotos(this, 'photos', 'report'),
        }
        let ticket
        if (this.data.handledNow) {
          body.note = this.data.note.trim()
          body.after_media_ids = await photos.uploadPhotos(this, 'afterPhotos', 'handling')
          ticket = await api.selfDispose(body, api.keyFor(this, ['selfDispose', body])) // same key on a retry
          ui.toast('已自行处置并结案', 'success')
        } else {
          ticket = await api.patrolReport(body, this.key) // same key on every retry of this report
          ui.toast('已上报并派单', 'success')
        }
        this.setData({ sending: false })
        wx.redirectTo({ url: `/pages/ticket/index?id=${ticket.id}` })
      } catch (err) {
        this.setData({ sending: false, errorText: err.retryable ? '网络不好，请稍后再点提交（不会重复上报）' : (err.message || '提交失败') })
        ui.showError(err)
      }
    },
  },
})
