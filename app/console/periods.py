"""The dashboard's periods in Beijing time: this day/week/month/year or a custom range, the
period before it (环比) and the same period a year earlier (同比), and the trend's buckets.

Pure: no database. Every bound is a UTC-aware instant; a period is [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.core.workcalendar import SHANGHAI

KINDS = {"today": "今天", "week": "本周", "month": "本月", "year": "本年", "custom": "自定义"}
MAX_CUSTOM_DAYS = 366
MAX_DAILY_BUCKETS = 31


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def _year_earlier(instant: datetime) -> datetime:
    local = instant.astimezone(SHANGHAI)
    day = _shift_months(local.date(), -12)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def current(kind: str, now: datetime, first: date | None = None,
            last: date | None = None) -> Period:
    """The period asked for; `first`/`last` (inclusive days) only for "custom"."""
    today = now.astimezone(SHANGHAI).date()
    if kind == "custom":
        if first is None or last is None:
            raise ValueError("请选择开始和结束日期")
        if last < first:
            raise ValueError("结束日期不能早于开始日期")
        if (last - first).days + 1 > MAX_CUSTOM_DAYS:
            raise ValueError(f"自定义区间不能超过 {MAX_CUSTOM_DAYS} 天")
        return Period(midnight(first), midnight(last + timedelta(days=1)),
                      f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}")
    starts = {"today": today, "week": today - timedelta(days=today.weekday()),
              "month": today.replace(day=1), "year": today.replace(month=1, day=1)}
    if kind not in starts:
        raise ValueError("未知的统计周期")
    return Period(midnight(starts[kind]), now, KINDS[kind])


def previous(kind: str, period: Period) -> Period:
    """环比: the period just before, as long as this one (a month: the month before, to the
    same day and hour)."""
    if kind in ("month", "year"):
        months = 1 if kind == "month" else 12
        start = datetime.combine(_shift_months(period.start.astimezone(SHANGHAI).date(), -months),
                                 datetime.min.time(), SHANGHAI).astimezone(UTC)
        local_end = period.end.astimezone(SHANGHAI)
        end = datetime.combine(_shift_months(local_end.date(), -months),
                               local_end.timetz()).astimezone(UTC)
        return Period(start, max(end, start + timedelta(seconds=1)), "上期")
    length = period.end - period.start
    step = timedelta(days=7) if kind == "week" else (
        timedelta(days=1) if kind == "today" else length)
    return Period(period.start - step, period.start - step + length, "上期")


def year_earlier(period: Period) -> Period:
    """同比: the same days a year earlier."""
    return Period(_year_earlier(period.start), _year_earlier(period.end), "去年同期")


def buckets(kind: str, period: Period) -> list[Period]:
    """The trend's points: days (the last 7 for "today"), months for a year or a long range."""
    first = period.start.astimezone(SHANGHAI).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    if kind == "today":
        first = last - timedelta(days=6)
    if kind == "year" or (last - first).days + 1 > MAX_DAILY_BUCKETS:
        out, month = [], first.replace(day=1)
        while month <= last:
            following = _shift_months(month, 1)
            out.append(Period(max(midnight(month), period.start),
                              min(midnight(following), period.end), f"{month:%Y-%m}"))
            month = following
        return out
    return [Period(midnight(first + timedelta(days=i)),
                   min(midnight(first + timedelta(days=i + 1)), max(period.end, midnight(last))),
                   f"{first + timedelta(days=i):%m-%d}")
            for i in range((last - first).days + 1)]
