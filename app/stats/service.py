"""The city's rates for a scope and period, counted in the database in one pass.

The definitions are those of `app.stats.metrics` (docs/metrics.md); the SQL below is the
aggregate form of `metrics.classify`, and a test checks the two agree ticket by ticket.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.expressions import Case, F, Q, When
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.service import scope_of, scoped_area_paths
from app.areas.models import Area
from app.catalog import service as catalog
from app.core import workcalendar
from app.core.errors import Forbidden, Invalid
from app.core.paths import under, under_any
from app.ratings.models import Rating
from app.stats import metrics
from app.stats.models import StatsDaily, StatsDailyCategory, StatsDailyUnit, StatsDelta
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
    # In UTC, as stored: SQLite compares datetimes as text, "+08:00" bounds would misorder.
    return start.astimezone(UTC), end.astimezone(UTC)


async def _filtered(viewer: User, query: StatsQuery) -> tuple[Any, Any, list[str], str | None]:
    """Tickets and ratings in the viewer's scope and the query's filters, the scope's area
    paths and the category filter's path."""
    scope = scope_of(viewer)
    if not scope.has(*VIEWERS):
        raise Forbidden("只有工作人员可以查看统计")
    paths = await scoped_area_paths(scope=scope, roles=VIEWERS, area_code=query.area)
    in_scope = under_any("area_path", paths)
    tickets, ratings = Ticket.filter(in_scope), Rating.filter(in_scope)
    category_path = None
    if query.category:
        category = await catalog.get_category_or_raise(code=query.category)
        category_path = category.path
        tickets = tickets.filter(under("category__path", category.path))
        ratings = ratings.filter(under("ticket__category__path", category.path))
    if query.unit:
        tickets, ratings = tickets.filter(unit_id=query.unit), ratings.filter(unit_id=query.unit)
    return tickets, ratings, paths, category_path


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
    tickets, ratings, paths, category_path = await _filtered(viewer, query)
    rows = await _ticket_counts(tickets, paths, category_path, query, start, end,
                                key_field=None)
    aggregates = _rating_aggregates()
    rated = await ratings.filter(_in("created_at", start, end)).annotate(**aggregates).values(
        *aggregates)
    counts = sum((_counts(row) for row in rows), metrics.TicketCounts())
    counts += _counts(rated[0] if rated else {})
    return _summary(counts, start, end)


GROUP_DEPTH = {"grid": 4, "community": 3, "street": 2}


# --- where the ticket counts come from -----------------------------------------------------

TZ = workcalendar.SHANGHAI
_SUMS = {f"sum_{name}": Sum(name) for name in metrics.TICKET_COUNTS}
COMMUNITY_LEVELS = 3  # district / street / community: the by-unit rollup's area


