"""Breakdowns by category (大类, 小类), by urgency, and the trend (per day, week or month).

The same counts as `service.summary`, grouped another way. Whole local days come from the
rollups where one can answer (the per-category rollup keeps the 小类's path; every rollup
keeps the day; whole months come from the monthly ones, `app.stats.reads`), the ragged hours
at the period's edges from the tickets, as in `service._ticket_counts` (urgency from the
per-source rollup, which keeps it). A trend is one read of a rollup grouped by day (by month
for a trend by month), not one summary per point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from app.catalog import service as catalog
from app.core import replica
from app.core.errors import Invalid
from app.stats import metrics, reads, rollups
from app.stats import service as base
from app.stats.rollups import TZ, path_levels
from app.stats.schemas import Breakdown, BreakdownRow
from app.tickets.models import Urgency

CATEGORY_BYS = ("category", "category_major")
TREND_BYS = ("day", "week", "month")
BYS = (*CATEGORY_BYS, "urgency", *TREND_BYS)
URGENCY_NAMES = {Urgency.NORMAL.value: "普通", Urgency.URGENT.value: "紧急"}
MAX_TREND_POINTS = 400
_FACT_FIELDS = ("created_at", "is_self_disposed", "accepted_at", "rejected_at",
                "first_dispatched_at", "first_handled_at", "deadline_at", "closed_at",
                "status", "return_count", "rework_count", "extension_count", "suspend_count",
                "handled_on_time", "closed_on_time")


@dataclass(frozen=True)
class _Split:
    """A period cut at local midnights: whole days [first, stop) and the ragged pieces, each
    added (1) or taken away (-1) (`reads.cut`)."""

    days: tuple[date, date] | None
    pieces: list[reads.Piece]


def _split(start: datetime, end: datetime) -> _Split:
    return _Split(*reads.cut(start, end))


# --- by category and by urgency ------------------------------------------------------------


def _category_key(by: str, path: str) -> str:
    levels = path_levels(path)
    if not levels:
        return ""
    return levels[0] if by == "category_major" else levels[-1]


async def _category_rows(tickets: Any, paths: list[str], category_path: str | None,
                         query: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Ticket counts with the 小类's path under "path"."""
    by_id = await catalog.categories_by_id()

    def pathed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            category = by_id.get(row.pop("category_id") or 0)
            out.append({**row, "path": category.path if category else ""})
        return out

    coarse = all(len(path_levels(p)) <= base.COMMUNITY_LEVELS for p in paths)
    split = _split(start, end)
    if not coarse or query.unit or split.days is None:
        return pathed(await base._scanned(tickets, start, end, "category_id"))
    first, stop = split.days
    folded, pending = await reads.rollup_rows(base.CATEGORIES, paths, first, stop,
                                              category_path=category_path or None)
    if not category_path:
        # Every category: MariaDB would walk the (category_path, day) index for the GROUP
        # BY's order and fetch each row through it, reading every day of the table (1.6-2.3 s
        # for a year of daily rows, docs/benchmarks.md); the (day, …) key reads only the
        # period's rows and groups them apart. A hint only MySQL/MariaDB read (SQLite ignores
        # it).
        folded = [qs.use_index(reads.day_key(qs.model)) for qs in folded]
    async with in_transaction(replica.reading_from()):
        rows = [{**base._unsum(r), "path": r.pop("category_path")}
                for qs in folded for r in await base._sums(qs, "category_path")]
        rows += pathed([base._unsum(r) for r in await base._sums(pending, "category_id")])
        for a, b, sign in split.pieces:
            rows += pathed(base._signed(await base._scanned(tickets, a, b, "category_id"),
                                        sign))
    return rows


async def _grouped_ratings(ratings: Any, start: datetime, end: datetime,
                           column: str) -> list[dict[str, Any]]:
    """Rating counts per a column of the rated ticket (its category or urgency now)."""
    aggregates = base._rating_aggregates()
    field = f"ticket__{column}"
    rows = await ratings.filter(base._in("created_at", start, end)).annotate(
        **aggregates).group_by(field).values(field, *aggregates)
    return [{**{k: v for k, v in row.items() if k != field}, column: row[field]}
            for row in rows]


async def _shared_category_rows(tickets: Any, ratings: Any, paths: list[str],
                                category_path: str | None, query: Any, start: datetime,
                                end: datetime, shared: dict[Any, Any] | None
                                ) -> list[dict[str, Any]]:
    """`_category_rows` and the ratings per category, read once per `shared` dict for 大类
    and 小类 alike (copies: the caller pops from them)."""
    key = ("category_rows", tuple(paths), category_path, query.unit, start, end)
    if shared is None or key not in shared:
        rows = await _category_rows(tickets, paths, category_path, query, start, end)
        rated = await _grouped_ratings(ratings, start, end, "category_id")
        if shared is None:
            return rows + rated
        shared[key] = (rows, rated)
    rows, rated = shared[key]
    return [dict(row) for row in (*rows, *rated)]


