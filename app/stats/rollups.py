"""Keeping the rollups: the deltas every ticket change writes (`record`), the job that folds
them into the daily and the monthly rollups (`compact`), and the recount from the tickets
(`rebuild`).

The rollups and the deltas are defined in `app.stats.models`; the summaries that read them are
in `app.stats.service` (which re-exports these names for the door, the job and the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.catalog import service as catalog
from app.core import workcalendar
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
from app.tickets.models import Ticket
from app.tickets.workflow import Status

TZ = workcalendar.SHANGHAI
COMMUNITY_LEVELS = 3  # district / street / community: the by-unit rollup's area


def path_levels(path: str) -> list[str]:
    """The codes along a materialised path ("/a/b/" → ["a", "b"])."""
    return [part for part in path.split("/") if part]


def community_path(cell_path: str) -> str:
    """The community's path of a cell's path (a shorter path stays as it is)."""
    levels = path_levels(cell_path)
    return "/" + "/".join(levels[:COMMUNITY_LEVELS]) + "/" if levels else cell_path


def _facts(value: Callable[[str], Any]) -> metrics.TicketFacts:
    """The statistics facts from a ticket's columns, read by name."""
    return metrics.TicketFacts(
        reported_at=value("created_at"), self_disposed=value("is_self_disposed"),
        accepted_at=value("accepted_at"), rejected_at=value("rejected_at"),
        first_dispatched_at=value("first_dispatched_at"),
        first_handled_at=value("first_handled_at"), deadline_at=value("deadline_at"),
        closed_at=value("closed_at"), merged=value("status") == Status.MERGED,
        voided=value("status") == Status.VOIDED, forwarded=value("status") == Status.FORWARDED,
        returned=value("return_count") > 0, reworked=value("rework_count") > 0,
        extended=value("extension_count") > 0, suspended=value("suspend_count") > 0,
        handled_on_time=_verdict(value("handled_on_time")),
        closed_on_time=_verdict(value("closed_on_time")),
    )


def _verdict(stored: Any) -> bool | None:
    # values() hands MariaDB's TINYINT back as 0/1; models give bools.
    return None if stored is None else bool(stored)


def facts_of(ticket: Ticket) -> metrics.TicketFacts:
    return _facts(lambda name: getattr(ticket, name))


def _delta_rows(change: dict[date, dict[str, int]], ticket: Ticket) -> list[StatsDelta]:
    return [StatsDelta(day=day, area_path=ticket.area_path, unit_id=ticket.unit_id,
                       category_id=ticket.category_id, source=str(ticket.source),
                       urgency=str(ticket.urgency), **counts)
            for day, counts in change.items()]


def _key(ticket: Ticket) -> tuple[str, int | None, int | None, str, str]:
    return (ticket.area_path, ticket.unit_id, ticket.category_id, str(ticket.source),
            str(ticket.urgency))


async def record(before: Ticket | None, after: Ticket) -> None:
    """Call in the transaction that changed the ticket: what it adds to the daily counts."""
    if before is not None and _key(before) != _key(after):
        # Moved to another unit, category, cell or urgency: its counts leave the old rows,
        # join new ones.
        rows = (_delta_rows(metrics.change(facts_of(before), None, TZ), before)
                + _delta_rows(metrics.change(None, facts_of(after), TZ), after))
    else:
        old = facts_of(before) if before is not None else None
        rows = _delta_rows(metrics.change(old, facts_of(after), TZ), after)
    if rows:
        await StatsDelta.bulk_create(rows)


Totals = dict[tuple[Any, ...], dict[str, int]]


def month_of(day: date) -> date:
    """The first day of the (local) month of a local day: the monthly rollups' `day`."""
    return day.replace(day=1)


def _by_month(totals: Totals) -> Totals:
    """Daily totals (keys starting with the day) added up per month."""
    out: Totals = {}
    for (day, *rest), counts in totals.items():
        _add(out, (month_of(day), *rest), counts)
    return out


def _add(totals: Totals, key: tuple[Any, ...], counts: dict[str, int]) -> None:
    into = totals.setdefault(key, dict.fromkeys(metrics.ROLLUP_COUNTS, 0))
    for name, value in counts.items():
        into[name] += value


