"""The oracle's own ledger and its own arithmetic: every count and rate of docs/metrics.md,
computed straight from the definitions, sharing no code with `app.stats`.

The oracle test (`test_oracle.py`) writes down, case by case, what it did through the API and
when (its clock chose the moments); this module then says what each published figure must be.
Nothing here imports the application: a wrong idea in `app.stats` cannot be copied into it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

# The counts, in the order the CSV export prints them.
COUNTS = ("reported", "accepted", "rejected", "self_disposed", "dispatched", "returned",
          "should_handle", "handled", "handled_on_time", "reworked", "should_close", "closed",
          "closed_on_time", "forwarded", "rated", "satisfied", "basically_satisfied", "unsatisfied",
          "replied")

# key: (Chinese label, numerator, denominator), the "Rates" table of docs/metrics.md.
RATES: dict[str, tuple[str, Callable[[dict[str, int]], int], Callable[[dict[str, int]], int]]] = {
    "handling_rate": ("处置率", lambda c: c["handled"], lambda c: c["should_handle"]),
    # 采集口径 (聊城): handled cases and self-disposals over every report collected.
    "disposal_rate_of_collected": ("处置率（采集口径）",
                                   lambda c: c["handled"] + c["self_disposed"],
                                   lambda c: c["reported"]),
    "handled_on_time_rate": ("按期处置率", lambda c: c["handled_on_time"],
                             lambda c: c["should_handle"]),
    "closing_rate": ("结案率", lambda c: c["closed"], lambda c: c["should_close"]),
    "closed_on_time_rate": ("按期结案率", lambda c: c["closed_on_time"],
                            lambda c: c["should_close"]),
    "rework_rate": ("返工率", lambda c: c["reworked"], lambda c: c["handled"]),
    "dispatch_accuracy_rate": ("准确派遣率", lambda c: c["dispatched"] - c["returned"],
                               lambda c: c["dispatched"]),
    "satisfaction_rate": ("满意率", lambda c: c["satisfied"] + c["basically_satisfied"],
                          lambda c: c["rated"]),
    "reply_rate": ("回复率", lambda c: c["replied"], lambda c: c["rated"]),
}

# 满意 > 基本满意 > 不满意: a rating's level is the worse of result and service.
LEVEL_ORDER = {"unsatisfied": 0, "basically_satisfied": 1, "satisfied": 2}


def worse(result: str, service: str) -> str:
    return min(result, service, key=LEVEL_ORDER.__getitem__)


@dataclass
class Rated:
    """A rating as given: when, its level, whether staff replied; the cell and unit the
    ticket had when it was rated (a rating is counted there)."""

    id: int
    at: datetime
    level: str
    cell: str
    unit: int | None
    replied: bool = False
    sent_back: bool = False  # 重办 asked for on it (once)


@dataclass
class Case:
    """One ticket, as the test drove it: every moment is the test clock's."""

    id: int
    cell: str  # the grid cell's code: its community is cell[:12], its street cell[:9]
    category: str  # the 小类's code now
    unit: int | None  # the unit holding it now
    reported_at: datetime
    self_disposed: bool = False
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    returned: bool = False
    merged: bool = False
    voided: bool = False  # 作废, approved by a supervisor
    forwarded: bool = False  # 热线推送: forwarded to an outside body
    first_handled_at: datetime | None = None
    # Judged when it happened, against the deadline the API showed at that moment.
    handled_on_time: bool | None = None
    reworked: bool = False
    closed_at: datetime | None = None  # None again once reopened
    closed_on_time: bool | None = None
    deadline_at: datetime | None = None  # the deadline the API shows now
    status: str = "submitted"
    ratings: list[Rated] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """A filter: a subtree of areas (a code prefix), a category subtree, a unit."""

    area: str = ""
    category: str = ""
    unit: int | None = None

    def holds(self, *, cell: str, category: str, unit: int | None) -> bool:
        return (cell.startswith(self.area) and category.startswith(self.category)
                and (self.unit is None or unit == self.unit))


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end  # half-open


