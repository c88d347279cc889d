"""The dispatcher's workbench as data: the queue tabs, the filters in the URL, one page.

Which tickets a dispatcher may see at all is the tickets domain's rule
(`domain.dispatcher_condition`); this module only narrows it to a tab and the filters.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from tortoise.expressions import Q, Subquery
from tortoise.functions import Min

from app.console import domain
from app.console.domain import Status, Ticket
from app.core.paging import BY_NEWEST, Ordering, keyset_page
from app.core.workcalendar import SHANGHAI
from app.tickets.workflow import ON_THE_CLOCK

PAGE_SIZE = 50
# "即将超期" in a list filter: the deadline falls within this window. (The row colour is the
# domain's own 80 %-of-the-limit rule; a query cannot compute working time.)
NEAR_DEADLINE = timedelta(hours=24)
# A keyword (`%…%`: no index can serve it) searches the reports of this many days before the
# end of the date filter, unless the filter gives a start (the form says so). A keyword that
# matches nothing reads every report of the window: a month of a million-a-year district
# costs the database ~0.1 s, 90 days ~0.3 s, past the list's 300 ms (docs/benchmarks.md).
KEYWORD_DAYS = 30
# The tab counts are kept this long per dispatcher scope in this process; the list never
# computes them (the tabs load them in a request of their own, `tab_counts`).
COUNTS_CACHE_S = 20.0


def _pending_extensions() -> Q:
    return Q(id__in=Subquery(domain.ExtensionRequest.filter(
        status=domain.ExtensionStatus.PENDING).values("ticket_id")))


def _due(now: datetime) -> Q:
    return Q(status__in=list(ON_THE_CLOCK), deadline_at__lte=now + NEAR_DEADLINE)


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    condition: Callable[[datetime], Q]


QUEUES: tuple[Queue, ...] = (
    Queue("accept", "待受理", lambda now: Q(status=Status.SUBMITTED)),
    # Accepted but routing found no unit: a dispatcher must choose one.
    Queue("dispatch", "待派遣", lambda now: Q(status=Status.ACCEPTED, unit_id=None)),
    Queue("returned", "退回", lambda now: Q(status__in=[Status.RETURNED, Status.REOPENED])),
    Queue("extension", "延期申请", lambda now: _pending_extensions()),
    Queue("close", "待核查/待结案", lambda now: Q(status__in=[Status.HANDLED, Status.VERIFYING])),
    Queue("due", "超期/即将超期", _due),
    Queue("all", "全部", lambda now: Q()),
)
QUEUE_BY_KEY = {q.key: q for q in QUEUES}
DEFAULT_QUEUE = "accept"

# Sortable columns: 上报时间 both ways, 时限 soonest first (only cases on the clock have one).
SORTS = {"newest": BY_NEWEST, "oldest": Ordering.of("id"),
         "deadline": Ordering.of("deadline_at", "id", times=["deadline_at"])}
SORT_LABELS = {"newest": "最新上报在前", "oldest": "最早上报在前", "deadline": "时限最近在前（仅已计时的案件）"}
DEFAULT_SORT = "newest"

DEADLINE_FILTERS = {"overdue": "已超期", "near": "即将超期", "ontime": "未超期"}
SOURCE_LABELS = {"resident": "居民上报", "patrol": "巡查上报", "hotline": "热线来电",
                 "camera": "视频发现", "staff": "工作人员"}


def _text(args: Mapping[str, Any], name: str, limit: int = 64) -> str:
    value = args.get(name) or ""
    return str(value).strip()[:limit]


def _int(args: Mapping[str, Any], name: str) -> int | None:
    value = _text(args, name, 12)
    return int(value) if value.isascii() and value.isdigit() else None


def _day(args: Mapping[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(_text(args, name, 10)) if args.get(name) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """Everything the URL holds: a bookmarked or shared view opens the same list."""

    queue: str = DEFAULT_QUEUE
    status: str = ""
    category: str = ""
    unit: int | None = None
    area: str = ""
    deadline: str = ""
    source: str = ""
    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = DEFAULT_SORT
    cursor: str | None = field(default=None, compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Filters:
        queue = _text(args, "queue", 16)
        status = _text(args, "status", 16)
        deadline = _text(args, "deadline", 8)
        source = _text(args, "source", 16)
        sort = _text(args, "sort", 16)
        return cls(
            queue=queue if queue in QUEUE_BY_KEY else DEFAULT_QUEUE,
            status=status if status in set(Status) else "",
            category=_text(args, "category", 32), unit=_int(args, "unit"),
            area=_text(args, "area", 32),
            deadline=deadline if deadline in DEADLINE_FILTERS else "",
            source=source if source in SOURCE_LABELS else "", q=_text(args, "q"),
            date_from=_day(args, "from"), date_to=_day(args, "to"),
            sort=sort if sort in SORTS else DEFAULT_SORT,
            cursor=_text(args, "cursor", 40) or None,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        f = replace(self, **changes)
        values = {"queue": f.queue, "status": f.status, "category": f.category,
                  "unit": str(f.unit) if f.unit else "", "area": f.area, "deadline": f.deadline,
                  "source": f.source, "q": f.q,
                  "from": f.date_from.isoformat() if f.date_from else "",
                  "to": f.date_to.isoformat() if f.date_to else "",
                  "sort": "" if f.sort == DEFAULT_SORT else f.sort, "cursor": f.cursor or ""}
        return {k: v for k, v in values.items() if v}

    def query(self, **changes: Any) -> str:
        """The query string of this view with `changes` (a new filter starts on page one)."""
        changes.setdefault("cursor", None)
        return urlencode(self.params(**changes))


def _beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)


async def _narrow(qs: Any, f: Filters, now: datetime, scope: domain.Scope) -> Any:
    """Apply the filters; unknown codes refuse with 404 like the API's list does."""
    if f.status:
        qs = qs.filter(status=f.status)
    if f.category:
        qs = qs.filter(category_id__in=await domain.category_ids(code=f.category))
    if f.unit:
        qs = qs.filter(unit_id=f.unit)
    if f.area:
        path = await domain.area_path_in_scope(scope=scope, code=f.area)
        qs = qs.filter(domain.under("area_path", path))
    if f.source:
        qs = qs.filter(source=f.source)
    if f.deadline == "overdue":
        qs = qs.filter(is_overdue=True)
    elif f.deadline == "near":
        qs = qs.filter(is_overdue=False, status__in=list(ON_THE_CLOCK),
                       deadline_at__lte=now + NEAR_DEADLINE)
    elif f.deadline == "ontime":
        qs = qs.filter(is_overdue=False)
    if f.date_from:
        qs = qs.filter(created_at__gte=_beijing_midnight(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_beijing_midnight(f.date_to + timedelta(days=1)))
    if f.q:
        qs = await _keyword(qs, f, now)
    return qs


async def _keyword(qs: Any, f: Filters, now: datetime) -> Any:
    """A case number (or a ticket id) typed in full finds that case, at any date; any other
    keyword searches the descriptions and addresses of the reports of KEYWORD_DAYS before the
    end of the date filter, unless the filter has a start.

    A `%…%` search can use no index: it reads every row in its range. The range is bounded by
    id as well as by date (`_first_id_since`), the filter's start too: the list walks the
    primary key newest first, and without an id bound it would walk it to the end whenever
    fewer than a page match.
    `contains`, not `icontains`: the columns' collation already ignores case, and
    UPPER(CAST(…)) costs a conversion per row.
    """
    exact = Q(number=f.q)
    if f.q.isascii() and f.q.isdigit() and len(f.q) < 10:  # a ticket id
        exact |= Q(id=int(f.q))
    if len(f.q) >= 4 and await qs.filter(exact).exists():
        return qs.filter(exact)
    if f.date_from is None:
        last = f.date_to or now.astimezone(SHANGHAI).date()
        start = _beijing_midnight(last - timedelta(days=KEYWORD_DAYS - 1))
        qs = qs.filter(created_at__gte=start)
    else:  # the filter's own start (`_narrow` applied its date)
        start = _beijing_midnight(f.date_from)
    qs = qs.filter(id__gte=await _first_id_since(start))
    return qs.filter(Q(description__contains=f.q) | Q(address__contains=f.q))


# The smallest ticket id created at or after a time, per time (local midnights only). Always a
# valid lower bound once known: ids only grow, so a ticket created later has a larger id.
_first_ids: dict[datetime, int] = {}


async def _first_id_since(start: datetime) -> int:
    if start not in _first_ids:
        if len(_first_ids) > 400:
            _first_ids.clear()
        [row] = await Ticket.filter(created_at__gte=start).annotate(
            lowest=Min("id")).values("lowest")
        if row["lowest"] is None:  # nothing yet: the next search asks again
            return 2**31
        _first_ids[start] = int(row["lowest"])
    return _first_ids[start]


@dataclass
class QueuePage:
    filters: Filters
    counts: dict[str, int] | None  # None: the tabs load them (`tab_counts`)
    items: list[domain.TicketOut]
    next: str | None


def _dispatcher_scope(user: domain.User) -> domain.Scope:
    scope = domain.scope_of(user)
    if not scope.has(domain.Role.DISPATCHER):
        raise domain.Forbidden("工作台目前只对派遣员开放")
    return scope


# Per dispatcher scope (its areas): (valid until, the counts). Counts are per scope, not per
# user: every dispatcher of a district sees the same queues.
_counts: dict[tuple[str, ...], tuple[float, dict[str, int]]] = {}


def _counts_key(scope: domain.Scope) -> tuple[str, ...]:
    return tuple(sorted(scope.paths(domain.Role.DISPATCHER)))


def cached_counts(*, user: domain.User) -> dict[str, int] | None:
    """The tab counts when this process counted them within COUNTS_CACHE_S (no query)."""
    hit = _counts.get(_counts_key(domain.scope_of(user)))
    return hit[1] if hit is not None and hit[0] > clock.monotonic() else None


def forget_all() -> None:
    """Empty this process's caches (tests: each has a database of its own)."""
    _counts.clear()
    _first_ids.clear()


def forget_counts(*, user: domain.User) -> None:
    """After this user changed a case: the next tabs count again."""
    _counts.pop(_counts_key(domain.scope_of(user)), None)


async def tab_counts(*, user: domain.User, fresh: bool = False) -> dict[str, int]:
    """How many cases wait in each of this dispatcher's queues (全部 is not counted); from the
    per-scope cache unless `fresh` (the tabs ask fresh after an action)."""
    scope = _dispatcher_scope(user)
    key = _counts_key(scope)
    hit = None if fresh else _counts.get(key)
    if hit is not None and hit[0] > clock.monotonic():
        return hit[1]
    now = datetime.now(UTC)
    base = domain.dispatcher_condition(scope)
    counts = {q.key: await Ticket.filter(base).filter(q.condition(now)).count()
              for q in QUEUES if q.key != "all"}
    _counts[key] = (clock.monotonic() + COUNTS_CACHE_S, counts)
    return counts


async def load(*, user: domain.User, filters: Filters) -> QueuePage:
    """One page of the chosen tab, filtered; the tab counts only when already cached."""
    scope = _dispatcher_scope(user)
    now = datetime.now(UTC)
    base = domain.dispatcher_condition(scope)
    queue = QUEUE_BY_KEY[filters.queue]
    qs = await _narrow(Ticket.filter(base).filter(queue.condition(now)), filters, now,
                       scope)
    if filters.sort == "deadline":
        qs = qs.filter(deadline_at__isnull=False)
    # The columns a list row shows, as plain values (the API's lean read), not whole models.
    rows, after = await keyset_page(qs, ordering=SORTS[filters.sort], limit=PAGE_SIZE,
                                    cursor=filters.cursor, fields=domain.LIST_FIELDS)
    return QueuePage(filters=filters, counts=cached_counts(user=user),
                     items=await domain.ticket_outs(user, rows), next=after)


# --- the map: the tab's cases inside the map's bounds -----------------------------------------

# The map draws at most this many cases of a view (newest first) and says so when there are more.
MAP_LIMIT = 500


@dataclass(frozen=True)
class Bounds:
    """The map's visible box (WGS-84), as Leaflet's `toBBoxString()` gives it."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, value: str | None) -> Bounds:
        """`west,south,east,north`; anything else is a 400 (never a 500)."""
        parts = (value or "").split(",")
        try:
            west, south, east, north = map(float, parts)
        except ValueError:  # not a number, or not four of them
            west = south = east = north = float("nan")
        bounds = cls(max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))
        if not (-180 <= bounds.west <= bounds.east <= 180 and -90 <= bounds.south <= bounds.north <= 90):
            raise domain.Invalid("地图范围无效（bbox=西,南,东,北）", code="invalid_bbox")
        return bounds


@dataclass
class MapCases:
    items: list[domain.TicketOut]
    is_truncated: bool


async def map_cases(*, user: domain.User, filters: Filters, bounds: Bounds) -> MapCases:
    """The chosen tab's cases with the list's filters, inside `bounds`, across all pages (the
    list shows 50 at a time; the map shows up to MAP_LIMIT, newest first)."""
    scope = _dispatcher_scope(user)
    now = datetime.now(UTC)
    queue = QUEUE_BY_KEY[filters.queue]
    qs = Ticket.filter(domain.dispatcher_condition(scope)).filter(queue.condition(now))
    qs = (await _narrow(qs, filters, now, scope)).filter(
        lng__gte=bounds.west, lng__lte=bounds.east, lat__gte=bounds.south,
        lat__lte=bounds.north)
    rows = list(await qs.order_by("-id").limit(MAP_LIMIT + 1))
    return MapCases(items=await domain.ticket_outs(user, rows[:MAP_LIMIT]),
                    is_truncated=len(rows) > MAP_LIMIT)


# --- bulk actions -------------------------------------------------------------------------------

BULK_ACTIONS = {"accept": "立案", "dispatch": "派遣"}


@dataclass
class BulkResult:
    done: list[str]
    refused: list[str]  # "<number>：<why>", one per case not changed

    @property
    def notice(self) -> str:
        parts = [f"已处理 {len(self.done)} 件"] if self.done else []
        if self.refused:
            parts.append(f"{len(self.refused)} 件未执行：" + "；".join(self.refused))
        return "；".join(parts) or "没有勾选案件"


def parse_picks(values: list[str]) -> list[tuple[int, int]]:
    """`<ticket id>:<version>` pairs from the ticked boxes (at most a page of them)."""
    picks = []
    for value in values[:PAGE_SIZE]:
        ticket_id, _, version = value.partition(":")
        if ticket_id.isascii() and ticket_id.isdigit() and version.isascii() \
                and version.isdigit() and len(ticket_id) < 12 and len(version) < 12:
            picks.append((int(ticket_id), int(version)))
    return picks


async def run_bulk(*, user: domain.User, action: str, picks: list[tuple[int, int]],
                   unit_id: int | None) -> BulkResult:
    """One action on each ticked case, each through the same door as a single action: a case
    someone else changed meanwhile (stale version) or that the state no longer allows is
    reported and left alone; the others go ahead."""
    if action not in BULK_ACTIONS:
        raise domain.Invalid("不支持的批量操作", code="unknown_action")
    if action == "dispatch" and unit_id is None:
        raise domain.Invalid("请选择派遣单位", code="missing_input")
    result = BulkResult(done=[], refused=[])
    for ticket_id, version in picks:
        data = domain.ActionInput(version=version, unit_id=unit_id)
        try:
            ticket = await domain.run_action(actor=user, ticket_id=ticket_id, action=action,
                                             data=data)
        except domain.AppError as exc:
            if exc.status_code >= 500:
                raise
            number = await domain.ticket_number(ticket_id=ticket_id)
            why = "已被他人更新" if exc.code == "stale_version" else exc.message
            result.refused.append(f"{number or ticket_id}：{why}")
            continue
        result.done.append(ticket.number or str(ticket.id))
    return result
