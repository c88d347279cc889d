"""The monthly evaluation (考核) as pure functions over a ticket's timeline.

Every figure is read from the immutable `TicketEvent` rows of a ticket (who did what, when)
and a few columns of the ticket as it stands (status, the door's on-time verdicts). No
database, no web: `service` loads the rows, these functions count them. The formulas are
documented in docs/metrics.md, section "Evaluation (考核)".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from app.stats.metrics import Period, ratio

UNIT, DISPATCHER, WORKER = "unit", "dispatcher", "worker"
KINDS = (UNIT, DISPATCHER, WORKER)
KIND_LABELS = {UNIT: "处置单位", DISPATCHER: "派遣员", WORKER: "网格员/采集员"}

# Statuses a ticket waits for a dispatcher in (the clock of 按时派遣 starts when it arrives).
_DISPATCHABLE = frozenset({"accepted", "returned", "reopened"})
_REWORK = frozenset({"verify_fail", "rate_rework"})
_VERIFY = frozenset({"verify_pass", "verify_fail"})
# The timeline steps the rules read (the loader fetches only these).
ACTIONS = ("accept", "auto_accept", "dispatch", "return", "handle", "request_verification",
           "verify_pass", "verify_fail", "rate_rework", "approve_extension", "suspend",
           "escalate", "accept_escalation")
# Steps that hand the case to a unit (`data.unit_id`): a dispatch, or the next level's
# acceptance of an escalation (上报/升级), which dispatches it to a unit of that level's choice.
_TO_UNIT = frozenset({"dispatch", "accept_escalation"})
# Ended as no case of ours (a duplicate, approved 作废, or forwarded to an outside body):
# out of 应处置 and 应结案, as in the published rates (docs/metrics.md).
NOT_OURS = frozenset({"merged", "voided", "forwarded"})


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a ticket's timeline, as the evaluation needs it."""

    action: str
    at: datetime
    actor_id: int | None = None
    actor_role: str = "system"
    from_status: str | None = None
    to_status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """A ticket as it stands, and its timeline in order."""

    id: int
    created_at: datetime
    status: str
    source: str = "resident"
    reporter_id: int | None = None
    unit_id: int | None = None
    accepted_at: datetime | None = None
    is_self_disposed: bool = False
    handled_on_time: bool | None = None
    closed_on_time: bool | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    """The time limits of the staff's own steps (natural time)."""

    accept: timedelta  # 按时立案: accepted within this after the report
    dispatch: timedelta  # 按时派遣: dispatched within this after it reached the queue
    verify: timedelta  # 按时核查: verified within this after the 核查 was requested


# --- counts -------------------------------------------------------------------------------

@dataclass(slots=True)
class UnitCounts:
    should_handle: int = 0  # 应处置数
    handled: int = 0  # 处置数
    handled_on_time: int = 0  # 按期处置数
    handled_late: int = 0  # 超期处置数
    reworked: int = 0  # 返工数
    extended: int = 0  # 延期数 (tickets with an approved extension while at the unit)
    suspended: int = 0  # 挂账数 (tickets with an approved 挂账 while at the unit)
    should_close: int = 0  # 应结案数
    closed: int = 0  # 结案数
    closed_on_time: int = 0  # 按期结案数


@dataclass(slots=True)
class DispatcherCounts:
    accepted: int = 0  # 立案数
    accepted_on_time: int = 0  # 按时立案数
    dispatched: int = 0  # 派遣数
    dispatched_on_time: int = 0  # 按时派遣数
    wrongly_dispatched: int = 0  # 错误派遣数 (returned by the unit)


@dataclass(slots=True)
class WorkerCounts:
    reported: int = 0  # 上报数 (patrol reports, self-disposals apart)
    valid_reports: int = 0  # 有效上报数
    verified: int = 0  # 核查数
    verified_on_time: int = 0  # 按时核查数
    self_disposed: int = 0  # 自行处置数