async def _by_dimension(query: Any, tickets: Any, ratings: Any, paths: list[str],
                        category_path: str | None, start: datetime,
                        end: datetime, shared: dict[Any, Any] | None = None) -> Breakdown:
    groups: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    if query.by in CATEGORY_BYS:
        rows = await _shared_category_rows(tickets, ratings, paths, category_path, query,
                                           start, end, shared)
        by_id = await catalog.categories_by_id()
        for row in rows:
            if "category_id" in row:  # a ratings row: placed by its ticket's category
                category = by_id.get(row.pop("category_id") or 0)
                row["path"] = category.path if category else ""
        for row in rows:
            groups.setdefault(_category_key(query.by, row.pop("path")), []).append(row)
        names = {c.code: c.name for c in by_id.values()}
        unknown = "未分类"
    else:
        rows = await base._ticket_counts(tickets, paths, category_path, query, start, end,
                                         key_field="urgency")
        rows += await _grouped_ratings(ratings, start, end, "urgency")
        for row in rows:
            groups.setdefault(str(row.pop("urgency") or ""), []).append(row)
        names, unknown = URGENCY_NAMES, "未知"
    result = [BreakdownRow(key=key, name=names.get(key, unknown),
                           **base._summary(base._total(group), start, end).model_dump())
              for key, group in sorted(groups.items())]
    return Breakdown(by=query.by, rows=[r for r in result if any(r.counts.values())])


# --- the trend --------------------------------------------------------------------------------


def _bucket_of(by: str) -> Callable[[date], date]:
    if by == "day":
        return lambda day: day
    if by == "week":
        return lambda day: day - timedelta(days=day.weekday())
    return lambda day: day.replace(day=1)


def _next_bucket(by: str, first: date) -> date:
    if by == "day":
        return first + timedelta(days=1)
    if by == "week":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _label(by: str, first: date) -> str:
    if by == "day":
        return f"{first:%m-%d}"
    if by == "week":
        return f"{first:%m-%d} 起一周"
    return f"{first:%Y-%m}"


def _buckets(by: str, start: datetime, end: datetime) -> list[tuple[date, datetime, datetime]]:
    """(bucket key, from, to) for every bucket the period touches, clipped to the period."""
    bucket = _bucket_of(by)
    last_day = (end - timedelta(microseconds=1)).astimezone(TZ).date()
    key, out = bucket(start.astimezone(TZ).date()), []
    while key <= last_day:
        following = _next_bucket(by, key)
        out.append((key, max(metrics.midnight(key, TZ), start),
                    min(metrics.midnight(following, TZ), end)))
        if len(out) > MAX_TREND_POINTS:
            raise Invalid(f"趋势最多 {MAX_TREND_POINTS} 个点，请缩短区间或按周、按月查看",
                          code="invalid_period")
        key = following
    return out


async def _trend_ticket_rows(tickets: Any, paths: list[str], category_path: str | None,
                             query: Any, start: datetime, end: datetime
                             ) -> list[tuple[date, dict[str, Any]]]:
    """Ticket counts as (local day, row): rollup rows by day, edge pieces by their day."""
    split = _split(start, end)
    rollup = base._rollup_for(paths, query, None)
    out: list[tuple[date, dict[str, Any]]] = []
    if rollup is None:
        # A unit inside a cell, or a unit with a category: no rollup keeps that; one read of
        # the facts of the tickets touching the period, counted per day by the reference.
        rows = await tickets.filter(base._touches_period(start, end)).values(*_FACT_FIELDS)
        for row in rows:
            facts = rollups._facts(row.__getitem__)
            for day in metrics.stage_days(facts, TZ):
                a = max(metrics.midnight(day, TZ), start)
                b = min(metrics.midnight(day + timedelta(days=1), TZ), end)
                if a < b:
                    counts = metrics.classify(facts, period=metrics.Period(a, b))
                    out.append((day, base._as_dict(counts)))
        return out
    async with in_transaction(replica.reading_from()):
        if split.days is not None:
            first, stop = split.days
            # By day, or by month from the monthly layer for a trend by month.
            for row in await base._rolled_up(rollup, paths, category_path, query, first, stop,
                                             "day", months=query.by == "month"):
                out.append((row.pop("day"), row))
        for a, b, sign in split.pieces:
            for row in base._signed(await base._scanned(tickets, a, b, None), sign):
                out.append((a.astimezone(TZ).date(), row))
    return out


def _local_day(value: Any) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TZ).date()


async def _trend(query: Any, tickets: Any, ratings: Any, paths: list[str],
                 category_path: str | None, start: datetime, end: datetime) -> Breakdown:
    buckets = _buckets(query.by, start, end)
    bucket = _bucket_of(query.by)
    groups: dict[date, list[dict[str, Any]]] = {key: [] for key, _, _ in buckets}
    for day, row in await _trend_ticket_rows(tickets, paths, category_path, query, start,
                                             end):
        groups.setdefault(bucket(day), []).append(row)
    # Ratings: a row each (the period's, in scope), placed by their local day.
    rated = await ratings.filter(base._in("created_at", start, end)).values_list(
        "created_at", "overall", "has_reply")
    for created_at, overall, has_reply in rated:
        groups.setdefault(bucket(_local_day(created_at)), []).append({
            "rated": 1, str(overall): 1, "replied": int(bool(has_reply))})
    rows = []
    for key, a, b in buckets:
        summary = base._summary(base._total(groups[key]), a, b)
        rows.append(BreakdownRow(key=key.isoformat(), name=_label(query.by, key),
                                 **summary.model_dump()))
    return Breakdown(by=query.by, rows=rows)


async def breakdown(query: Any, tickets: Any, ratings: Any, paths: list[str],
                    category_path: str | None, start: datetime, end: datetime,
                    shared: dict[Any, Any] | None = None) -> Breakdown:
    """`service.breakdown` for the groupings of this module (`BYS`)."""
    if query.by in TREND_BYS:
        return await _trend(query, tickets, ratings, paths, category_path, start, end)
    return await _by_dimension(query, tickets, ratings, paths, category_path, start, end,
                               shared)

