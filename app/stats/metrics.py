"""The city's published rates (处置率, 按期处置率, 结案率 ...) as pure functions over counts.

Counts follow the 数字城管 (GB/T 30428.4 lineage) convention of *cohorts*: a rate for a period is
about the tickets that entered a stage in that period, judged by what is known when the
statistics are taken (截至统计时). So a month's 处置率 keeps rising while its late cases are still
being handled, and a ticket counts once per count however many times it went round a loop.

Definitions, for a half-open period [start, end) (see also docs/metrics.md):

- reported (上报数): tickets created in the period, self-disposed ones included.
- self_disposed (自行处置数): tickets a grid worker reported and handled at once, created in the
  period. They are never 立案/派遣, so they appear in no other count below.
- accepted (立案数): tickets accepted in the period. rejected (不予立案数): rejected in the period.
- dispatched (派遣数): tickets first dispatched in the period (re-dispatches do not add).
- returned (退回数, wrongly dispatched): of `dispatched`, tickets a unit returned at least once.
- should_handle (应处置数): of `dispatched`, those not later merged as duplicates, voided
  (作废) or forwarded to an outside body (热线推送): none of those is a case of ours to handle.
- handled (处置数): of `should_handle`, tickets handled at least once.
- handled_on_time (按期处置数): of `handled`, first handling at or before the deadline that
  applied at that moment (after the extensions approved by then; a later rework's fresh
  deadline does not redeem a late first handling; without a deadline it cannot be late).
- reworked (返工数): of `handled`, tickets reopened at least once (failed 核查 or 不满意重办).
- should_close (应结案数): tickets accepted in the period, not later merged, voided or forwarded.
- closed (结案数): of `should_close`, tickets closed now (a reopened, not re-closed ticket is not).
- closed_on_time (按期结案数): of `closed`, closed at or before the close deadline that applied
  at the closing (defaults to the handling deadline of the cycle that closed it).
- forwarded (推送数): of `reported`, tickets forwarded to an outside body (热线推送) by now.
- rated (评价数): ratings given in the period; satisfied / basically_satisfied / unsatisfied
  (满意 / 基本满意 / 不满意) split it; replied (回复数): of those, answered by staff. A ticket
  without a rating is in none of these: silence never counts as satisfaction.

Every rate is a fraction, or None when its denominator is 0 ("no cases" is not 100 %).
Two 处置率 are offered: `handling_rate` over the dispatched cohort (派遣口径, as 济宁 publishes)
and `disposal_rate_of_collected` over everything collected (采集口径, as 聊城 publishes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeAlias

RatingLevel: TypeAlias = Literal["satisfied", "basically_satisfied", "unsatisfied"]
NO_VALUE = "—"


@dataclass(frozen=True, slots=True)
class TicketCounts:
    """The counts behind the published rates, for one period and one scope (area, unit ...)."""

    reported: int = 0  # 上报数
    accepted: int = 0  # 立案数
    rejected: int = 0  # 不予立案数
    self_disposed: int = 0  # 自行处置数
    dispatched: int = 0  # 派遣数
    returned: int = 0  # 退回数 (wrongly dispatched)
    should_handle: int = 0  # 应处置数
    handled: int = 0  # 处置数
    handled_on_time: int = 0  # 按期处置数
    reworked: int = 0  # 返工数
    should_close: int = 0  # 应结案数
    closed: int = 0  # 结案数
    closed_on_time: int = 0  # 按期结案数
    forwarded: int = 0  # 推送数 (热线推送: forwarded to an outside body)
    rated: int = 0  # 评价数
    satisfied: int = 0  # 满意
    basically_satisfied: int = 0  # 基本满意
    unsatisfied: int = 0  # 不满意
    replied: int = 0  # 回复数

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{f.name} must be a non-negative integer, not {value!r}")

    def __add__(self, other: TicketCounts) -> TicketCounts:
        """Field-wise sum, to roll cells up into communities or days up into months."""
        if not isinstance(other, TicketCounts):
            return NotImplemented
        return TicketCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True, slots=True)
class Rate:
    """One published rate: key, Chinese name, formula text and how to compute it from counts."""

    key: str
    label: str
    formula: str
    numerator: Callable[[TicketCounts], int]
    denominator: Callable[[TicketCounts], int]

    def of(self, counts: TicketCounts) -> float | None:
        """The rate for `counts`, or None when the denominator is 0."""
        return ratio(self.numerator(counts), self.denominator(counts))


# fmt: off
RATES: tuple[Rate, ...] = (
    Rate("handling_rate", "处置率", "处置数 / 应处置数",
         lambda c: c.handled, lambda c: c.should_handle),
    # 聊城's published 处置率 (12,827 / 13,108) divides by every collected case instead: offered
    # beside the dispatched-cohort one above (济宁's), named apart, never silently swapped.
    Rate("disposal_rate_of_collected", "处置率（采集口径）", "(处置数 + 自行处置数) / 上报数",
         lambda c: c.handled + c.self_disposed, lambda c: c.reported),
    Rate("handled_on_time_rate", "按期处置率", "按期处置数 / 应处置数",
         lambda c: c.handled_on_time, lambda c: c.should_handle),
    Rate("closing_rate", "结案率", "结案数 / 应结案数",
         lambda c: c.closed, lambda c: c.should_close),
    Rate("closed_on_time_rate", "按期结案率", "按期结案数 / 应结案数",
         lambda c: c.closed_on_time, lambda c: c.should_close),
    Rate("rework_rate", "返工率", "返工数 / 处置数",
         lambda c: c.reworked, lambda c: c.handled),
    Rate("dispatch_accuracy_rate", "准确派遣率", "(派遣数 − 退回数) / 派遣数",
         lambda c: c.dispatched - c.returned, lambda c: c.dispatched),
    Rate("satisfaction_rate", "满意率", "(满意数 + 基本满意数) / 评价数",
         lambda c: c.satisfied + c.basically_satisfied, lambda c: c.rated),
    Rate("reply_rate", "回复率", "回复数 / 评价数",
         lambda c: c.replied, lambda c: c.rated),
)
# fmt: on
RATE_LABELS: dict[str, str] = {r.key: r.label for r in RATES}


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (never a pretend 100 %)."""
    if denominator == 0:
        return None
    return numerator / denominator