Counts: TypeAlias = UnitCounts | DispatcherCounts | WorkerCounts


def as_dict(counts: Counts) -> dict[str, int]:
    return {f.name: getattr(counts, f.name) for f in fields(counts)}


@dataclass(frozen=True, slots=True)
class EvalRate:
    key: str
    label: str
    formula: str
    of: Callable[[Any], float | None]


# fmt: off
RATES: dict[str, tuple[EvalRate, ...]] = {
    UNIT: (
        EvalRate("handling_rate", "处置率", "处置数 / 应处置数",
                 lambda c: ratio(c.handled, c.should_handle)),
        EvalRate("handled_on_time_rate", "按期处置率", "按期处置数 / 应处置数",
                 lambda c: ratio(c.handled_on_time, c.should_handle)),
        EvalRate("handled_late_rate", "超期处置率", "超期处置数 / 应处置数",
                 lambda c: ratio(c.handled_late, c.should_handle)),
        EvalRate("rework_rate", "返工率", "返工数 / 处置数",
                 lambda c: ratio(c.reworked, c.handled)),
        EvalRate("extension_rate", "延期率", "延期数 / 应处置数",
                 lambda c: ratio(c.extended, c.should_handle)),
        EvalRate("suspension_rate", "挂账率", "挂账数 / 应处置数",
                 lambda c: ratio(c.suspended, c.should_handle)),
        EvalRate("closing_rate", "结案率", "结案数 / 应结案数",
                 lambda c: ratio(c.closed, c.should_close)),
        EvalRate("closed_on_time_rate", "按期结案率", "按期结案数 / 应结案数",
                 lambda c: ratio(c.closed_on_time, c.should_close)),
    ),
    DISPATCHER: (
        EvalRate("accepted_on_time_rate", "按时立案率", "按时立案数 / 立案数",
                 lambda c: ratio(c.accepted_on_time, c.accepted)),
        EvalRate("dispatched_on_time_rate", "按时派遣率", "按时派遣数 / 派遣数",
                 lambda c: ratio(c.dispatched_on_time, c.dispatched)),
        EvalRate("dispatch_accuracy_rate", "准确派遣率", "(派遣数 − 错误派遣数) / 派遣数",
                 lambda c: ratio(c.dispatched - c.wrongly_dispatched, c.dispatched)),
    ),
    WORKER: (
        EvalRate("valid_report_rate", "有效上报率", "有效上报数 / 上报数",
                 lambda c: ratio(c.valid_reports, c.reported)),
        EvalRate("verified_on_time_rate", "按时核查率", "按时核查数 / 核查数",
                 lambda c: ratio(c.verified_on_time, c.verified)),
    ),
}
# fmt: on
COUNT_LABELS: dict[str, str] = {
    "should_handle": "应处置数", "handled": "处置数", "handled_on_time": "按期处置数",
    "handled_late": "超期处置数", "reworked": "返工数", "extended": "延期数", "suspended": "挂账数",
    "should_close": "应结案数", "closed": "结案数", "closed_on_time": "按期结案数",
    "accepted": "立案数", "accepted_on_time": "按时立案数", "dispatched": "派遣数",
    "dispatched_on_time": "按时派遣数", "wrongly_dispatched": "错误派遣数",
    "reported": "上报数", "valid_reports": "有效上报数", "verified": "核查数",
    "verified_on_time": "按时核查数", "self_disposed": "自行处置数",
}
COUNTS_OF: dict[str, type[UnitCounts] | type[DispatcherCounts] | type[WorkerCounts]] = {UNIT: UnitCounts, DISPATCHER: DispatcherCounts, WORKER: WorkerCounts}


def rate_keys(kind: str) -> list[str]:
    return [r.key for r in RATES[kind]]


def rates_of(kind: str, counts: Counts) -> dict[str, float | None]:
    return {r.key: r.of(counts) for r in RATES[kind]}


