"""Deadlines in working time on the Chinese official calendar (工作时 / 工作日 / 自然时).

Which days are working days, in this order:
1. `overrides` — admin-edited data (date → is_workday), e.g. a local holiday or a schedule the
   State Council published after our `chinese_calendar` release; the caller loads it.
2. `chinese_calendar` — official holidays and adjusted working weekends (调休) for the years it
   knows (2004–2026 in 1.11.0).
3. Monday–Friday, for years the package does not know. Those years are reported back
   (`DeadlineResult.missing_years`, `missing_schedule_years`) so callers can log and tell admins
   "the official schedule for 2027 is missing" instead of crashing or guessing silently.

Working time counts only the office periods of working days (default 08:00–12:00 and
14:00–18:00, 480 minutes a day) in the schedule's zone (Asia/Shanghai). Inputs are aware
datetimes in any zone; results are aware datetimes in UTC. A deadline is the *earliest* instant
at which the allowed working time has been used up, so 4 working hours from 08:00 end at 12:00
(not 14:00), and a start outside office hours starts counting at the next office period.

One working day (工作日) is one day's worth of office minutes: N working days from a start
inside office hours end at the same clock time N working days later (Tuesday 10:00 + 1 → Wednesday
10:00; across a holiday the holiday is skipped); from a start outside office hours they end at the
close of office on the Nth working day (Tuesday 19:00 + 1 → Wednesday 18:00). At period edges the
earliest-instant rule shows: Tuesday 08:00 + 1 → Tuesday 18:00, and a start in the lunch break
counts from 14:00 but may end at 12:00. Measuring working days in office minutes keeps
deadlines, elapsed fractions and alert colours in one unit.

Working days and hours are never 24-hour clock days (a bug one vendor platform has, reference
§1.4); only the natural units are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, TypeAlias, get_args
from zoneinfo import ZoneInfo

import chinese_calendar

LimitUnit: TypeAlias = Literal["work_hours", "work_days", "natural_hours", "natural_days"]
LIMIT_UNITS: tuple[str, ...] = get_args(LimitUnit)
WORKING_UNITS: frozenset[str] = frozenset({"work_hours", "work_days"})
Colour: TypeAlias = Literal["green", "yellow", "red"]

# date → is_workday; admin-editable, consulted before chinese_calendar.
DayOverrides: TypeAlias = Mapping[date, bool]
_NO_OVERRIDES: DayOverrides = MappingProxyType({})

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Share of the allowed time after which a ticket turns yellow (reference §1.4: 80 %).
YELLOW_AT = 0.8
# Guards the day-by-day walk: overrides marking every day off must not loop forever.
_MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class WorkSchedule:
    """Office periods (naive local times, sorted, disjoint) of every working day in `tz`."""

    periods: tuple[tuple[time, time], ...] = ((time(8), time(12)), (time(14), time(18)))
    tz: ZoneInfo = field(default=SHANGHAI)

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a work schedule needs at least one office period")
        previous_end: time | None = None
        for begin, end in self.periods:
            if begin.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office periods are naive local times of the schedule's zone")
            if not begin < end:
                raise ValueError(f"office period {begin}–{end} is empty or reversed")
            if previous_end is not None and begin < previous_end:
                raise ValueError("office periods must be sorted and must not overlap")
            previous_end = end

    @property
    def minutes_per_day(self) -> float:
        """Office minutes in one working day (480 for the default schedule)."""
        day = date(2000, 1, 1)
        return sum(
            (datetime.combine(day, end) - datetime.combine(day, begin)).total_seconds() / 60
            for begin, end in self.periods
        )


DEFAULT_SCHEDULE = WorkSchedule()


@dataclass(frozen=True, slots=True)
class DeadlineResult:
    """A computed deadline (UTC) and the years for which weekdays had to stand in for the calendar."""

    deadline_at: datetime
    missing_years: frozenset[int] = frozenset()


@lru_cache(maxsize=16384)
def _official_workday(day: date) -> bool | None:
    """chinese_calendar's verdict for `day`, or None for a year the package has no data for."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


class _Days:
    """Working-day lookup for one computation that remembers which years fell back to weekdays."""

    __slots__ = ("missing", "overrides")

    def __init__(self, overrides: DayOverrides | None) -> None:
        self.overrides = _NO_OVERRIDES if overrides is None else overrides
        self.missing: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            # A datetime's date depends on its zone; make the caller choose.
            raise TypeError("pass a date, not a datetime")
        override = self.overrides.get(day)
        if override is not None:
            return bool(override)
        official = _official_workday(day)
        if official is None:
            self.missing.add(day.year)
            return day.weekday() < 5
        return official


def is_workday(day: date, *, overrides: DayOverrides | None = None) -> bool:
    """Whether `day` is a working day: overrides, then chinese_calendar, then Monday–Friday."""
    return _Days(overrides).is_workday(day)


def missing_schedule_years(
    days: Iterable[date], *, overrides: DayOverrides | None = None
) -> frozenset[int]:
    """Years among `days` decided by the Monday–Friday fallback (no override, no official data)."""
    lookup = _Days(overrides)
    for day in days:
        lookup.is_workday(day)
    return frozenset(lookup.missing)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC)


@lru_cache(maxsize=16384)
def _office_periods(day: date, schedule: WorkSchedule) -> tuple[tuple[datetime, datetime], ...]:
    # Built in local time, compared in UTC, so a zone with DST would still add up. Kept per
    # process: a list row's deadline colour asks for the same few weeks over and over.
    tz = schedule.tz
    return tuple(
        (
            datetime.combine(day, begin, tzinfo=tz).astimezone(UTC),
            datetime.combine(day, end, tzinfo=tz).astimezone(UTC),
        )
        for begin, end in schedule.periods
    )


