"""The city's rates for a scope and period, counted in the database in one pass.

The definitions are those of `app.stats.metrics` (docs/metrics.md); the SQL below is the
aggregate form of `metrics.classify`, and a test checks the two agree ticket by ticket.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.expressions import Case, F, Q, Subquery, When
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.service import scope_of, scoped_area_paths
from app.areas.models import Area
from app.catalog import service as catalog
from app.core import replica
from app.core.errors import Forbidden, Invalid
from app.core.paths import under_any
from app.ratings.models import Rating
from app.stats import metrics, reads

# The rollups' names, and the category subtree's ids, as the other stats modules know them.
from app.stats.reads import CATEGORIES, CELLS, SOURCES, UNITS
from app.stats.reads import category_ids as _category_ids

# Keeping the rollups lives in `rollups`; its entry points stay reachable from here.
from app.stats.rollups import (  # noqa: F401
    COMMUNITY_LEVELS,
    TZ,
    community_path,
    compact,
    facts_of,
    path_levels,
    rebuild,
    record,
)
from app.stats.schemas import (
    Breakdown,
    BreakdownQuery,
    BreakdownRow,
    RateOut,
    StatsQuery,
    Summary,
)
from app.tickets.models import Ticket, TicketSource
from app.tickets.workflow import Status
from app.units.models import Unit

VIEWERS = (Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN)
# Ended as no case of ours: out of 应处置 and 应结案 (docs/metrics.md).
NOT_OURS = [Status.MERGED, Status.VOIDED, Status.FORWARDED]
DEFAULT_DAYS = 30


def _q(**lookups: Any) -> Q:
    """Q from computed lookups (Q's own signature also takes `join_type`, which mypy sees)."""
    return Q(**lookups)


def _in(column: str, start: datetime, end: datetime) -> Q:
    return _q(**{f"{column}__gte": start, f"{column}__lt": end})


def _count(condition: Q) -> Sum:
    # Tortoise's annotations want expressions for then/default; plain numbers are what SQL gets.
    return Sum(Case(When(condition, then=1), default=0))  # type: ignore[arg-type]


def _aggregates(start: datetime, end: datetime) -> dict[str, Sum]:
    self_disposed = Q(is_self_disposed=True)
    case = ~self_disposed
    dispatched = case & _in("first_dispatched_at", start, end)
    # Merged, voided and forwarded tickets are no cases of ours (`metrics.classify`).
    ours = ~Q(status__in=NOT_OURS)
    should_handle = dispatched & ours
    handled = should_handle & Q(first_handled_at__not_isnull=True)
    accepted = case & _in("accepted_at", start, end)
    should_close = accepted & ours
    closed = should_close & Q(closed_at__not_isnull=True)

    def on_time(done: str, verdict: str) -> Q:
        # The verdict the door stored when the stage happened (`metrics.TicketFacts`): the
        # deadline may have moved since (a rework cycle, an extension). Rows loaded without
        # one are judged against the deadline they hold.
        unjudged = _q(**{f"{verdict}__isnull": True}) & (
            Q(deadline_at__isnull=True) | _q(**{f"{done}__lte": F("deadline_at")}))
        return _q(**{verdict: True}) | unjudged

    counts = {
        "reported": _count(_in("created_at", start, end)),
        "self_disposed": _count(self_disposed & _in("created_at", start, end)),
        "accepted": _count(accepted),
        "rejected": _count(case & _in("rejected_at", start, end)),
        "dispatched": _count(dispatched),
        "returned": _count(dispatched & Q(return_count__gt=0)),
        "should_handle": _count(should_handle),
        "handled": _count(handled),
        "handled_on_time": _count(handled & on_time("first_handled_at", "handled_on_time")),
        "reworked": _count(handled & Q(rework_count__gt=0)),
        "should_close": _count(should_close),
        "closed": _count(closed),
        "closed_on_time": _count(closed & on_time("closed_at", "closed_on_time")),
        "forwarded": _count(_in("created_at", start, end) & Q(status=Status.FORWARDED)),
        # `metrics.cohort`: of should_handle, closed now (on time unless judged late), and
        # with an approved extension or 挂账.
        "dispatched_closed": _count(should_handle & Q(closed_at__not_isnull=True)),
        "dispatched_closed_on_time": _count(
            should_handle & Q(closed_at__not_isnull=True)
            & (Q(closed_on_time__isnull=True) | Q(closed_on_time=True))),
        "extended": _count(should_handle & Q(extension_count__gt=0)),
        "suspended": _count(should_handle & Q(suspend_count__gt=0)),
    }
    # Named apart from the columns: an annotation called `handled_on_time` would shadow the
    # column its own condition reads.
    return {f"sum_{name}": aggregate for name, aggregate in counts.items()}


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
        # By id, not through a join on the category's path: with a join Tortoise groups an
        # aggregate by every column of the table (one row per rating, of which the summary
        # read the first), and the database would join for each ticket besides.
        ids = await _category_ids(category.path)
        tickets = tickets.filter(category_id__in=ids)
        ratings = ratings.filter(
            ticket_id__in=Subquery(Ticket.filter(category_id__in=ids).values("id")))
    if query.unit:
        tickets, ratings = tickets.filter(unit_id=query.unit), ratings.filter(unit_id=query.unit)
    return tickets, ratings, paths, category_path


COUNT_NAMES = tuple(metrics.TicketCounts.__dataclass_fields__)


def _counts(row: dict[str, Any]) -> metrics.TicketCounts:
    return metrics.TicketCounts(**{k: int(row.get(k) or 0) for k in COUNT_NAMES if k in row})


def _total(rows: list[dict[str, Any]]) -> metrics.TicketCounts:
    """The counts of rows added up first, then checked: a part may be negative (deltas not
    yet folded that take back what a folded row holds, e.g. a ticket that moved units)."""
    return _counts({k: sum(int(row.get(k) or 0) for row in rows) for k in COUNT_NAMES})


def _rates(counts: metrics.TicketCounts) -> dict[str, RateOut]:
    return {key: RateOut(value=value, display=metrics.format_percent(value),
                         label=metrics.RATE_LABELS[key])
            for key, value in metrics.rates(counts).items()}


def _summary(counts: metrics.TicketCounts, start: datetime, end: datetime) -> Summary:
    return Summary(period_from=start, period_to=end, counts=_as_dict(counts), rates=_rates(counts))


def _as_dict(counts: metrics.TicketCounts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in counts.__dataclass_fields__}


@replica.heavy_read
async def summary(*, viewer: User, query: StatsQuery) -> Summary:
    start, end = _period(query)
    tickets, ratings, paths, category_path = await _filtered(viewer, query)
    rows = await _ticket_counts(tickets, paths, category_path, query, start, end,
                                key_field=None)
    aggregates = _rating_aggregates()
    rated = await ratings.filter(_in("created_at", start, end)).annotate(**aggregates).values(
        *aggregates)
    # Every row, not the first: one aggregate row is expected, but a sum never drops counts.
    counts = _total(rows + rated)
    return _summary(counts, start, end)


GROUP_DEPTH = {"grid": 4, "community": 3, "street": 2}


# --- where the ticket counts come from -----------------------------------------------------

Names = tuple[str, ...]


async def _scanned(tickets: Any, start: datetime, end: datetime, key_field: str | None,
                   names: Names = metrics.TICKET_COUNTS) -> list[dict[str, Any]]:
    """Counts read from the tickets themselves (any filter, any period)."""
    # In UTC, as stored: SQLite compares datetimes as text, "+08:00" bounds would misorder.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    aggregates = {k: v for k, v in _aggregates(start, end).items() if k[4:] in names}
    qs = tickets.filter(_touches_period(start, end)).annotate(**aggregates)
    if key_field is None:
        rows = await qs.values(*aggregates)
    elif key_field == "unit_id":
        # Grouping on the plain column walks the (unit_id, status) index and fetches every
        # row in its order; on an expression MariaDB aggregates in one pass instead.
        qs = qs.annotate(group_key=F("unit_id") + 0)
        rows = await qs.group_by("group_key").values("group_key", *aggregates)
        rows = [{**row, "unit_id": row.pop("group_key")} for row in rows]
    else:
        rows = await qs.group_by(key_field).values(key_field, *aggregates)
    return [_unsum(row) for row in rows]


def _sums(qs: Any, key_field: str | None, names: Names = metrics.TICKET_COUNTS) -> Any:
    """The counts `names` (the published ones unless asked) summed, per `key_field`."""
    sums = {f"sum_{name}": Sum(name) for name in names}
    qs = qs.annotate(**sums)
    return qs.group_by(key_field).values(key_field, *sums) if key_field else qs.values(*sums)


def _unsum(row: dict[str, Any]) -> dict[str, Any]:
    return {(k[4:] if k.startswith("sum_") else k): v for k, v in row.items()}


SOURCE_KEYS = ("source", "urgency")  # the groupings only the source rollup keeps


async def _rolled_up(rollup: str, paths: list[str], category_path: str | None, query: Any,
                     first: date, stop: date, key_field: str | None,
                     names: Names = metrics.TICKET_COUNTS, *, months: bool = True
                     ) -> list[dict[str, Any]]:
    """Counts of whole days from a rollup (whole months from its monthly layer,
    `reads.rollup_rows`) and the deltas not yet folded into it."""
    if rollup == CATEGORIES:
        assert category_path is not None
    folded, pending = await reads.rollup_rows(
        rollup, paths, first, stop, category_path=category_path,
        unit=query.unit if rollup == UNITS else None, months=months)
    rows = []
    for qs in (*folded, pending):
        rows += await _sums(qs, key_field, names)
    return [_unsum(row) for row in rows]


def _rollup_for(paths: list[str], query: Any, key_field: str | None) -> str | None:
    """Which rollup answers the query's whole days; None: only the tickets can.

    The rollups per community (by unit, by category) are far smaller than the one per cell,
    so they serve whatever does not need cells: scopes of whole communities or more, rows
    per community, street or unit. Neither combines a unit with a category. Rows per source
    or urgency come from the source rollup, which keeps neither unit nor category.
    """
    coarse = all(len(path_levels(p)) <= COMMUNITY_LEVELS for p in paths)
    if key_field in SOURCE_KEYS:
        return SOURCES if coarse and not query.unit and not query.category else None
    per_cell = key_field == "area_path" and getattr(query, "by", None) == "grid"
    by_unit = bool(query.unit) or key_field == "unit_id"
    if query.category:
        return CATEGORIES if coarse and not per_cell and not by_unit else None
    if coarse and not per_cell:
        return UNITS
    return None if by_unit else CELLS


async def _ticket_counts(tickets: Any, paths: list[str], category_path: str | None, query: Any,
                         start: datetime, end: datetime, key_field: str | None,
                         names: Names = metrics.TICKET_COUNTS) -> list[dict[str, Any]]:
    """Rows of ticket counts `names` for the period (grouped by `key_field` when given).

    Whole local days come from a rollup (`_rollup_for`); the hours before the first and after
    the last whole day (or the rest of a last day read whole, `reads.cut`), and what no rollup
    can answer, are counted from the tickets. All reads
    share one snapshot, so a ticket changing meanwhile (its delta rows written with it) or the
    job folding deltas is seen entirely or not at all.
    """
    days, pieces = reads.cut(start, end)
    rollup = _rollup_for(paths, query, key_field)
    if days is None or rollup is None:
        return await _scanned(tickets, start, end, key_field, names)
    first, stop = days
    async with in_transaction(replica.reading_from()):
        rows = await _rolled_up(rollup, paths, category_path, query, first, stop, key_field,
                                names)
        for a, b, sign in pieces:
            rows += _signed(await _scanned(tickets, a, b, key_field, names), sign)
    return rows


def _signed(rows: list[dict[str, Any]], sign: int) -> list[dict[str, Any]]:
    """Rows of counts as they are (1) or taken away (-1): a piece of a day the rollup holds
    whole but the period does not (`reads.cut`)."""
    if sign == 1:
        return rows
    return [{k: -int(v or 0) if k in metrics.ROLLUP_COUNTS else v for k, v in row.items()}
            for row in rows]


@replica.heavy_read
async def breakdown(*, viewer: User, query: Any, shared: dict[Any, Any] | None = None
                    ) -> Breakdown:
    """The same counts per unit, grid cell, community, street, source, category (大类 or
    小类) or urgency, or per day / week / month (the trend, `groups`).

    `shared`: a dict the caller passes to several breakdowns of one scope and period (the
    dashboard's) so that 大类 and 小类 read the category rollup once."""
    from app.stats import groups  # it builds on this module

    start, end = _period(query)
    tickets, ratings, paths, category_path = await _filtered(viewer, query)
    if query.by in groups.BYS:
        return await groups.breakdown(query, tickets, ratings, paths, category_path, start, end,
                                      shared=shared)
    if query.by == "source":
        return await _by_source(query, tickets, ratings, paths, category_path, start, end)
    key_field = "unit_id" if query.by == "unit" else "area_path"
    rows = await _ticket_counts(tickets, paths, category_path, query, start, end,
                                key_field=key_field)
    aggregates = _rating_aggregates()
    rows += await ratings.filter(_in("created_at", start, end)).annotate(**aggregates).group_by(
        key_field).values(key_field, *aggregates)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row[key_field]
        if query.by != "unit":
            parts = [p for p in (key or "").split("/") if p]
            depth = GROUP_DEPTH[query.by]
            key = parts[depth - 1] if len(parts) >= depth else ""
        grouped.setdefault(str(key or ""), []).append(row)
    names = await _names(query.by, [k for k in grouped if k])
    result = [
        BreakdownRow(key=key, name=names.get(key, "未定位" if query.by != "unit" else "未派遣"),
                     **_summary(_total(group), start, end).model_dump())
        for key, group in sorted(grouped.items())
    ]
    return Breakdown(by=query.by, rows=result)


SOURCE_NAMES = {TicketSource.RESIDENT: "群众上报", TicketSource.PATROL: "网格巡查",
                TicketSource.HOTLINE: "热线工单", TicketSource.CAMERA: "自动识别",
                TicketSource.STAFF: "工作人员上报"}


async def _by_source(query: Any, tickets: Any, ratings: Any, paths: list[str],
                     category_path: str | None, start: datetime, end: datetime) -> Breakdown:
    """Per intake channel: whole days from the source rollup where it answers (a scope of
    whole communities, no unit or category filter), the rest from the tickets."""
    from app.stats import groups  # it builds on this module

    rows = await _ticket_counts(tickets, paths, category_path, query, start, end,
                                key_field="source")
    # A rating has no source: grouped by its ticket's, in one read.
    rows += await groups._grouped_ratings(ratings, start, end, "source")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row["source"] or ""), []).append(row)
    result = [BreakdownRow(key=key, name=_source_name(key),
                           **_summary(_total(group), start, end).model_dump())
              for key, group in sorted(grouped.items())
              if any(int(v or 0) for row in group for k, v in row.items() if k != "source")]
    return Breakdown(by="source", rows=result)


def _source_name(key: str) -> str:
    try:
        return SOURCE_NAMES.get(TicketSource(key), key)
    except ValueError:
        return key or "未知"


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


async def unit_counts(*, paths: list[str], start: datetime,
                      end: datetime) -> dict[int, dict[str, int]]:
    """The rollups' counts (`metrics.ROLLUP_COUNTS`) of [start, end) in the area `paths`, per
    unit holding the ticket now (0: none): whole days from the per-unit rollup where it
    answers, the edges from the tickets (the units' ranking, `app.evaluation`)."""
    tickets = Ticket.filter(under_any("area_path", paths))
    by_unit = BreakdownQuery.model_validate({"by": "unit"})
    rows = await _ticket_counts(tickets, paths, None, by_unit, start.astimezone(UTC),
                                end.astimezone(UTC), key_field="unit_id",
                                names=metrics.ROLLUP_COUNTS)
    out: dict[int, dict[str, int]] = {}
    for row in rows:
        into = out.setdefault(int(row["unit_id"] or 0), dict.fromkeys(metrics.ROLLUP_COUNTS, 0))
        for name in metrics.ROLLUP_COUNTS:
            into[name] += int(row.get(name) or 0)
    return out