# --- units --------------------------------------------------------------------------------

@dataclass(slots=True)
class _Stint:
    """One unit's part in one ticket: from its first dispatch there."""

    first_dispatch_at: datetime
    handled: bool = False
    returned_unhandled: bool = False
    reworked: bool = False
    extended: bool = False
    suspended: bool = False


def _stints(ticket: TicketFacts) -> dict[int, _Stint]:
    """Each unit the ticket was dispatched to, walked along the timeline."""
    stints: dict[int, _Stint] = {}
    current: int | None = None
    for ev in ticket.events:
        if ev.action in _TO_UNIT and ev.data.get("unit_id") is not None:
            current = int(ev.data["unit_id"])
            # Back at a unit that returned it: the unit's case again, from its first dispatch.
            stints.setdefault(current, _Stint(first_dispatch_at=ev.at)).returned_unhandled = False
            continue
        stint = stints.get(current) if current is not None else None
        if ev.action == "return":
            returned_by = ev.data.get("returned_by_unit", current)
            gone = stints.get(int(returned_by)) if returned_by is not None else None
            if gone is not None and not gone.handled:
                gone.returned_unhandled = True
            current = None
        elif ev.action == "escalate":
            # Sent up a level before the unit handled it: the level could not solve it, the
            # unit did not fail it (like a return, not counted); the next level's unit has it.
            if stint is not None and not stint.handled:
                stint.returned_unhandled = True
            current = None
        elif stint is None:
            continue
        elif ev.action == "handle":
            stint.handled = True
        elif ev.action in _REWORK and stint.handled:
            stint.reworked = True
        elif ev.action == "approve_extension":
            stint.extended = True
        elif ev.action == "suspend":
            stint.suspended = True
    return stints


def unit_counts(tickets: Iterable[TicketFacts], period: Period) -> dict[int, UnitCounts]:
    """Per unit, over the tickets first dispatched to it in the period."""
    out: dict[int, UnitCounts] = {}
    for ticket in tickets:
        if ticket.status in NOT_OURS:
            continue  # a duplicate, a void or a forwarded case was never ours to handle
        for unit_id, stint in _stints(ticket).items():
            if not period.contains(stint.first_dispatch_at) or stint.returned_unhandled:
                continue
            c = out.setdefault(unit_id, UnitCounts())
            c.should_handle += 1
            c.should_close += 1
            c.extended += stint.extended
            c.suspended += stint.suspended
            if stint.handled:
                on_time = ticket.handled_on_time is not False
                c.handled += 1
                c.handled_on_time += on_time
                c.handled_late += not on_time
                c.reworked += stint.reworked
            if ticket.status == "closed" and ticket.unit_id == unit_id:
                c.closed += 1
                c.closed_on_time += ticket.closed_on_time is not False
    return out


# --- dispatchers --------------------------------------------------------------------------

def _by_dispatcher(ev: Event) -> bool:
    return ev.actor_role == "dispatcher" and ev.actor_id is not None


def dispatcher_counts(tickets: Iterable[TicketFacts], period: Period,
                      limits: Limits) -> dict[int, DispatcherCounts]:
    """Per dispatcher, over their 立案 and 派遣 in the period."""
    out: dict[int, DispatcherCounts] = {}
    for ticket in tickets:
        queued_at = ticket.created_at
        events = ticket.events
        for i, ev in enumerate(events):
            if ev.action == "accept" and _by_dispatcher(ev) and period.contains(ev.at):
                c = out.setdefault(int(ev.actor_id or 0), DispatcherCounts())
                c.accepted += 1
                c.accepted_on_time += ev.at - ticket.created_at <= limits.accept
            if ev.action == "dispatch" and _by_dispatcher(ev) and period.contains(ev.at):
                c = out.setdefault(int(ev.actor_id or 0), DispatcherCounts())
                c.dispatched += 1
                c.dispatched_on_time += ev.at - queued_at <= limits.dispatch
                c.wrongly_dispatched += _returned_before_next_dispatch(events[i + 1:])
            # Reached the queue: a step that changed the status to one (a note added to an
            # accepted ticket keeps the status and is written with to_status = from_status).
            if ev.to_status in _DISPATCHABLE and ev.to_status != ev.from_status:
                queued_at = ev.at
    return out


