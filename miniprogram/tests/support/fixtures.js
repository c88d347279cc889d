// Response bodies shaped like the backend's, for the page tests to build their mocks from.
// RESPONSES below names the call each one answers: the contract test checks every one of them
// against that call's OpenAPI response schema in full (required fields, no extra ones), so a
// mock built from these cannot invent a field the API does not send.

const CELL_REF = { id: 20, code: '370811001001001', name: '运河社区第01网格', kind: 'grid', path: '/1/2/5/20/' }
const COMMUNITY_REF = { id: 5, code: '370811001001', name: '运河社区', kind: 'community', path: '/1/2/5/' }

function ticket(overrides) {
  return Object.assign({
    id: 1,
    number: 'RC20261125001',
    status: 'dispatched',
    status_label: '已派遣',
    source: 'resident',
    category: { code: '2004', name: '楼道堆物', label: '楼道堆放杂物' },
    description: '楼道里堆满纸箱',
    location: { lng: 116.58, lat: 35.41 },
    address: '3 号楼 2 单元',
    cell: Object.assign({}, CELL_REF),
    unit: { id: 4, name: '运河社区网格工作站' },
    urgency: 'normal',
    is_public: true,
    content_held: false,
    routed_by: 'grid_team',
    deadline_at: '2099-01-01T00:00:00Z',
    deadline_colour: 'green',
    is_overdue: false,
    version: 3,
    follower_count: 0,
    is_mine: false,
    assignee_label: null,
    allowed_actions: [],
    created_at: '2026-11-25T01:00:00Z',
    updated_at: '2026-11-25T01:00:00Z',
  }, overrides || {})
}

function detail(overrides) {
  return Object.assign(ticket(), { media: [], timeline: [] }, overrides || {})
}

function photo(id, stage) {
  return {
    id, purpose: stage === 'handling' ? 'handling' : 'report', status: 'ready', mime: 'image/jpeg', size: 1000,
    width: 800, height: 600, url: `https://x/${id}.jpg`, thumb_url: `https://x/${id}-t.jpg`, stage,
    created_at: '2026-11-25T01:00:00Z', check: 'passed', hidden: false, held_reason: null,
  }
}

function me(roles, overrides) {
  return Object.assign({
    id: 7,
    display_name: '刘网格',
    surname: '刘',
    is_active: true,
    home_area: null,
    roles: (roles || []).map((role) => ({ role, area: Object.assign({}, CELL_REF) })),
    created_at: '2026-11-25T01:00:00Z',
  }, overrides || {})
}

// A page of a list: {items, next}.
function page(items, next) {
  return { items, next: next === undefined ? null : next }
}

// GET /areas/{code}: a grid cell with its polygon (GeoJSON, WGS-84).
function area(overrides) {
  return Object.assign({}, CELL_REF, {
    parent_code: COMMUNITY_REF.code,
    has_geometry: true,
    office_address: '',
    office_phone: '',
    geometry: { type: 'Polygon', coordinates: [[[116.58, 35.41], [116.59, 35.41], [116.59, 35.42], [116.58, 35.42], [116.58, 35.41]]] },
  }, overrides || {})
}

function community(overrides) {
  return Object.assign({}, COMMUNITY_REF, {
    parent_code: '370811001', has_geometry: false, office_address: '运河路 1 号', office_phone: '0537-2345678',
  }, overrides || {})
}

// GET /areas/{code}/grid-workers (网格信息): the cell, its community office and grid workers.
function gridInfo(overrides) {
  const cell = area()
  delete cell.geometry
  return Object.assign({
    cell,
    community: community(),
    grid_workers: [{ display_name: '刘网格', work_phone: '13800000000' }],
  }, overrides || {})
}

// GET /categories?audience=resident: friendly groups of reportable 小类.
function residentCategories() {
  return {
    audience: 'resident',
    items: [
      { code: '20', label: '小区和楼道', kind: 'event', children: [
        { code: '2004', label: '楼道堆放杂物', requires_photo: false },
        { code: '2001', label: '家里或楼道漏水', requires_photo: false },
      ] },
      { code: '01', label: '井盖、路灯等公用设施', kind: 'component', children: [
        { code: '0118', label: '路灯不亮或损坏', requires_photo: true },
      ] },
    ],
  }
}

