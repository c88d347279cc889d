"""The case ledger (案件台账): every ticket behind a period's figures, with its stage times,
as CSV rows produced in keyset batches so that any number of rows streams in bounded memory.

Which tickets: those in the viewer's statistics scope and the query's filters (area, 大类/小类,
unit) with a counted stage in the period (reported, accepted, rejected or first dispatched),
i.e. every ticket that can count in one of the period's figures. No resident's identity is
written: staff read none through the API either (the reporter is not shown to staff; a
hotline caller's name and number never leave the hotline domain).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.accounts.models import User
from app.areas.models import Area
from app.catalog import service as catalog
from app.stats import service as base
from app.stats.rollups import TZ, path_levels
from app.tickets.models import TicketSource, Urgency
from app.tickets.workflow import OPEN_STATUSES, status_label
from app.units.models import Unit

BATCH = 2000
HEADER = ("编号", "来源", "大类", "小类", "紧急程度", "状态", "街道", "社区", "网格", "地址",
          "处置单位", "上报时间", "立案时间", "不予立案时间", "首次派遣时间", "首次处置时间",
          "结案时间", "处置时限", "按期处置", "按期结案", "超期未结", "自行处置", "退回次数",
          "返工次数", "延期次数")
FIELDS = ("id", "number", "source", "category_id", "urgency", "status", "area_path", "address",
          "unit_id", "created_at", "accepted_at", "rejected_at", "first_dispatched_at",
          "first_handled_at", "closed_at", "deadline_at", "handled_on_time", "closed_on_time",
          "is_self_disposed", "return_count", "rework_count", "extension_count")
SOURCE_NAMES = base.SOURCE_NAMES
URGENCY_NAMES = {Urgency.NORMAL: "普通", Urgency.URGENT: "紧急"}


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bjt(value: Any) -> str:
    moment = _moment(value)
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _verdict(stored: Any, done: Any, due: Any) -> str:
    """是/否 as the statistics judge it (the stored verdict, else against the deadline held);
    empty when the stage has not happened."""
    done_at = _moment(done)
    if done_at is None:
        return ""
    if stored is not None:
        return "是" if stored else "否"
    due_at = _moment(due)
    return "是" if due_at is None or done_at <= due_at else "否"


def _name_of(enum: Any, names: dict[Any, str], value: Any) -> str:
    try:
        return names.get(enum(value), str(value))
    except ValueError:
        return str(value)


@dataclass
class Ledger:
    """A ledger export checked and ready: iterate `chunks()` to write it."""

    tickets: Any
    now: datetime
    batch: int = BATCH

    async def chunks(self) -> AsyncIterator[str]:
        """The CSV text: the BOM and header, then one chunk per batch of tickets."""
        out = io.StringIO()
        out.write("\ufeff")
        csv.writer(out).writerow(HEADER)
        yield out.getvalue()
        categories = await catalog.categories_by_id()
        units: dict[int, str] = {}
        areas: dict[str, str] = {}
        after = 0
        while True:
            rows = await self.tickets.filter(id__gt=after).order_by("id").limit(
                self.batch).values(*FIELDS)
            if not rows:
                return
            await _load_names(rows, units, areas)
            out = io.StringIO()
            writer = csv.writer(out)
            for row in rows:
                writer.writerow(self._line(row, categories, units, areas))
            yield out.getvalue()
            after = rows[-1]["id"]
            if len(rows) < self.batch:
                return

    def _line(self, row: dict[str, Any], categories: dict[int, Any], units: dict[int, str],
              areas: dict[str, str]) -> list[Any]:
        category = categories.get(row["category_id"])
        major = categories.get(category.parent_id) if category and category.parent_id else None
        levels = path_levels(row["area_path"] or "")
        street, community, cell = (areas.get(levels[i], "") if len(levels) > i else ""
                                   for i in (1, 2, 3))
        deadline = _moment(row["deadline_at"])
        overdue = (row["status"] in OPEN_STATUSES and deadline is not None
                   and deadline < self.now)
        return [
            row["number"] or f"#{row['id']}", _name_of(TicketSource, SOURCE_NAMES, row["source"]),
            major.name if major else "", category.name if category else "",
            _name_of(Urgency, URGENCY_NAMES, row["urgency"]),
            status_label(row["status"]), street, community, cell,
            row["address"], units.get(row["unit_id"] or 0, ""), _bjt(row["created_at"]),
            _bjt(row["accepted_at"]), _bjt(row["rejected_at"]), _bjt(row["first_dispatched_at"]),
            _bjt(row["first_handled_at"]), _bjt(row["closed_at"]), _bjt(row["deadline_at"]),
            _verdict(row["handled_on_time"], row["first_handled_at"], row["deadline_at"]),
            _verdict(row["closed_on_time"], row["closed_at"], row["deadline_at"]),
            "是" if overdue else "否", "是" if row["is_self_disposed"] else "否",
            row["return_count"], row["rework_count"], row["extension_count"],
        ]


async def _load_names(rows: list[dict[str, Any]], units: dict[int, str],
                      areas: dict[str, str]) -> None:
    """Fill the name caches with what this batch needs (a district has few of each)."""
    unit_ids = {r["unit_id"] for r in rows if r["unit_id"]} - units.keys()
    if unit_ids:
        units.update({u.id: u.name for u in await Unit.filter(id__in=list(unit_ids))})
    codes = {code for r in rows for code in path_levels(r["area_path"] or "")} - areas.keys()
    if codes:
        areas.update({a.code: a.name for a in await Area.filter(code__in=list(codes))})
        areas.update({code: "" for code in codes if code not in areas})


async def open_ledger(*, viewer: User, query: Any) -> Ledger:
    """Check the viewer and the query (403/404/422 raised here, before anything is sent)."""
    start, end = base._period(query)
    tickets, _, _, _ = await base._filtered(viewer, query)
    return Ledger(tickets=tickets.filter(base._touches_period(start, end)),
                  now=datetime.now(UTC), batch=BATCH)
