"""The dashboard's periods: this day/week/month/year, 环比, 同比 and the trend's points."""

from datetime import UTC, date, datetime

import pytest

from app.console import periods
from app.core.workcalendar import SHANGHAI

# Thursday 2026-03-31 10:00 Beijing time.
NOW = datetime(2026, 3, 31, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def bj(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_this_month_starts_at_beijing_midnight_on_the_first():
    month = periods.current("month", NOW)
    assert (bj(month.start), bj(month.end)) == ("2026-03-01 00:00", "2026-03-31 10:00")


def test_the_month_before_a_31st_ends_on_the_last_day_of_a_shorter_month():
    before = periods.previous("month", periods.current("month", NOW))
    assert (bj(before.start), bj(before.end)) == ("2026-02-01 00:00", "2026-02-28 10:00")


def test_this_week_starts_on_monday_and_its_previous_is_the_same_span_a_week_earlier():
    week = periods.current("week", NOW)
    assert bj(week.start) == "2026-03-30 00:00"
    before = periods.previous("week", week)
    assert (bj(before.start), bj(before.end)) == ("2026-03-23 00:00", "2026-03-24 10:00")


def test_the_same_period_a_year_earlier():
    year = periods.year_earlier(periods.current("today", NOW))
    assert (bj(year.start), bj(year.end)) == ("2025-03-31 00:00", "2025-03-31 10:00")


def test_a_custom_range_is_whole_days_and_its_previous_is_as_long():
    custom = periods.current("custom", NOW, date(2026, 3, 1), date(2026, 3, 10))
    assert (bj(custom.start), bj(custom.end)) == ("2026-03-01 00:00", "2026-03-11 00:00")
    before = periods.previous("custom", custom)
    assert (bj(before.start), bj(before.end)) == ("2026-02-19 00:00", "2026-03-01 00:00")


@pytest.mark.parametrize(("first", "last", "message"), [
    (date(2026, 3, 10), date(2026, 3, 1), "早于"), (date(2024, 1, 1), date(2026, 1, 1), "366"),
    (None, date(2026, 1, 1), "请选择")])
def test_bad_custom_ranges_are_refused(first, last, message):
    with pytest.raises(ValueError, match=message):
        periods.current("custom", NOW, first, last)


def test_the_trend_has_a_point_per_day_or_per_month():
    month = periods.buckets("month", periods.current("month", NOW))
    assert len(month) == 31 and month[0].label == "03-01" and month[-1].end == NOW
    year = periods.buckets("year", periods.current("year", NOW))
    assert [b.label for b in year] == ["2026-01", "2026-02", "2026-03"]
    today = periods.buckets("today", periods.current("today", NOW))
    assert len(today) == 7 and today[-1].label == "03-31"