function staffCategory(code, name, overrides) {
  return Object.assign({
    code, name, resident_label: '', kind: code < '10' ? 'component' : 'event', parent_code: code.length > 2 ? code.slice(0, 2) : null,
    depth: code.length > 2 ? 2 : 1, path: code.length > 2 ? `/${code.slice(0, 2)}/${code}/` : `/${code}/`, standard_ref: 'GB/T 30428.2',
    limit_value: 5, limit_unit: 'work_days', urgent_limit_value: 2, urgent_limit_unit: 'natural_hours',
    auto_accept: false, requires_photo: false, is_resident_visible: true, is_active: true, sort: 0,
  }, overrides || {})
}

// GET /categories?audience=staff: the full tree, staff-only 小类 (0102 污水井盖) included.
function staffCategories() {
  return {
    audience: 'staff',
    items: [
      Object.assign(staffCategory('01', '公用设施'), { children: [
        staffCategory('0101', '上水井盖', { resident_label: '自来水井盖破损' }),
        staffCategory('0102', '污水井盖', { is_resident_visible: false, requires_photo: true }),
        staffCategory('0103', '已停用的井盖', { is_active: false }),
      ] }),
      Object.assign(staffCategory('20', '社区生活'), { children: [
        staffCategory('2004', '楼道堆物', { resident_label: '楼道堆放杂物' }),
      ] }),
    ],
  }
}

// GET /tickets/public and /tickets/nearby: what anyone may see, no identities.
function publicTicket(overrides) {
  return Object.assign({
    id: 12, number: 'RC20261125012', status_label: '已派遣',
    category: { code: '2004', name: '楼道堆物', label: '楼道堆放杂物' },
    location: { lng: 116.5901, lat: 35.4102 }, distance_m: 18.4, follower_count: 2, created_at: '2026-11-25T01:00:00Z',
  }, overrides || {})
}

function rating(overrides) {
  return Object.assign({
    id: 4, ticket_id: 9, ticket_number: 'RC20261125009', result: 'unsatisfied', service: 'basically_satisfied',
    overall: 'unsatisfied', stars: 2, comment: '还有杂物', comment_held: false, is_mine: true,
    editable_until: '2099-01-01T00:00:00Z', replies: [], outcome: null, outcome_note: '', created_at: '2026-11-25T06:00:00Z',
  }, overrides || {})
}

function message(overrides) {
  return Object.assign({
    id: 1, kind: 'ticket.dispatched', title: '您的上报已派遣', body: '已派给运河社区网格工作站', ticket_id: 31,
    read: false, read_at: null, created_at: '2026-11-25T01:00:00Z',
  }, overrides || {})
}

// The call each fixture answers (services/api.js ENDPOINTS names), checked by the contract test.
const RESPONSES = {
  getMe: [() => me(['grid_worker']), () => me([], { home_area: Object.assign({}, CELL_REF) })],
  getArea: [() => area(), () => community()],
  listCellWorkers: [() => gridInfo(), () => gridInfo({ grid_workers: [] })],
  listCategories: [residentCategories, staffCategories],
  getTicket: [
    () => detail({ media: [photo(1, 'report')] }),
    // the reporter's view: their own moves offered, a photo of theirs held from others
    () => detail({ status: 'submitted', is_mine: true, allowed_actions: ['withdraw', 'add_info'], media: [
      Object.assign(photo(2, 'report'), { check: 'checking', held_reason: '图片审核中，通过后他人可见' })] }),
  ],
  withdrawTicket: [() => detail({ status: 'rejected', status_label: '不予立案', is_mine: true })],
  addTicketInfo: [() => detail({ status: 'submitted', is_mine: true, allowed_actions: ['withdraw', 'add_info'] })],
  myTickets: [() => page([ticket()], '5')],
  listTasks: [() => page([ticket({ status: 'claimed', status_label: '已认领' })], '1.5')],
  publicTickets: [() => ({ items: [publicTicket()] })],
  nearbyTickets: [() => ({ items: [publicTicket()] })],
  ticketRatings: [() => page([rating()])],
  updateRating: [() => rating({ result: 'satisfied', overall: 'satisfied' })],
  rateTicket: [() => rating()],
  listMessages: [() => page([message()])],
}

module.exports = {
  CELL_REF, COMMUNITY_REF, ticket, detail, photo, me, page, area, community, gridInfo,
  residentCategories, staffCategories, staffCategory, publicTicket, rating, message, RESPONSES,
}
