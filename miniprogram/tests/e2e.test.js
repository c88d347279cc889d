/**
 * @jest-environment node
 */
// End to end: services/api.js (and the report draft flow) with wx.request / wx.uploadFile bridged
// to real HTTP, against a backend started on 127.0.0.1 with the demo district
// (scripts/test-miniprogram sets E2E_BASE_URL and E2E_VAR_DIR). The story: a resident reports with
// a photo, it is auto-routed to the grid team, the grid worker claims and handles it, it is
// verified and closed, the resident rates it unsatisfied, community staff reply and send it back
// for rework. Steps whose endpoints the backend does not have yet are todo, never passed.
const fs = require('fs')
const path = require('path')

const api = require('../services/api')
const report = require('../services/report')
const drafts = require('../utils/draft')
const coords = require('../utils/coords')
const config = require('../config')
const { bridgeWx } = require('./support/bridge')
const { photoFile } = require('./support/png')
const { loadDocument, operations, find } = require('./support/openapi')

const BASE = process.env.E2E_BASE_URL
const VAR_DIR = process.env.E2E_VAR_DIR
// 楼道堆物: auto-accepted, and no district rule for 社区生活 (20), so it goes to the cell's grid team.
const CATEGORY = '2004'

const { doc } = loadDocument()
const ops = doc ? operations(doc) : new Map()
const has = (name) => !!find(ops, api.ENDPOINTS[name].method, api.ENDPOINTS[name].path)
const ratingsReady = ['rateTicket', 'ratingsQueue', 'replyRating', 'reworkRating'].every(has)
const ratingReadable = ratingsReady && has('ticketRatings')
const step = (ready) => (ready ? test : (name) => test.todo(`PENDING (rating endpoints not in the backend yet): ${name}`))

function demoPassword(username) {
  const file = path.join(VAR_DIR, 'demo-accounts.txt')
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.split('\t')[0] === username)
  if (!line) throw new Error(`no ${username} in ${file}`)
  return line.split('\t')[1]
}

const people = {}
function as(name) {
  if (!people[name]) people[name] = bridgeWx()
  global.wx = people[name]
  return people[name]
}

const story = {}

beforeAll(() => {
  if (!BASE || !VAR_DIR) {
    throw new Error('E2E_BASE_URL / E2E_VAR_DIR are not set: run scripts/test-miniprogram, which starts the backend with the demo district')
  }
})

beforeEach(() => {
  config.baseUrl = BASE
})

test('people log in: a resident (dev login) and the demo grid worker (password)', async () => {
  as('worker')
  await api.loginStaff('grid_worker', demoPassword('grid_worker'))
  const worker = await api.getMe()
  story.cells = worker.roles.filter((g) => g.role === 'grid_worker').map((g) => g.area.code)
  expect(story.cells.length).toBeGreaterThan(0)

  as('resident')
  await api.loginDev(`e2e${Date.now()}`, '张阿姨')
  const cell = await api.getArea(story.cells[0])
  const me = await api.updateMe({ home_area_code: cell.parent_code })
  expect(me.home_area.code).toBe(cell.parent_code)
  // A point inside the worker's first cell, as WeChat's map would give it (GCJ-02).
  const centre = coords.ringCentre(coords.outerRings(cell.geometry)[0])
  story.point = coords.wgs84ToGcj02(centre.lng, centre.lat)
  const located = await api.locate({ lng: story.point.lng, lat: story.point.lat, crs: 'gcj02' })
  expect(located.cell.code).toBe(story.cells[0])
})

test('my grid (网格信息): the resident sees the grid workers of the cell and the community office', async () => {
  as('worker')
  const worker = await api.getMe()
  as('resident')
  const info = await api.listCellWorkers(story.cells[0])
  // the field pages/grid reads — `grid_workers`, as the contract test checks against the schema
  expect(info.grid_workers.map((w) => w.display_name)).toContain(worker.display_name)
  expect(info.cell.code).toBe(story.cells[0])
  expect(info.community.kind).toBe('community')
})

test('a grid worker\'s patrol categories are the staff tree, staff-only 0102 污水井盖 included', async () => {
  as('worker')
  const tree = await api.listCategories('staff')
  expect(tree.audience).toBe('staff')
  const codes = tree.items.flatMap((g) => g.children).map((c) => c.code)
  expect(codes).toContain('0102')
  as('resident')
  const mine = await api.listCategories()
  expect(mine.items.flatMap((g) => g.children).map((c) => c.code)).not.toContain('0102')
  expect(await api.listCategories('staff').catch((e) => e)).toMatchObject({ status: 403 })
})

