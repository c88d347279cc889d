// Response bodies shaped like the backend's (TicketOut, TicketDetail, UserOut).

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
    cell: { id: 20, code: '370811001001001', name: '运河社区第01网格', kind: 'grid', path: '/370811/' },
    unit: { id: 4, name: '运河社区网格工作站' },
    urgency: 'normal',
    is_public: true,
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

function me(roles, overrides) {
  return Object.assign({
    id: 7,
    display_name: '刘网格',
    surname: '刘',
    is_active: true,
    home_area: null,
    roles: (roles || []).map((role) => ({ role, area: { id: 20, code: '370811001001001', name: '运河社区第01网格', kind: 'grid', path: '/370811/' } })),
    created_at: '2026-11-25T01:00:00Z',
  }, overrides || {})
}

module.exports = { ticket, detail, me }
