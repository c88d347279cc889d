// Display helpers: the pages prepare every text and class here, WXML only shows them.

const COLOUR_CLASS = { green: 'deadline-green', yellow: 'deadline-yellow', red: 'deadline-red' }

const STATUS_GROUPS = {
  open: ['submitted', 'accepted', 'dispatched', 'claimed', 'handled', 'verifying', 'returned', 'reopened'],
  closed: ['closed'],
  other: ['rejected', 'merged', 'voided', 'forwarded'],
}

const CHIP_CLASS = {
  submitted: 'chip-wait',
  accepted: 'chip-wait',
  dispatched: 'chip-doing',
  claimed: 'chip-doing',
  handled: 'chip-doing',
  verifying: 'chip-doing',
  returned: 'chip-wait',
  reopened: 'chip-warn',
  closed: 'chip-done',
  rejected: 'chip-off',
  merged: 'chip-off',
  voided: 'chip-off',
  forwarded: 'chip-off',
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n)
}

// "11-25 14:03" in the phone's local time (the API sends UTC ISO-8601).
function shortTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

// "还剩 3 小时" / "已超时 2 天", for a deadline.
function deadlineText(iso, now) {
  if (!iso) return ''
  const left = new Date(iso).getTime() - (now || Date.now())
  if (Number.isNaN(left)) return ''
  const abs = Math.abs(left)
  let amount
  if (abs >= 86400000) amount = `${Math.floor(abs / 86400000)} 天`
  else if (abs >= 3600000) amount = `${Math.floor(abs / 3600000)} 小时`
  else amount = `${Math.max(1, Math.floor(abs / 60000))} 分钟`
  return left >= 0 ? `还剩 ${amount}` : `已超时 ${amount}`
}

function deadlineClass(colour, isOverdue) {
  if (isOverdue) return COLOUR_CLASS.red
  return COLOUR_CLASS[colour] || ''
}

function chipClass(status) {
  return CHIP_CLASS[status] || 'chip-wait'
}

function statusGroup(status) {
  if (STATUS_GROUPS.closed.indexOf(status) >= 0) return 'closed'
  if (STATUS_GROUPS.other.indexOf(status) >= 0) return 'other'
  return 'open'
}

// A ticket as a list row: only what the WXML shows.
function ticketRow(t, now) {
  return {
    id: t.id,
    number: t.number || `#${t.id}`,
    title: (t.category && t.category.label) || '问题',
    description: t.description,
    address: t.address || (t.cell && t.cell.name) || '',
    status: t.status,
    statusLabel: t.status_label,
    chipClass: chipClass(t.status),
    group: statusGroup(t.status),
    deadlineClass: deadlineClass(t.deadline_colour, t.is_overdue),
    deadlineText: t.status === 'closed' ? '' : deadlineText(t.deadline_at, now),
    deadlineAt: t.deadline_at || '',
    createdText: shortTime(t.created_at),
    version: t.version,
    followers: t.follower_count || 0,
    unitName: (t.unit && t.unit.name) || '',
    // WGS-84, as the API sends it; utils/nav.js converts for WeChat's maps.
    lng: t.location ? t.location.lng : null,
    lat: t.location ? t.location.lat : null,
  }
}

// Soonest deadline first, tickets without a deadline last; ties by id.
function byDeadline(a, b) {
  const da = a.deadlineAt ? new Date(a.deadlineAt).getTime() : Infinity
  const db = b.deadlineAt ? new Date(b.deadlineAt).getTime() : Infinity
  if (da !== db) return da < db ? -1 : 1
  return a.id - b.id
}

// GET /categories' groups (大类) with their children (小类) as one list of 小类 to pick from.
function categoryRows(groups) {
  const rows = []
  ;(groups || []).forEach((g) => {
    (g.children || []).forEach((c) => {
      rows.push({ code: c.code, label: c.label, group: g.label, requires_photo: !!c.requires_photo })
    })
  })
  return rows
}

// GET /categories?audience=staff's full tree as one list of active 小类 to pick from, under their
// standard names (a collector files 0102 污水井盖, which residents never see).
function staffCategoryRows(groups) {
  const rows = []
  ;(groups || []).forEach((g) => {
    if (g.is_active === false) return
    (g.children || []).forEach((c) => {
      if (c.is_active === false) return
      rows.push({ code: c.code, label: c.name, group: g.name, requires_photo: !!c.requires_photo })
    })
  })
  return rows
}

const LEVELS = [
  { value: 'satisfied', label: '满意' },
  { value: 'basically_satisfied', label: '基本满意' },
  { value: 'unsatisfied', label: '不满意' },
]

function levelLabel(value) {
  const level = LEVELS.find((l) => l.value === value)
  return level ? level.label : ''
}

module.exports = {
  shortTime,
  deadlineText,
  deadlineClass,
  chipClass,
  statusGroup,
  ticketRow,
  byDeadline,
  categoryRows,
  staffCategoryRows,
  LEVELS,
  levelLabel,
}