test('the resident reports with a photo; the lost answer is retried with the same key and files one ticket', async () => {
  const wx = as('resident')
  const categories = await api.listCategories()
  const leaf = categories.items.flatMap((g) => g.children).find((c) => c.code === CATEGORY)
  expect(leaf).toBeTruthy()
  const nearby = await api.nearbyTickets({ lng: story.point.lng, lat: story.point.lat, crs: 'gcj02', category: CATEGORY })
  expect(Array.isArray(nearby.items)).toBe(true)

  story.description = `楼道里堆满纸箱，挡住了消防通道（端到端 ${Date.now()}）`
  drafts.save(Object.assign(drafts.emptyDraft(), {
    photos: [{ path: photoFile('before'), mediaId: null }],
    location: { lng: story.point.lng, lat: story.point.lat, crs: 'gcj02' },
    address: '3 号楼 2 单元',
    category: { code: leaf.code, label: leaf.label, requires_photo: leaf.requires_photo },
    description: story.description,
  }))
  const progress = []
  wx.dropNextAnswer('POST', '/api/v1/tickets')
  const lost = await report.submitDraft({ onPhotoProgress: (i, p) => progress.push(p) }).catch((e) => e)
  expect(lost).toMatchObject({ code: 'timeout', retryable: true })
  expect(progress).toContain(100)
  const kept = drafts.load()
  expect(kept.status).toBe('waiting_retry')
  expect(kept.photos[0].mediaId).toBeTruthy()

  const { ticket } = await report.submitDraft({})
  const posts = wx.sent.filter((r) => r.method === 'POST' && r.path === '/api/v1/tickets')
  expect(posts).toHaveLength(2)
  expect(posts[1].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key'])
  expect(wx.sent.filter((r) => r.path === '/api/v1/media/uploads')).toHaveLength(1)

  const mine = await api.myTickets()
  expect(mine.items.filter((t) => t.description === story.description)).toHaveLength(1)
  // auto-accepted and routed at once, to the grid team of the cell
  expect(ticket.status).toBe('dispatched')
  expect(ticket.cell.code).toBe(story.cells[0])
  expect(ticket.unit.name).toMatch(/网格工作站$/)
  expect(ticket.media.map((m) => m.stage)).toEqual(['report'])
  story.ticket = ticket
})

test('a neighbour at the same spot is offered it as "same problem?" and follows it ("me too")', async () => {
  as('neighbour')
  await api.loginDev(`e2en${Date.now()}`)
  const nearby = await api.nearbyTickets({ lng: story.point.lng, lat: story.point.lat, crs: 'gcj02', category: CATEGORY })
  const same = nearby.items.find((t) => t.id === story.ticket.id)
  expect(same).toBeTruthy()
  expect(same.distance_m).toBeLessThan(5)
  const followed = await api.followTicket(story.ticket.id)
  expect(followed.follower_count).toBeGreaterThanOrEqual(1)
  const mine = await api.myTickets()
  expect(mine.items.map((t) => t.id)).toContain(story.ticket.id)
})

test('the grid worker finds it in the pool and claims it; a retried claim answers as the first (issue 16)', async () => {
  as('worker')
  const pool = await api.listTasks('pool')
  const task = pool.items.find((t) => t.id === story.ticket.id)
  expect(task).toBeTruthy()
  expect(task.allowed_actions).toContain('claim')
  expect(['green', 'yellow', 'red']).toContain(task.deadline_colour)
  const claimed = await api.claimTask(task.id, task.version)
  expect(claimed.status).toBe('claimed')
  // The answer was lost: the same worker claims again, with or without the version seen.
  const again = await api.claimTask(task.id)
  expect(again).toMatchObject({ status: 'claimed', version: claimed.version })
  const retried = await api.claimTask(task.id, task.version)
  expect(retried).toMatchObject({ status: 'claimed', version: claimed.version })
  const mine = await api.listTasks('mine')
  expect(mine.items.map((t) => t.id)).toContain(task.id)
  story.version = claimed.version
})

test('the grid worker handles it with an after-photo and a note; verification follows', async () => {
  as('worker')
  const progress = []
  const media = await api.uploadPhoto(photoFile('after', [30, 160, 60]), 'handling', (p) => progress.push(p))
  expect(media.status).toBe('ready')
  expect(progress).toContain(100)
  const handled = await api.handleTask(story.ticket.id, { note: '已清理楼道杂物', media_ids: [media.id], version: story.version })
  expect(handled.status).toBe('verifying')
  story.version = handled.version
})

test('it is verified on site with a photo and closed, by another grid worker of the cell', async () => {
  // Whoever handled it may not check it (issue 15): the cell's second grid worker does the 核查.
  as('worker')
  const own = await api.verifyTicket(story.ticket.id, { passed: true, version: story.version }).catch((e) => e)
  expect(own).toMatchObject({ status: 403, code: 'own_handling' })
  as('checker')
  await api.loginStaff('grid_worker2', demoPassword('grid_worker2'))
  const media = await api.uploadPhoto(photoFile('check', [90, 90, 200]), 'verification')
  const closed = await api.verifyTicket(story.ticket.id, { passed: true, note: '现场已清理干净', media_ids: [media.id], version: story.version })
  expect(closed.status).toBe('closed')

  as('resident')
  const seen = await api.getTicket(story.ticket.id)
  expect(seen.status).toBe('closed')
  expect(seen.media.map((m) => m.stage)).toEqual(expect.arrayContaining(['report', 'handling']))
  expect(seen.timeline.map((e) => e.action)).toEqual(expect.arrayContaining(['submit', 'claim', 'handle', 'verify_pass']))
})

test('a grid worker disposes of a problem on the spot; the retry after a lost answer files one ticket', async () => {
  const wx = as('worker')
  const before = await api.uploadPhoto(photoFile('spot-before', [200, 40, 40]), 'report')
  const after = await api.uploadPhoto(photoFile('spot-after', [40, 200, 40]), 'handling')
  const description = `楼道口有一袋垃圾（自行处置 ${Date.now()}）`
  const body = {
    category_code: CATEGORY, description, address: '3 号楼门口',
    location: { lng: story.point.lng, lat: story.point.lat, crs: 'gcj02' },
    media_ids: [before.id], note: '已当场清走', after_media_ids: [after.id],
  }
  const key = api.keyFor(story, ['self_dispose', description])
  wx.dropNextAnswer('POST', '/api/v1/tasks/self-dispose')
  const lost = await api.selfDispose(body, key).catch((e) => e)
  expect(lost).toMatchObject({ retryable: true })
  const done = await api.selfDispose(body, api.keyFor(story, ['self_dispose', description]))
  expect(done.status).toBe('closed')
  const posts = wx.sent.filter((r) => r.method === 'POST' && r.path === '/api/v1/tasks/self-dispose')
  expect(posts.length).toBeGreaterThanOrEqual(2)
  expect(new Set(posts.map((r) => r.headers['Idempotency-Key'])).size).toBe(1)
  const mine = await api.myTickets()
  expect(mine.items.filter((t) => t.description === description)).toHaveLength(1)
})

test('an access token the server no longer accepts is refreshed once and the call retried', async () => {
  const wx = as('resident')
  const auth = wx.getStorageSync('gz.auth')
  wx.setStorageSync('gz.auth', Object.assign({}, auth, { access_token: 'expired.or.forged' }))
  const me = await api.getMe()
  expect(me.id).toBeTruthy()
  const fresh = wx.getStorageSync('gz.auth')
  expect(fresh.refresh_token).not.toBe(auth.refresh_token)
  expect(wx.sent.slice(-3).map((r) => r.path)).toEqual(['/api/v1/me', '/api/v1/auth/refresh', '/api/v1/me'])
})

step(ratingsReady)('the resident rates it unsatisfied', async () => {
  as('resident')
  const rating = await api.rateTicket(story.ticket.id, {
    result: 'unsatisfied', service: 'basically_satisfied', stars: 2, comment: '楼道里还有杂物',
  })
  expect(rating.id).toBeTruthy()
  story.ratingId = rating.id
  // changed within its window (PATCH /ratings/{id}), as the ticket page's 修改评价 does
  const changed = await api.updateRating(rating.id, { stars: 1, comment: '楼道里还有杂物，没人来' })
  expect(changed).toMatchObject({ id: rating.id, stars: 1, comment: '楼道里还有杂物，没人来', result: 'unsatisfied' })
})

step(ratingsReady)('community staff find it in the ratings queue and reply', async () => {
  as('staff')
  await api.loginStaff('community_staff', demoPassword('community_staff'))
  const queue = await api.ratingsQueue()
  const item = queue.items.find((r) => r.id === story.ratingId)
  expect(item).toBeTruthy()
  // unsatisfied and unreplied first
  const firstSatisfied = queue.items.findIndex((r) => r.overall !== 'unsatisfied')
  if (firstSatisfied >= 0) expect(queue.items.indexOf(item)).toBeLessThan(firstSatisfied)
  await api.replyRating(story.ratingId, '已联系物业，明天上午清理')
})

step(ratingsReady)('community staff send it back for rework; it is dispatched again to the same unit', async () => {
  as('staff')
  await api.reworkRating(story.ratingId, '居民反映仍有杂物，重新清理')
  as('resident')
  const again = await api.getTicket(story.ticket.id)
  expect(again.status).toBe('dispatched')
  expect(again.unit.id).toBe(story.ticket.unit.id)
  expect(again.timeline.map((e) => e.action)).toContain('rate_rework')
})

test('the public map near the point lists the ticket without identities', async () => {
  as('neighbour')
  const near = await api.publicTickets({ lng: story.point.lng, lat: story.point.lat, crs: 'gcj02', radius_m: 1000 })
  const found = near.items.find((t) => t.id === story.ticket.id)
  expect(found).toBeTruthy()
  expect(found.status_label).toBeTruthy()
  expect(Object.keys(found)).not.toContain('description')
})

step(ratingReadable)('the resident reads the staff reply', async () => {
  as('resident')
  const page = await api.ticketRatings(story.ticket.id)
  const rating = page.items.find((r) => r.is_mine)
  expect(rating.overall).toBe('unsatisfied')
  expect(rating.outcome).toBe('rework')
  expect(rating.replies.map((r) => r.body)).toContain('已联系物业，明天上午清理')
})
