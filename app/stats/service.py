"""The city's rates for a scope and period, counted in the database in one pass.

The definitions are those of `app.stats.metrics` (docs/metrics.md); the SQL below is the
aggregate form of `metrics.classify`, and a test checks the two agree ticket by ticket.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Case, F, Q, When
from tortoise.functions import Sum

from app.accounts.models import Role, User
from app.accounts.service import scope_of
from app.areas.models import Area
from app.catalog import service as catalog
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.paths import under, under_any
from app.ratings.models import Rating
from app.stats import metrics
from app.stats.schemas import Breakdown, BreakdownRow, RateOut, StatsQuery, Summary
from app.tickets.models import Ticket
from app.tickets.workflow import Status
from app.units.models import Unit

VIEWERS = (Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
DEFAULT_DAYS = 30


def _in(column: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{column}__gte": start, f"{column}__lt": end})


def _count(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=1), default=0))


def _aggregates(start: datetime, end: datetime) -> dict[str, Sum]:
    self_disposed = Q(is_self_disposed=True)
    case = ~self_disposed
    dispatched = case & _in("first_dispatched_at", start, end)
    should_handle = dispatched & ~Q(status=Status.MERGED)
    handled = should_handle & Q(first_handled_at__not_isnull=True)
    accepted = case & _in("accepted_at", start, end)
    should_close = accepted & ~Q(status=Status.MERGED)
    closed = should_close & Q(closed_at__not_isnull=True)

    def on_time(done: str) -> Q:
        return Q(deadline_at__isnull=True) | Q(**{f"{done}__lte": F("deadline_at")})

    return {
        "reported": _count(_in("created_at", start, end)),
        "self_disposed": _count(self_disposed & _in("created_at", start, end)),
        "accepted": _count(accepted),
        "rejected": _count(case & _in("rejected_at", start, end)),
        "dispatched": _count(dispatched),
        "returned": _count(dispatched & Q(return_count__gt=0)),
        "should_handle": _count(should_handle),
        "handled": _count(handled),
        "handled_on_time": _count(handled & on_time("first_handled_at")),
        "reworked": _count(handled & Q(rework_count__gt=0)),
        "should_close": _count(should_close),
        "closed": _count(closed),
        "closed_on_time": _count(closed & on_time("closed_at")),
    }


def _rating_aggregates() -> dict[str, Sum]:
    return {
        "rated": _count(Q(id__gt=0)),
        "satisfied": _count(Q(overall="satisfied")),
        "basically_satisfied": _count(Q(overall="basically_satisfied")),
        "unsatisfied": _count(Q(overall="unsatisfied")),
        "replied": _count(Q(has_reply=True)),
    }


def _touches_period(start: datetime, end: datetime) -> Q:
    # Only rows with a stage in the period can count; lets the database skip the rest.
    return (_in("created_at", start, end) | _in("accepted_at", start, end)
            | _in("rejected_at", start, end) | _in("first_dispatched_at", start, end))


def _period(query: StatsQuery) -> tuple[datetime, datetime]:
    end = query.to or datetime.now(UTC)
    start = query.from_ or end - timedelta(days=DEFAULT_DAYS)
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("时间需要带时区，例如 2026-11-01T00:00:00+08:00", code="naive_datetime")
    if end <= start:
        raise Invalid("结束时间必须晚于开始时间", code="invalid_period")
    if end - start > timedelta(days=3700):
        raise Invalid("统计区间不能超过十年", code="invalid_period")
    return start, end


async def _filtered(viewer: User, query: StatsQuery) -> tuple[Any, Any]:
    """Tickets and ratings in the viewer's scope and the query's filters."""
    scope = scope_of(viewer)
    if not scope.has(*VIEWERS):
        raise Forbidden("只有工作人员可以查看统计")
    paths = scope.paths(*VIEWERS)
    if query.area:
        area = await Area.get_or_none(code=query.area)
        if area is None or not scope.covers(area.path, *VIEWERS):
            raise NotFound("找不到该区域", code="area_not_found")
        paths = [area.path]
    in_scope = under_any("area_path", paths)
    tickets, ratings = Ticket.filter(in_scope), Rating.filter(in_scope)
    if query.category:
        category = await catalog.get_category_or_raise(code=query.category)
        tickets = tickets.filter(under("category__path", category.path))
        ratings = ratings.filter(under("ticket__category__path", category.path))
    if query.unit:
        tickets, ratings = tickets.filter(unit_id=query.unit), ratings.filter(unit_id=query.unit)
    return tickets, ratings


COUNT_NAMES = tuple(metrics.TicketCounts.__dataclass_fields__)


def _counts(row: dict[str, Any]) -> metrics.TicketCounts:
    return metrics.TicketCounts(**{k: int(row.get(k) or 0) for k in COUNT_NAMES if k in row})


def _rates(counts: metrics.TicketCounts) -> dict[str, RateOut]:
    return {key: RateOut(value=value, display=metrics.format_percent(value),
                         label=metrics.RATE_LABELS[key])
            for key, value in metrics.rates(counts).items()}


def _summary(counts: metrics.TicketCounts, start: datetime, end: datetime) -> Summary:
    return Summary(period_from=start, period_to=end, counts=_as_dict(counts), rates=_rates(counts))


def _as_dict(counts: metrics.TicketCounts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in counts.__dataclass_fields__}


async def summary(*, viewer: User, query: StatsQuery) -> Summary:
    start, end = _period(query)
    tickets, ratings = await _filtered(viewer, query)
    aggregates = _aggregates(start, end)
    rows = await tickets.filter(_touches_period(start, end)).annotate(**aggregates).values(
        *aggregates)
    rated = await ratings.filter(_in("created_at", start, end)).annotate(
        **_rating_aggregates()).values(*_rating_aggregates())
    counts = _counts({**(rows[0] if rows else {}), **(rated[0] if rated else {})})
    return _summary(counts, start, end)


GROUP_DEPTH = {"grid": 4, "community": 3, "street": 2}


async def breakdown(*, viewer: User, query: Any) -> Breakdown:
    """The same counts per unit, or per grid cell / community / street."""
    start, end = _period(query)
    tickets, ratings = await _filtered(viewer, query)
    aggregates = _aggregates(start, end)
    key_field = "unit_id" if query.by == "unit" else "area_path"
    rows = await tickets.filter(_touches_period(start, end)).annotate(**aggregates).group_by(
        key_field).values(key_field, *aggregates)
    rows += await ratings.filter(_in("created_at", start, end)).annotate(
        **_rating_aggregates()).group_by(key_field).values(key_field, *_rating_aggregates())
    totals: dict[str, metrics.TicketCounts] = {}
    for row in rows:
        key = row[key_field]
        if query.by != "unit":
            parts = [p for p in (key or "").split("/") if p]
            depth = GROUP_DEPTH[query.by]
            key = parts[depth - 1] if len(parts) >= depth else ""
        name = str(key or "")
        totals[name] = totals.get(name, metrics.TicketCounts()) + _counts(row)
    names = await _names(query.by, [k for k in totals if k])
    result = [
        BreakdownRow(key=key, name=names.get(key, "未定位" if query.by != "unit" else "未派遣"),
                     **_summary(counts, start, end).model_dump())
        for key, counts in sorted(totals.items())
    ]
    return Breakdown(by=query.by, rows=result)


async def _names(by: str, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    if by == "unit":
        return {str(u.id): u.name for u in await Unit.filter(id__in=[int(k) for k in keys])}
    return {a.code: a.name for a in await Area.filter(code__in=keys)}


def to_csv(table: Breakdown) -> str:
    """The breakdown as CSV with Chinese headers (a BOM so Excel opens UTF-8 correctly)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    count_names = list(metrics.TicketCounts.__dataclass_fields__)
    rate_keys = [r.key for r in metrics.RATES]
    writer.writerow(["编码", "名称", *count_names, *[metrics.RATE_LABELS[k] for k in rate_keys]])
    for row in table.rows:
        writer.writerow([row.key, row.name, *[row.counts[c] for c in count_names],
                         *[row.rates[k].display for k in rate_keys]])
    return out.getvalue()