def rates(counts: TicketCounts) -> dict[str, float | None]:
    """Every published rate for `counts`, keyed as in RATES, None where undefined."""
    return {r.key: r.of(counts) for r in RATES}


def format_percent(value: float | None, *, places: int = 2) -> str:
    """A fraction as a percentage rounded half-up ("87.50%"), or "—" for None."""
    if value is None:
        return NO_VALUE
    # Decimal from the shortest repr, so 0.87555 rounds to 87.56% as a person would expect,
    # not down because the binary float sits just below it.
    percent = Decimal(str(float(value))) * 100
    quantum = Decimal(1).scaleb(-places)
    return f"{percent.quantize(quantum, rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open statistics period [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError("period bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    def contains(self, moment: datetime | None) -> bool:
        """Whether `moment` falls in the period (None never does)."""
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the statistics need to know about one ticket, as of the statistics snapshot."""

    reported_at: datetime
    self_disposed: bool = False
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    first_handled_at: datetime | None = None
    # The handling deadline now: after approved extensions, restarted by each rework cycle.
    deadline_at: datetime | None = None
    # Set while the ticket is closed; cleared when it is reopened.
    closed_at: datetime | None = None
    # When None the handling deadline applies.
    close_deadline_at: datetime | None = None
    # The verdicts the door stored when the stage happened, against the deadline of that
    # moment. A later rework or extension moves `deadline_at` but not these, so they win;
    # None (a ticket loaded without them) falls back to comparing with the deadlines above.
    handled_on_time: bool | None = None
    closed_on_time: bool | None = None
    merged: bool = False
    voided: bool = False  # 作废 (approved): no case of ours, like a merged duplicate
    forwarded: bool = False  # 热线推送: forwarded to an outside body, not ours to handle
    returned: bool = False  # returned by a unit at least once
    reworked: bool = False  # reopened at least once
    extended: bool = False  # an extension (延期) approved at least once
    suspended: bool = False  # 挂账 approved at least once
    rating: RatingLevel | None = None
    rated_at: datetime | None = None
    replied: bool = False


def _on_time(done_at: datetime, due_at: datetime | None, verdict: bool | None) -> bool:
    if verdict is not None:
        return verdict
    return due_at is None or done_at <= due_at


def classify(facts: TicketFacts, *, period: Period) -> TicketCounts:
    """One ticket's contribution (0 or 1 per count) to the counts of `period`."""
    reported = period.contains(facts.reported_at)
    if facts.self_disposed:
        return TicketCounts(reported=int(reported), self_disposed=int(reported))

    dispatched = period.contains(facts.first_dispatched_at)
    # Merged, voided and forwarded tickets were no cases of ours to handle or close.
    ours = not (facts.merged or facts.voided or facts.forwarded)
    should_handle = dispatched and ours
    handled_at = facts.first_handled_at if should_handle else None
    handled = handled_at is not None
    handled_on_time = handled_at is not None and _on_time(handled_at, facts.deadline_at,
                                                          facts.handled_on_time)

    accepted = period.contains(facts.accepted_at)
    should_close = accepted and ours
    closed_at = facts.closed_at if should_close else None
    closed = closed_at is not None
    close_due = facts.close_deadline_at or facts.deadline_at
    closed_on_time = closed_at is not None and _on_time(closed_at, close_due,
                                                        facts.closed_on_time)

    rated = facts.rating is not None and period.contains(facts.rated_at)
    return TicketCounts(
        reported=int(reported),
        accepted=int(accepted),
        rejected=int(period.contains(facts.rejected_at)),
        dispatched=int(dispatched),
        returned=int(dispatched and facts.returned),
        should_handle=int(should_handle),
        handled=int(handled),
        handled_on_time=int(handled_on_time),
        reworked=int(handled and facts.reworked),
        should_close=int(should_close),
        closed=int(closed),
        closed_on_time=int(closed_on_time),
        forwarded=int(reported and facts.forwarded),
        rated=int(rated),
        satisfied=int(rated and facts.rating == "satisfied"),
        basically_satisfied=int(rated and facts.rating == "basically_satisfied"),
        unsatisfied=int(rated and facts.rating == "unsatisfied"),
        replied=int(rated and facts.replied),
    )


