// Up to `max` photos: take or choose (compressed), show each one's upload progress, remove.
// The parent keeps the list and does the uploading; this component only picks and shows.
Component({
  properties: {
    photos: { type: Array, value: [] }, // [{path, progress, stateText}]
    max: { type: Number, value: 6 },
    disabled: { type: Boolean, value: false },
  },
  data: {
    canAdd: true,
  },
  observers: {
    'photos, max, disabled': function update(photos, max, disabled) {
      this.setData({ canAdd: !disabled && photos.length < max })
    },
  },
  methods: {
    onAdd() {
      const room = this.data.max - this.data.photos.length
      if (room <= 0 || this.data.disabled) return
      wx.chooseMedia({
        count: room,
        mediaType: ['image'],
        sizeType: ['compressed'],
        sourceType: ['camera', 'album'],
        success: (res) => {
          const paths = (res.tempFiles || []).map((f) => f.tempFilePath).slice(0, room)
          if (paths.length) this.triggerEvent('add', { paths })
        },
      })
    },
    onRemove(e) {
      if (this.data.disabled) return
      this.triggerEvent('remove', { index: Number(e.currentTarget.dataset.index) })
    },
    onPreview(e) {
      const urls = this.data.photos.map((p) => p.path)
      wx.previewImage({ urls, current: urls[Number(e.currentTarget.dataset.index)] })
    },
  },
})