def case_counts(case: Case, start: datetime, end: datetime) -> dict[str, int]:
    """One ticket's ticket counts in [start, end), by the table of docs/metrics.md."""
    reported = _within(case.reported_at, start, end)
    if case.self_disposed:
        return {**dict.fromkeys(COUNTS, 0), "reported": int(reported),
                "self_disposed": int(reported)}
    dispatched = _within(case.first_dispatched_at, start, end)
    # A duplicate, a void and a forwarded case are no cases of ours (docs/metrics.md).
    ours = not (case.merged or case.voided or case.forwarded)
    should_handle = dispatched and ours
    handled = should_handle and case.first_handled_at is not None
    accepted = _within(case.accepted_at, start, end)
    should_close = accepted and ours
    closed = should_close and case.closed_at is not None
    return {
        **dict.fromkeys(COUNTS, 0),
        "reported": int(reported),
        "accepted": int(accepted),
        "rejected": int(_within(case.rejected_at, start, end)),
        "dispatched": int(dispatched),
        "returned": int(dispatched and case.returned),
        "should_handle": int(should_handle),
        "handled": int(handled),
        "handled_on_time": int(handled and bool(case.handled_on_time)),
        "reworked": int(handled and case.reworked),
        "should_close": int(should_close),
        "closed": int(closed),
        "closed_on_time": int(closed and bool(case.closed_on_time)),
        "forwarded": int(reported and case.forwarded),
    }


def rating_counts(rating: Rated, start: datetime, end: datetime) -> dict[str, int]:
    rated = _within(rating.at, start, end)
    return {**dict.fromkeys(COUNTS, 0), "rated": int(rated),
            "satisfied": int(rated and rating.level == "satisfied"),
            "basically_satisfied": int(rated and rating.level == "basically_satisfied"),
            "unsatisfied": int(rated and rating.level == "unsatisfied"),
            "replied": int(rated and rating.replied)}


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        into[name] += value


def counts(cases: Iterable[Case], start: datetime, end: datetime,
           scope: Scope = Scope()) -> dict[str, int]:
    """Every count of [start, end) over the cases and ratings in `scope`."""
    total = dict.fromkeys(COUNTS, 0)
    for key, row in breakdown(cases, start, end, scope, by=lambda cell, unit: "").items():
        assert key == ""
        _add(total, row)
    return total


def breakdown(cases: Iterable[Case], start: datetime, end: datetime, scope: Scope,
              by: Callable[[str, int | None], str]) -> dict[str, dict[str, int]]:
    """Counts per row key (`by(cell, unit)`), rows that count nothing left out. Tickets count
    where they are now; ratings where their ticket was when rated, under its category now."""
    rows: dict[str, dict[str, int]] = {}

    def put(key: str, more: dict[str, int]) -> None:
        if any(more.values()):
            _add(rows.setdefault(key, dict.fromkeys(COUNTS, 0)), more)

    for case in cases:
        if scope.holds(cell=case.cell, category=case.category, unit=case.unit):
            put(by(case.cell, case.unit), case_counts(case, start, end))
        for rating in case.ratings:
            if scope.holds(cell=rating.cell, category=case.category, unit=rating.unit):
                put(by(rating.cell, rating.unit), rating_counts(rating, start, end))
    return rows


BY: dict[str, Callable[[str, int | None], str]] = {
    "unit": lambda cell, unit: str(unit) if unit else "",
    "grid": lambda cell, unit: cell,
    "community": lambda cell, unit: cell[:12],
    "street": lambda cell, unit: cell[:9],
}


def percent(numerator: int, denominator: int) -> str:
    """Two decimals rounded half up (四舍五入), exactly; "—" with no denominator."""
    if denominator == 0:
        return "—"
    hundredths = Fraction(numerator * 10_000, denominator)
    rounded = int(hundredths + Fraction(1, 2))  # floor(x + ½): half up, x ≥ 0
    return f"{rounded // 100}.{rounded % 100:02d}%"


def rates(row: dict[str, int]) -> dict[str, dict[str, object]]:
    """The published rates of a row of counts, as the API prints them."""
    out: dict[str, dict[str, object]] = {}
    for key, (label, numerator, denominator) in RATES.items():
        n, d = numerator(row), denominator(row)
        out[key] = {"value": None if d == 0 else n / d, "display": percent(n, d),
                    "label": label}
    return out


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """The export's header and rows (it starts with a BOM so Excel reads UTF-8)."""
    assert text.startswith("\ufeff"), "the CSV starts with a BOM"
    header, *rows = list(csv.reader(io.StringIO(text[1:])))
    return header, rows


def csv_header() -> list[str]:
    return ["编码", "名称", *COUNTS, *[label for label, _, _ in RATES.values()]]


def csv_row(key: str, name: str, row: dict[str, int]) -> list[str]:
    shown = rates(row)
    return [key, name, *[str(row[n]) for n in COUNTS], *[str(shown[k]["display"]) for k in RATES]]