def tally(facts: Iterable[TicketFacts], *, period: Period) -> TicketCounts:
    """The counts of `period` over many tickets (the reference the SQL aggregation must match)."""
    total = TicketCounts()
    for one in facts:
        total += classify(one, period=period)
    return total


# --- the daily rollup ---------------------------------------------------------------------------

RATING_COUNTS = ("rated", "satisfied", "basically_satisfied", "unsatisfied", "replied")
# The counts a ticket's own stages decide (the rest come from the ratings table).
TICKET_COUNTS = tuple(f.name for f in fields(TicketCounts) if f.name not in RATING_COUNTS)
# Kept in the rollups beside those, for the units' ranking (考核, docs/metrics.md): of
# `should_handle` (the dispatched cohort), the tickets closed now and closed on time, and
# those with an approved extension or 挂账. Not published figures.
COHORT_COUNTS = ("dispatched_closed", "dispatched_closed_on_time", "extended", "suspended")
ROLLUP_COUNTS = TICKET_COUNTS + COHORT_COUNTS


def cohort(facts: TicketFacts, *, period: Period) -> dict[str, int]:
    """One ticket's `COHORT_COUNTS` for `period`, anchored to its first dispatch.

    On time as the evaluation judges it (`app.evaluation.rules.unit_counts`): the verdict the
    door stored, a closing without one counting as on time.
    """
    should_handle = (not facts.self_disposed and period.contains(facts.first_dispatched_at)
                     and not (facts.merged or facts.voided or facts.forwarded))
    closed = should_handle and facts.closed_at is not None
    return {"dispatched_closed": int(closed),
            "dispatched_closed_on_time": int(closed and facts.closed_on_time is not False),
            "extended": int(should_handle and facts.extended),
            "suspended": int(should_handle and facts.suspended)}


def stage_days(facts: TicketFacts, tz: tzinfo) -> set[date]:
    """The local days of the stages a count can be anchored to (report, accept, reject,
    first dispatch): a ticket adds to these days' rows of the rollup and to no other."""
    moments = (facts.reported_at, facts.accepted_at, facts.rejected_at,
               facts.first_dispatched_at)
    return {m.astimezone(tz).date() for m in moments if m is not None}


def midnight(day: date, tz: tzinfo) -> datetime:
    """When the local `day` begins."""
    return datetime.combine(day, time.min, tzinfo=tz)


def day_period(day: date, tz: tzinfo) -> Period:
    return Period(midnight(day, tz), midnight(day + timedelta(days=1), tz))


def by_day(facts: TicketFacts, tz: tzinfo) -> dict[date, dict[str, int]]:
    """The ticket's ticket counts per local day: `classify` (and `cohort`) for each day it
    touches.

    Days partition time, and `classify` counts a ticket in a period iff the stage its count
    is anchored to falls in it, so summing these over the whole days of a period gives
    exactly `classify` over that period (ratings are not part of it: they have their table).
    """
    out = {}
    for day in stage_days(facts, tz):
        period = day_period(day, tz)
        counts = classify(facts, period=period)
        out[day] = {**{name: getattr(counts, name) for name in TICKET_COUNTS},
                    **cohort(facts, period=period)}
    return out


def change(before: TicketFacts | None, after: TicketFacts | None,
           tz: tzinfo) -> dict[date, dict[str, int]]:
    """What a change of one ticket adds to each day's counts (negative where it takes away);
    days and counts that do not move are left out."""
    old = by_day(before, tz) if before is not None else {}
    new = by_day(after, tz) if after is not None else {}
    delta = {}
    for day in old.keys() | new.keys():
        moved = {name: new.get(day, {}).get(name, 0) - old.get(day, {}).get(name, 0)
                 for name in ROLLUP_COUNTS}
        moved = {name: value for name, value in moved.items() if value}
        if moved:
            delta[day] = moved
    return delta