@lru_cache(maxsize=16384)
def _office_time(day: date, schedule: WorkSchedule) -> timedelta:
    """All of `day`'s office time (what a working day wholly inside a span contributes)."""
    return sum((closes - opens for opens, closes in _office_periods(day, schedule)), timedelta(0))


def _add_working(
    start: datetime, amount: timedelta, schedule: WorkSchedule, days: _Days
) -> datetime:
    cursor = _utc(start)
    if amount < timedelta(0):
        raise ValueError("a time limit cannot be negative")
    if amount == timedelta(0):
        return cursor
    remaining = amount
    day = cursor.astimezone(schedule.tz).date()
    for _ in range(_MAX_DAYS):
        if days.is_workday(day):
            for opens, closes in _office_periods(day, schedule):
                begin = max(opens, cursor)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no working time found within ten years; check the day overrides")


def _working_between(
    start: datetime, end: datetime, schedule: WorkSchedule, days: _Days
) -> timedelta:
    start, end = _utc(start), _utc(end)
    if end < start:
        return -_working_between(end, start, schedule, days)
    total = timedelta(0)
    first = day = start.astimezone(schedule.tz).date()
    last = end.astimezone(schedule.tz).date()
    one_day = timedelta(days=1)
    while day <= last:
        if days.is_workday(day):
            if first < day < last:
                # Wholly inside the span: every office period counts in full.
                total += _office_time(day, schedule)
            else:
                for opens, closes in _office_periods(day, schedule):
                    overlap = min(closes, end) - max(opens, start)
                    if overlap > timedelta(0):
                        total += overlap
        day += one_day
    return total


def add_working_time(
    start: datetime,
    *,
    minutes: float,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> datetime:
    """The earliest instant (UTC) after `minutes` of office time counted from `start` (工作时)."""
    return _add_working(start, timedelta(minutes=minutes), schedule, _Days(overrides))


def add_working_days(
    start: datetime,
    *,
    days: int,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> datetime:
    """`days` × one day's office minutes after `start` (工作日), as defined in the module doc."""
    amount = timedelta(minutes=days * schedule.minutes_per_day)
    return _add_working(start, amount, schedule, _Days(overrides))


def add_natural_time(start: datetime, *, minutes: float) -> datetime:
    """`start` plus `minutes` of clock time (自然时), holidays included, in UTC."""
    if minutes < 0:
        raise ValueError("a time limit cannot be negative")
    return _utc(start) + timedelta(minutes=minutes)


def working_minutes_between(
    start: datetime,
    end: datetime,
    *,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> float:
    """Office minutes between two instants; negative when `end` is before `start`."""
    return _working_between(start, end, schedule, _Days(overrides)).total_seconds() / 60


def deadline(
    start: datetime,
    *,
    limit_value: int,
    limit_unit: LimitUnit,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> DeadlineResult:
    """The deadline for a limit of `limit_value` `limit_unit` from `start`, with missing years."""
    if limit_value < 0:
        raise ValueError("a time limit cannot be negative")
    days = _Days(overrides)
    if limit_unit == "work_hours":
        at = _add_working(start, timedelta(hours=limit_value), schedule, days)
    elif limit_unit == "work_days":
        amount = timedelta(minutes=limit_value * schedule.minutes_per_day)
        at = _add_working(start, amount, schedule, days)
    elif limit_unit == "natural_hours":
        at = _utc(start) + timedelta(hours=limit_value)
    elif limit_unit == "natural_days":
        at = _utc(start) + timedelta(days=limit_value)
    else:
        raise ValueError(f"unknown time-limit unit {limit_unit!r}; expected one of {LIMIT_UNITS}")
    return DeadlineResult(deadline_at=at, missing_years=frozenset(days.missing))


def elapsed_fraction(
    start: datetime,
    *,
    deadline_at: datetime,
    now: datetime,
    limit_unit: LimitUnit,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> float:
    """Share of the allowed time used by `now` (> 1 past the deadline), in the limit's measure."""
    if limit_unit not in LIMIT_UNITS:
        raise ValueError(f"unknown time-limit unit {limit_unit!r}; expected one of {LIMIT_UNITS}")
    if limit_unit in WORKING_UNITS:
        # Nights, weekends and holidays do not use up a working-time limit.
        days = _Days(overrides)
        allowed = _working_between(start, deadline_at, schedule, days)
        used = _working_between(start, now, schedule, days)
    else:
        allowed = _utc(deadline_at) - _utc(start)
        used = _utc(now) - _utc(start)
    if allowed <= timedelta(0):
        return 1.0 if _utc(now) >= _utc(deadline_at) else 0.0
    return max(used / allowed, 0.0)


def deadline_colour(
    start: datetime,
    *,
    deadline_at: datetime,
    now: datetime,
    limit_unit: LimitUnit,
    schedule: WorkSchedule = DEFAULT_SCHEDULE,
    overrides: DayOverrides | None = None,
) -> Colour:
    """Red once `now` is past the deadline, yellow from 80 % of the allowed time, else green."""
    # Overdue is judged on the clock: a deadline at 18:00 is missed at 19:00 even though no
    # working time has passed since.
    if _utc(now) > _utc(deadline_at):
        return "red"
    fraction = elapsed_fraction(
        start,
        deadline_at=deadline_at,
        now=now,
        limit_unit=limit_unit,
        schedule=schedule,
        overrides=overrides,
    )
    return "yellow" if fraction >= YELLOW_AT else "green"
