const { load, flush, tap, text } = require('./support/page')
const session = require('../utils/session')
const { me } = require('./support/fixtures')

describe('photo-picker', () => {
  test('chooses compressed photos, at most what is left of the limit', async () => {
    const picker = load('components/photo-picker/index', { photos: [{ path: 'a' }, { path: 'b' }, { path: 'c' }, { path: 'd' }, { path: 'e' }], max: 6 })
    const added = jest.fn()
    picker.addEventListener('add', (e) => added(e.detail))
    await tap(picker, '.add')
    expect(wx.chooseMedia).toHaveBeenCalledWith(expect.objectContaining({ count: 1, sizeType: ['compressed'], mediaType: ['image'] }))
    expect(added).toHaveBeenCalledWith({ paths: ['wxfile://tmp/photo1.jpg'] })
  })

  test('hides "add" when full, shows per-photo progress, removes', async () => {
    const photos = [1, 2, 3, 4, 5, 6].map((i) => ({ path: `p${i}`, progress: i === 2 ? 40 : 0, stateText: i === 2 ? '上传中 40%' : '' }))
    const picker = load('components/photo-picker/index', { photos, max: 6 })
    await flush()
    expect(picker.querySelector('.add')).toBeFalsy()
    expect(text(picker)).toContain('上传中 40%')
    const removed = jest.fn()
    picker.addEventListener('remove', (e) => removed(e.detail))
    await tap(picker, '.remove', 3)
    expect(removed).toHaveBeenCalledWith({ index: 3 })
  })
})

describe('custom tab bar', () => {
  test('residents get four tabs; staff also get 工作台; 消息 carries the unread badge', async () => {
    session.saveMe(me([]))
    wx.setStorageSync('gz.unread', 3)
    let bar = load('custom-tab-bar/index')
    await flush()
    expect(bar.data.tabs.map((t) => t.text)).toEqual(['随手拍', '我的上报', '消息', '我的'])
    expect(text(bar)).toContain('3')
    session.saveMe(me(['grid_worker']))
    bar = load('custom-tab-bar/index')
    await flush()
    expect(bar.data.tabs.map((t) => t.text)).toEqual(['随手拍', '我的上报', '工作台', '消息', '我的'])
    await tap(bar, '.tab', 2)
    expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/work/index' }))
  })
})