@dataclass
class _Rollups:
    """Contributions gathered for the four rollups, by their keys."""

    categories_by_id: dict[int, Any]
    cells: Totals = field(default_factory=dict)
    units: Totals = field(default_factory=dict)
    categories: Totals = field(default_factory=dict)
    sources: Totals = field(default_factory=dict)

    def add(self, day: date, cell_path: str, unit_id: int | None, category_id: int | None,
            source: str | None, urgency: str | None, counts: dict[str, int]) -> None:
        community = community_path(cell_path)
        category = self.categories_by_id.get(category_id) if category_id else None
        _add(self.cells, (day, cell_path), counts)
        _add(self.units, (day, community, unit_id or 0), counts)
        _add(self.categories, (day, community, category.path if category else ""), counts)
        _add(self.sources, (day, community, source or "", urgency or ""), counts)

    def _all(self) -> list[tuple[Any, tuple[str, ...], Totals]]:
        """(model, key columns, totals) of every daily rollup and its monthly one."""
        out: list[tuple[Any, tuple[str, ...], Totals]] = []
        for daily, monthly, keys, totals in (
                (StatsDaily, StatsMonthly, CELL_KEYS, self.cells),
                (StatsDailyUnit, StatsMonthlyUnit, UNIT_KEYS, self.units),
                (StatsDailyCategory, StatsMonthlyCategory, CATEGORY_KEYS, self.categories),
                (StatsDailySource, StatsMonthlySource, SOURCE_KEYS, self.sources)):
            out += [(daily, keys, totals), (monthly, keys, _by_month(totals))]
        return out

    async def fold(self) -> None:
        for model, keys, totals in self._all():
            await _fold(model, keys, totals)

    async def replace(self) -> None:
        for model, keys, totals in self._all():
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
SOURCE_KEYS = ("day", "area_path", "source", "urgency")


async def compact(*, batch: int = COMPACT_BATCH, max_batches: int = 50) -> int:
    """Fold delta rows into the daily and the monthly rollups, a batch per transaction;
    returns rows folded.

    The batch is read with a row lock, so a second job instance waits and then finds the
    rows gone rather than folding them twice. The rows are locked by their ids, not by a
    range: on MySQL/MariaDB a locking range scan that reaches the end of the table also
    locks the gap after its last row (next-key locking), and every ticket change's delta
    insert then waited for the whole fold to commit (tests/stats/test_fold_locks.py).
    """
    folded = 0
    for _ in range(max_batches):
        async with in_transaction("default"):
            ids = await StatsDelta.all().order_by("id").limit(batch).values_list("id", flat=True)
            if not ids:
                break
            # Model rows, not .values(): Tortoise drops FOR UPDATE from a values() query.
            rows = await StatsDelta.filter(id__in=ids).order_by("id").select_for_update()
            rollups = _Rollups(await catalog.categories_by_id())
            for row in rows:
                rollups.add(row.day, row.area_path, row.unit_id, row.category_id,
                            row.source, row.urgency,
                            {name: getattr(row, name) for name in metrics.ROLLUP_COUNTS})
            await rollups.fold()
            await StatsDelta.filter(id__in=[r.id for r in rows]).delete()
        folded += len(rows)
        if len(ids) < batch:
            break
    return folded


async def rebuild(*, batch: int = 20_000) -> int:
    """Recount the daily and the monthly rollups from the tickets (after a bulk import, after
    a migration that adds a rollup, or to repair them).

    Run it while nothing else changes tickets (a maintenance window): a ticket changed while
    it runs may be counted twice or not at all. Returns the tickets read.
    """
    fields_needed = ("id", "area_path", "unit_id", "category_id", "source", "urgency",
                     "created_at", "is_self_disposed", "extension_count", "suspend_count",
                     "accepted_at", "rejected_at", "first_dispatched_at", "first_handled_at",
                     "deadline_at", "closed_at", "status", "return_count", "rework_count",
                     "handled_on_time", "closed_on_time")
    rollups = _Rollups(await catalog.categories_by_id())
    read, after = 0, 0
    async with in_transaction("default"):
        while True:
            rows = await Ticket.filter(id__gt=after).order_by("id").limit(batch).values(
                *fields_needed)
            if not rows:
                break
            for row in rows:
                for day, counts in metrics.by_day(_facts(row.__getitem__), TZ).items():
                    rollups.add(day, row["area_path"], row["unit_id"], row["category_id"],
                                str(row["source"]), str(row["urgency"]), counts)
            read += len(rows)
            after = rows[-1]["id"]
        await StatsDelta.all().delete()
        await rollups.replace()
    return read
