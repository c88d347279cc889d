"""Which rows of the rollups hold the counts of whole local days [first, stop): the whole
local months inside them from a monthly rollup, the days before the first and after the last
whole month from the daily one, and the deltas not yet folded (kept per day) of all of them.

A month's row is the sum of its days' rows (`app.stats.rollups`), so the split changes no
count; a year reads 12 rows per key where it read 365. A range with no whole month reads the
daily rollup alone, as before the monthly layer. `cut` decides which days a period reads from
the rollups and which hours from the tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from typing import Any

from tortoise.expressions import Q

from app.catalog import service as catalog
from app.core.paths import under, under_any
from app.stats import metrics
from app.stats.models import (
    StatsDaily,
    StatsDailyCategory,
    StatsDailySource,
    StatsDailyUnit,
    StatsDelta,
    StatsMonthly,
    StatsMonthlyCategory,
    StatsMonthlySource,
    StatsMonthlyUnit,
)
from app.stats.rollups import TZ, month_of

CELLS, UNITS, CATEGORIES, SOURCES = "cells", "units", "categories", "sources"  # the rollups
MODELS: dict[str, tuple[Any, Any]] = {  # rollup: (daily, monthly)
    CELLS: (StatsDaily, StatsMonthly),
    UNITS: (StatsDailyUnit, StatsMonthlyUnit),
    CATEGORIES: (StatsDailyCategory, StatsMonthlyCategory),
    SOURCES: (StatsDailySource, StatsMonthlySource),
}


Piece = tuple[datetime, datetime, int]  # [from, to) counted from the tickets, added (1) or taken (-1)


def cut(start: datetime, end: datetime) -> tuple[tuple[date, date] | None, list[Piece]]:
    """[start, end) as whole local days [first, stop) for the rollups and ragged pieces for the
    tickets.

    The hours of the last day are counted either as they are or as the whole day from the
    rollups less the rest of it, whichever leaves fewer hours in which a stage can lie (none
    lies after the time of the read): a period ending now reads today from the rollups less the
    hours after now, which hold nothing, instead of every ticket of the day. Counts add over
    disjoint periods, so both are exact.
    """
    now = datetime.now(UTC)

    def live(a: datetime, b: datetime) -> timedelta:
        return max(timedelta(0), min(b, now) - a)

    first = start.astimezone(TZ).date()
    if start > metrics.midnight(first, TZ):
        first += timedelta(days=1)
    stop = end.astimezone(TZ).date()
    if first > stop:  # inside one day, ragged at both ends
        return None, [(start, end, 1)]
    pieces: list[Piece] = []
    if start < metrics.midnight(first, TZ):
        pieces.append((start, metrics.midnight(first, TZ), 1))
    last = metrics.midnight(stop, TZ)
    if end > last:
        following = metrics.midnight(stop + timedelta(days=1), TZ)
        if live(end, following) < live(last, end):
            stop += timedelta(days=1)
            pieces.append((end, following, -1))
        else:
            pieces.append((last, end, 1))
    return ((first, stop) if first < stop else None), pieces


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return month_of(day.replace(day=28) + timedelta(days=4))


@dataclass(frozen=True)
class Spans:
    """Whole days [first, stop) cut at month starts: `months` [first month, stop month) (by
    their first days; None if no whole month lies inside) and the `days` ranges left."""

    months: tuple[date, date] | None
    days: list[tuple[date, date]]


def split_months(first: date, stop: date) -> Spans:
    """The whole months inside the days [first, stop), and the days before and after them."""
    month_first = first if first.day == 1 else next_month(first)
    month_stop = month_of(stop)
    if month_first >= month_stop:
        return Spans(None, [(first, stop)] if first < stop else [])
    days = [(a, b) for a, b in ((first, month_first), (month_stop, stop)) if a < b]
    return Spans((month_first, month_stop), days)


def _in(ranges: list[tuple[date, date]]) -> Q:
    where = Q(day__gte=ranges[0][0], day__lt=ranges[0][1])
    for a, b in ranges[1:]:
        where |= Q(day__gte=a, day__lt=b)
    return where


def day_key(model: Any) -> str:
    """The name of a rollup table's (day, …) unique key, for an index hint.

    Tortoise's migrations name a `unique_together` key "uid_" + the table's first 11
    characters + the first field's first 7 + a 6-digit hash of the table and the fields.
    """
    table = model._meta.db_table
    keys = tuple(model._meta.unique_together[0])
    digest = sha256(";".join((table, *keys)).encode()).hexdigest()[:6]
    return f"uid_{table[:11]}_{keys[0][:7]}_{digest}"


async def category_ids(path: str) -> list[int]:
    """The ids of the category at `path` and of every category under it."""
    return [c.id for c in (await catalog.categories_by_id()).values()
            if c.path.startswith(path)]


async def rollup_rows(rollup: str, paths: list[str], first: date, stop: date, *,
                      category_path: str | None = None, unit: int | None = None,
                      months: bool = True) -> tuple[list[Any], Any]:
    """(querysets of the folded rows, queryset of the pending deltas) holding the counts of
    the whole days [first, stop) in the area `paths`, for a category subtree (the category
    rollup) or a unit (the unit rollup) when given.

    Folded rows: whole months from the monthly rollup, the other days from the daily one
    (`months=False`: every day from the daily one, for a caller that needs them by day).
    Rows of one key may come from both: callers add rows up, never take one as the whole.
    """
    daily, monthly = MODELS[rollup]
    spans = split_months(first, stop) if months else Spans(None, [(first, stop)])
    where = [under_any("area_path", paths)]
    pending = StatsDelta.filter(Q(day__gte=first, day__lt=stop), *where)
    if rollup == CATEGORIES and category_path is not None:
        where.append(under("category_path", category_path))
        pending = pending.filter(category_id__in=await category_ids(category_path))
    if rollup == UNITS and unit:
        where.append(Q(unit_id=unit))
        pending = pending.filter(unit_id=unit)
    folded = []
    if spans.days:
        folded.append(daily.filter(_in(spans.days), *where))
    if spans.months:
        folded.append(monthly.filter(_in([spans.months]), *where))
    return folded, pending