def _levels(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def community_path(cell_path: str) -> str:
    """The community's path of a cell's path (a shorter path stays as it is)."""
    levels = _levels(cell_path)
    return "/" + "/".join(levels[:COMMUNITY_LEVELS]) + "/" if levels else cell_path


def _whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The local days lying wholly inside [start, end), as [first, stop); None if none."""
    first = start.astimezone(TZ).date()
    if start > metrics.midnight(first, TZ):
        first += timedelta(days=1)
    stop = end.astimezone(TZ).date()
    return (first, stop) if first < stop else None


async def _scanned(tickets: Any, start: datetime, end: datetime,
                   key_field: str | None) -> list[dict[str, Any]]:
    """Counts read from the tickets themselves (any filter, any period)."""
    # In UTC, as stored: SQLite compares datetimes as text, "+08:00" bounds would misorder.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    aggregates = _aggregates(start, end)
    qs = tickets.filter(_touches_period(start, end)).annotate(**aggregates)
    if key_field is None:
        return await qs.values(*aggregates)
    if key_field == "unit_id":
        # Grouping on the plain column walks the (unit_id, status) index and fetches every
        # row in its order; on an expression MariaDB aggregates in one pass instead.
        qs = qs.annotate(group_key=F("unit_id") + 0)
        rows = await qs.group_by("group_key").values("group_key", *aggregates)
        return [{**row, "unit_id": row.pop("group_key")} for row in rows]
    return await qs.group_by(key_field).values(key_field, *aggregates)


def _sums(qs: Any, key_field: str | None) -> Any:
    qs = qs.annotate(**_SUMS)
    return qs.group_by(key_field).values(key_field, *_SUMS) if key_field else qs.values(*_SUMS)


def _unsum(row: dict[str, Any]) -> dict[str, Any]:
    return {(k[4:] if k.startswith("sum_") else k): v for k, v in row.items()}


CELLS, UNITS, CATEGORIES = "cells", "units", "categories"  # the rollups


async def _rolled_up(rollup: str, paths: list[str], category_path: str | None, query: Any,
                     first: date, stop: date, key_field: str | None) -> list[dict[str, Any]]:
    """Counts of whole days from a rollup and the deltas not yet folded into it."""
    days = Q(day__gte=first, day__lt=stop)
    pending = StatsDelta.filter(days, under_any("area_path", paths))
    if rollup == UNITS:
        folded = StatsDailyUnit.filter(days, under_any("area_path", paths))
        if query.unit:
            folded = folded.filter(unit_id=query.unit)
            pending = pending.filter(unit_id=query.unit)
    elif rollup == CATEGORIES:
        assert category_path is not None
        folded = StatsDailyCategory.filter(days, under_any("area_path", paths),
                                           under("category_path", category_path))
        ids = [c.id for c in (await catalog.categories_by_id()).values()
               if c.path.startswith(category_path)]
        pending = pending.filter(category_id__in=ids)
    else:
        folded = StatsDaily.filter(days, under_any("area_path", paths))
    rows = await _sums(folded, key_field) + await _sums(pending, key_field)
    return [_unsum(row) for row in rows]


def _rollup_for(paths: list[str], query: Any, key_field: str | None) -> str | None:
    """Which rollup answers the query's whole days; None: only the tickets can.

    The rollups per community (by unit, by category) are far smaller than the one per cell,
    so they serve whatever does not need cells: scopes of whole communities or more, rows
    per community, street or unit. Neither combines a unit with a category.
    """
    coarse = all(len(_levels(p)) <= COMMUNITY_LEVELS for p in paths)
    per_cell = key_field == "area_path" and getattr(query, "by", None) == "grid"
    by_unit = bool(query.unit) or key_field == "unit_id"
    if query.category:
        return CATEGORIES if coarse and not per_cell and not by_unit else None
    if coarse and not per_cell:
        return UNITS
    return None if by_unit else CELLS


async def _ticket_counts(tickets: Any, paths: list[str], category_path: str | None, query: Any,
                         start: datetime, end: datetime,
                         key_field: str | None) -> list[dict[str, Any]]:
    """Rows of ticket counts for the period (grouped by `key_field` when given).

    Whole local days come from a rollup (`_rollup_for`); the hours before the first and after
    the last whole day, and what no rollup can answer, are counted from the tickets. All reads
    share one snapshot, so a ticket changing meanwhile (its delta rows written with it) or the
    job folding deltas is seen entirely or not at all.
    """
    days = _whole_days(start, end)
    rollup = _rollup_for(paths, query, key_field)
    if days is None or rollup is None:
        return await _scanned(tickets, start, end, key_field)
    first, stop = days
    async with in_transaction():
        rows = await _rolled_up(rollup, paths, category_path, query, first, stop, key_field)
        for a, b in ((start, metrics.midnight(first, TZ)), (metrics.midnight(stop, TZ), end)):
            if a < b:
                rows += await _scanned(tickets, a, b, key_field)
    return rows


# --- keeping the rollups ------------------------------------------------------------------


def _facts(value: Callable[[str], Any]) -> metrics.TicketFacts:
    """The statistics facts from a ticket's columns, read by name."""
    return metrics.TicketFacts(
        reported_at=value("created_at"), self_disposed=value("is_self_disposed"),
        accepted_at=value("accepted_at"), rejected_at=value("rejected_at"),
        first_dispatched_at=value("first_dispatched_at"),
        first_handled_at=value("first_handled_at"), deadline_at=value("deadline_at"),
        closed_at=value("closed_at"), merged=value("status") == Status.MERGED,
        returned=value("return_count") > 0, reworked=value("rework_count") > 0,
    )


def facts_of(ticket: Ticket) -> metrics.TicketFacts:
    return _facts(lambda name: getattr(ticket, name))


def _delta_rows(change: dict[date, dict[str, int]], ticket: Ticket) -> list[StatsDelta]:
    return [StatsDelta(day=day, area_path=ticket.area_path, unit_id=ticket.unit_id,
                       category_id=ticket.category_id, **counts)
            for day, counts in change.items()]


def _key(ticket: Ticket) -> tuple[str, int | None, int | None]:
    return ticket.area_path, ticket.unit_id, ticket.category_id


async def record(before: Ticket | None, after: Ticket) -> None:
    """Call in the transaction that changed the ticket: what it adds to the daily counts."""
    if before is not None and _key(before) != _key(after):
        # Moved to another unit, category or cell: its counts leave the old rows, join new ones.
        rows = (_delta_rows(metrics.change(facts_of(before), None, TZ), before)
                + _delta_rows(metrics.change(None, facts_of(after), TZ), after))
    else:
        old = facts_of(before) if before is not None else None
        rows = _delta_rows(metrics.change(old, facts_of(after), TZ), after)
    if rows:
        await StatsDelta.bulk_create(rows)


Totals = dict[tuple[Any, ...], dict[str, int]]


def _add(totals: Totals, key: tuple[Any, ...], counts: dict[str, int]) -> None:
    into = totals.setdefault(key, dict.fromkeys(metrics.TICKET_COUNTS, 0))
    for name, value in counts.items():
        into[name] += value


@dataclass
class _Rollups:
    """Contributions gathered for the three rollups, by their keys."""

    categories_by_id: dict[int, Any]
    cells: Totals = field(default_factory=dict)
    units: Totals = field(default_factory=dict)
    categories: Totals = field(default_factory=dict)

    def add(self, day: date, cell_path: str, unit_id: int | None, category_id: int | None,
            counts: dict[str, int]) -> None:
        community = community_path(cell_path)
        category = self.categories_by_id.get(category_id) if category_id else None
        _add(self.cells, (day, cell_path), counts)
        _add(self.units, (day, community, unit_id or 0), counts)
        _add(self.categories, (day, community, category.path if category else ""), counts)

    async def fold(self) -> None:
        await _fold(StatsDaily, CELL_KEYS, self.cells)
        await _fold(StatsDailyUnit, UNIT_KEYS, self.units)
        await _fold(StatsDailyCategory, CATEGORY_KEYS, self.categories)

    async def replace(self) -> None:
        for model, keys, totals in ((StatsDaily, CELL_KEYS, self.cells),
                                    (StatsDailyUnit, UNIT_KEYS, self.units),
                                    (StatsDailyCategory, CATEGORY_KEYS, self.categories)):
            await model.all().delete()
            await model.bulk_create(
                [model(**dict(zip(keys, key, strict=True)), **counts)
                 for key, counts in sorted(totals.items()) if any(counts.values())],
                batch_size=1000)


async def _fold(model: Any, keys: tuple[str, ...], totals: Totals) -> None:
    for key, counts in sorted(totals.items()):
        moved = {k: v for k, v in counts.items() if v}
        if not moved:
            continue
        where = dict(zip(keys, key, strict=True))
        if not await model.filter(**where).update(**{k: F(k) + v for k, v in moved.items()}):
            await model.create(**where, **counts)


COMPACT_BATCH = 2000
CELL_KEYS = ("day", "area_path")
UNIT_KEYS = ("day", "area_path", "unit_id")
CATEGORY_KEYS = ("day", "area_path", "category_path")


async def compact(*, batch: int = COMPACT_BATCH, max_batches: int = 50) -> int:
    """Fold delta rows into both rollups, a batch per transaction; returns rows folded.

    The batch is read with a row lock, so a second job instance waits and then finds the
    rows gone rather than folding them twice.
    """
    folded = 0
    for _ in range(max_batches):
        async with in_transaction():
            # Model rows, not .values(): Tortoise drops FOR UPDATE from a values() query.
            rows = await StatsDelta.all().order_by("id").limit(batch).select_for_update()
            if not rows:
                break
            rollups = _Rollups(await catalog.categories_by_id())
            for row in rows:
                rollups.add(row.day, row.area_path, row.unit_id, row.category_id,
                            {name: getattr(row, name) for name in metrics.TICKET_COUNTS})
            await rollups.fold()
            await StatsDelta.filter(id__in=[r.id for r in rows]).delete()
        folded += len(rows)
        if len(rows) < batch:
            break
    return folded


async def rebuild(*, batch: int = 20_000) -> int:
    """Recount both rollups from the tickets (after a bulk import, or to repair them).

    Run it while nothing else changes tickets (a maintenance window): a ticket changed while
    it runs may be counted twice or not at all. Returns the tickets read.
    """
    fields_needed = ("id", "area_path", "unit_id", "category_id", "created_at",
                     "is_self_disposed",
                     "accepted_at", "rejected_at", "first_dispatched_at", "first_handled_at",
                     "deadline_at", "closed_at", "status", "return_count", "rework_count")
    rollups = _Rollups(await catalog.categories_by_id())
    read, after = 0, 0
    async with in_transaction():
        while True:
            rows = await Ticket.filter(id__gt=after).order_by("id").limit(batch).values(
                *fields_needed)
            if not rows:
                break
            for row in rows:
                for day, counts in metrics.by_day(_facts(row.__getitem__), TZ).items():
                    rollups.add(day, row["area_path"], row["unit_id"], row["category_id"],
                                counts)
            read += len(rows)
            after = rows[-1]["id"]
        await StatsDelta.all().delete()
        await rollups.replace()
    return read


async def breakdown(*, viewer: User, query: Any) -> Breakdown:
    """The same counts per unit, or per grid cell / community / street."""
    start, end = _period(query)
    tickets, ratings, paths, category_path = await _filtered(viewer, query)
    key_field = "unit_id" if query.by == "unit" else "area_path"
    rows = await _ticket_counts(tickets, paths, category_path, query, start, end,
                                key_field=key_field)
    aggregates = _rating_aggregates()
    rows += await ratings.filter(_in("created_at", start, end)).annotate(**aggregates).group_by(
        key_field).values(key_field, *aggregates)
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