def _returned_before_next_dispatch(later: Sequence[Event]) -> bool:
    for ev in later:
        if ev.action == "return":
            return True
        if ev.action == "dispatch":
            return False
    return False


# --- grid workers and collectors ----------------------------------------------------------

def worker_counts(tickets: Iterable[TicketFacts], period: Period,
                  limits: Limits) -> dict[int, WorkerCounts]:
    """Per grid worker: their patrol reports and self-disposals created in the period, and
    the 核查 they did in the period."""
    out: dict[int, WorkerCounts] = {}
    for ticket in tickets:
        if ticket.reporter_id is not None and period.contains(ticket.created_at):
            if ticket.is_self_disposed:
                out.setdefault(ticket.reporter_id, WorkerCounts()).self_disposed += 1
            elif ticket.source == "patrol":
                c = out.setdefault(ticket.reporter_id, WorkerCounts())
                c.reported += 1
                c.valid_reports += (ticket.accepted_at is not None
                                    and ticket.status not in ("merged", "voided"))
        requested_at: datetime | None = None
        for ev in ticket.events:
            if ev.action == "request_verification":
                requested_at = ev.at
            elif (ev.action in _VERIFY and ev.actor_role == "grid_worker"
                  and ev.actor_id is not None and period.contains(ev.at)):
                c = out.setdefault(ev.actor_id, WorkerCounts())
                c.verified += 1
                c.verified_on_time += (requested_at is not None
                                       and ev.at - requested_at <= limits.verify)
    return out


# --- grades and ranking -------------------------------------------------------------------

GRADES = (("excellent", "优秀"), ("good", "良好"), ("passing", "合格"))
FAILING = ("failing", "不合格")


@dataclass(frozen=True, slots=True)
class GradeRule:
    """The rate that decides a kind's grade and the lowest value of each grade."""

    kind: str
    rate: str
    excellent: float
    good: float
    passing: float

    def problems(self) -> list[str]:
        """What is wrong with the rule, in the product's words (empty when it is valid)."""
        found = []
        if self.rate not in rate_keys(self.kind):
            found.append("考核依据的指标不适用于该对象")
        if not 0 <= self.passing <= self.good <= self.excellent <= 1:
            found.append("阈值须满足 0 ≤ 合格 ≤ 良好 ≤ 优秀 ≤ 1")
        return found


# Grade bands after the reference composite (A ≥ 90, B ≥ 75, C ≥ 60), as fractions.
DEFAULT_GRADES: dict[str, GradeRule] = {
    UNIT: GradeRule(UNIT, "handled_on_time_rate", 0.90, 0.75, 0.60),
    DISPATCHER: GradeRule(DISPATCHER, "dispatch_accuracy_rate", 0.90, 0.75, 0.60),
    WORKER: GradeRule(WORKER, "valid_report_rate", 0.90, 0.75, 0.60),
}


def grade(value: float | None, rule: GradeRule) -> tuple[str, str] | None:
    """(grade key, Chinese label) of a rate under `rule`; None when the rate is undefined."""
    if value is None:
        return None
    for key, label in GRADES:
        if value >= getattr(rule, key):
            return key, label
    return FAILING


def ranks(values: Sequence[float | None]) -> list[int | None]:
    """Competition ranks (1, 1, 3 …), highest value first; an undefined value is unranked."""
    defined = sorted((v for v in values if v is not None), reverse=True)
    first: dict[float, int] = {}
    for position, v in enumerate(defined, start=1):
        first.setdefault(v, position)
    return [first[v] if v is not None else None for v in values]
