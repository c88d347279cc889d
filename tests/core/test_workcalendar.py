"""Working-time deadlines on the Chinese calendar: holidays, 调休 weekends, missing years, colours."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from app.core.workcalendar import (
    DEFAULT_SCHEDULE,
    WorkSchedule,
    add_natural_time,
    add_working_days,
    add_working_time,
    deadline,
    deadline_colour,
    elapsed_fraction,
    is_workday,
    missing_schedule_years,
    working_minutes_between,
)

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SH)


# --- the package's own data, checked rather than assumed -------------------------------------


def test_spring_festival_2026_as_the_package_has_it():
    holidays = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 02-15 .. 02-23
    assert all(not chinese_calendar.is_workday(d) for d in holidays)
    assert chinese_calendar.is_workday(date(2026, 2, 13))  # Friday before
    assert chinese_calendar.is_workday(date(2026, 2, 24))  # Tuesday after
    # Adjusted working Saturdays (调休) on both sides.
    assert date(2026, 2, 14).weekday() == 5 and chinese_calendar.is_workday(date(2026, 2, 14))
    assert date(2026, 2, 28).weekday() == 5 and chinese_calendar.is_workday(date(2026, 2, 28))


def test_national_day_2025_as_the_package_has_it():
    holidays = [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]  # 10-01 .. 10-08
    assert all(not chinese_calendar.is_workday(d) for d in holidays)
    assert date(2025, 9, 28).weekday() == 6 and chinese_calendar.is_workday(date(2025, 9, 28))
    assert date(2025, 10, 11).weekday() == 5 and chinese_calendar.is_workday(date(2025, 10, 11))
    assert not chinese_calendar.is_workday(date(2025, 9, 27))  # the Saturday before stays off


def test_the_package_knows_no_2027_yet():
    # If this fails, a newer chinese_calendar knows 2027: move the fallback tests to a later year.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 3))


# --- is_workday ----------------------------------------------------------------------------


def test_is_workday_follows_the_official_calendar():
    assert not is_workday(date(2026, 2, 16))  # Spring Festival Monday
    assert is_workday(date(2026, 2, 14))  # 调休 Saturday
    assert is_workday(date(2025, 9, 28))  # 调休 Sunday
    assert not is_workday(date(2025, 10, 8))  # National Day Wednesday


def test_overrides_win_over_the_package():
    assert not is_workday(date(2025, 9, 28), overrides={date(2025, 9, 28): False})
    assert is_workday(date(2026, 2, 16), overrides={date(2026, 2, 16): True})


def test_unknown_years_fall_back_to_weekdays_and_are_reported():
    assert is_workday(date(2027, 1, 1))  # a Friday; the real 2027 New Year is not known yet
    assert not is_workday(date(2027, 1, 2))
    days = [date(2026, 12, 31), date(2027, 1, 1), date(2003, 5, 6)]
    assert missing_schedule_years(days) == {2027, 2003}
    assert missing_schedule_years([date(2027, 1, 1)], overrides={date(2027, 1, 1): False}) == set()


def test_is_workday_refuses_a_datetime():
    with pytest.raises(TypeError):
        is_workday(at(2026, 3, 2, 9))


# --- working hours -------------------------------------------------------------------------


def test_four_working_hours_from_friday_17_end_monday_11():
    assert local(add_working_time(at(2025, 6, 6, 17), minutes=240)) == at(2025, 6, 9, 11)


def test_results_are_utc():
    result = add_working_time(at(2025, 6, 6, 17), minutes=240)
    assert result.tzinfo is UTC and result == datetime(2025, 6, 9, 3, tzinfo=UTC)


def test_the_lunch_break_is_skipped():
    assert local(add_working_time(at(2025, 6, 3, 11), minutes=120)) == at(2025, 6, 3, 15)


def test_a_limit_that_ends_at_noon_ends_at_noon_not_after_lunch():
    assert local(add_working_time(at(2025, 6, 3, 8), minutes=240)) == at(2025, 6, 3, 12)


def test_a_start_outside_office_hours_begins_at_the_next_period():
    assert local(add_working_time(at(2025, 6, 3, 12, 30), minutes=60)) == at(2025, 6, 3, 15)
    assert local(add_working_time(at(2025, 6, 3, 22), minutes=60)) == at(2025, 6, 4, 9)
    assert local(add_working_time(at(2025, 6, 7, 10), minutes=60)) == at(2025, 6, 9, 9)  # Sat


def test_inputs_in_any_zone_are_read_as_the_same_instant():
    start = datetime(2025, 6, 6, 9, tzinfo=UTC)  # 17:00 in Shanghai
    assert local(add_working_time(start, minutes=240)) == at(2025, 6, 9, 11)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(datetime(2025, 6, 6, 17), minutes=60)


def test_spring_festival_2026_is_skipped_and_the_adjusted_saturday_worked():
    # Friday 13 Feb 17:00 + 4 h: 1 h on Friday, 3 h on the 调休 Saturday 14 Feb.
    assert local(add_working_time(at(2026, 2, 13, 17), minutes=240)) == at(2026, 2, 14, 11)
    # Saturday 14 Feb 17:00 + 4 h: nine days off, then Tuesday 24 Feb.
    assert local(add_working_time(at(2026, 2, 14, 17), minutes=240)) == at(2026, 2, 24, 11)


def test_national_day_2025_is_skipped_and_the_adjusted_weekend_days_worked():
    # Saturday 27 Sep is off, Sunday 28 Sep is worked.
    assert local(add_working_time(at(2025, 9, 26, 17), minutes=120)) == at(2025, 9, 28, 9)
    # Tuesday 30 Sep 17:00 + 2 h: 1 Oct .. 8 Oct off, Thursday 9 Oct.
    assert local(add_working_time(at(2025, 9, 30, 17), minutes=120)) == at(2025, 10, 9, 9)
    # Friday 10 Oct 17:00 + 2 h: the 调休 Saturday 11 Oct.
    assert local(add_working_time(at(2025, 10, 10, 17), minutes=120)) == at(2025, 10, 11, 9)


def test_zero_minutes_is_the_start_itself():
    start = at(2025, 6, 7, 23)
    assert add_working_time(start, minutes=0) == start


def test_a_custom_schedule():
    shifts = WorkSchedule(periods=((time(9), time(17)),))
    assert shifts.minutes_per_day == 480
    assert local(add_working_time(at(2025, 6, 3, 16), minutes=120, schedule=shifts)) == at(
        2025, 6, 4, 10
    )


@pytest.mark.parametrize(
    "periods",
    [(), ((time(12), time(8)),), ((time(8), time(12)), (time(11), time(13)))],
)
def test_bad_schedules_are_refused(periods):
    with pytest.raises(ValueError):
        WorkSchedule(periods=periods)


def test_default_schedule_is_480_minutes():
    assert DEFAULT_SCHEDULE.minutes_per_day == 480


# --- working days --------------------------------------------------------------------------


def test_working_days_end_at_the_same_clock_time():
    assert local(add_working_days(at(2025, 6, 3, 10), days=1)) == at(2025, 6, 4, 10)
    assert local(add_working_days(at(2025, 6, 6, 10), days=1)) == at(2025, 6, 9, 10)  # Fri→Mon
    assert local(add_working_days(at(2025, 6, 3, 15, 30), days=3)) == at(2025, 6, 6, 15, 30)


def test_working_days_from_the_opening_minute_end_at_close_the_same_day():
    # Earliest instant: Tuesday 18:00 is the same working moment as Wednesday 08:00.
    assert local(add_working_days(at(2025, 6, 3, 8), days=1)) == at(2025, 6, 3, 18)


def test_working_days_from_after_hours_end_at_close_of_the_nth_working_day():
    assert local(add_working_days(at(2025, 6, 3, 19), days=1)) == at(2025, 6, 4, 18)
    assert local(add_working_days(at(2025, 6, 3, 19), days=2)) == at(2025, 6, 5, 18)


def test_working_days_skip_national_day_2025():
    assert local(add_working_days(at(2025, 9, 30, 10), days=1)) == at(2025, 10, 9, 10)


def test_deadline_in_work_days_skips_spring_festival_2026():
    result = deadline(at(2026, 2, 13, 10), limit_value=2, limit_unit="work_days")
    assert local(result.deadline_at) == at(2026, 2, 24, 10)  # via the 调休 Saturday 14 Feb
    assert result.missing_years == set()


# --- missing years and overrides -----------------------------------------------------------


def test_a_deadline_across_new_year_2027_uses_weekdays_and_reports_2027():
    # Thursday 31 Dec 2026 17:00 + 4 h; 2027-01-01 is a Friday, treated as a working day.
    result = deadline(at(2026, 12, 31, 17), limit_value=4, limit_unit="work_hours")
    assert local(result.deadline_at) == at(2027, 1, 1, 11)
    assert result.missing_years == {2027}


def test_an_override_making_a_2027_day_a_holiday_is_honoured():
    result = deadline(
        at(2026, 12, 31, 17),
        limit_value=4,
        limit_unit="work_hours",
        overrides={date(2027, 1, 1): False},
    )
    assert local(result.deadline_at) == at(2027, 1, 4, 11)  # Monday
    # Saturday and Sunday 2 and 3 Jan were still decided by the fallback.
    assert result.missing_years == {2027}


def test_a_fully_covered_deadline_reports_nothing_missing():
    result = deadline(at(2026, 12, 31, 9), limit_value=4, limit_unit="work_hours")
    assert local(result.deadline_at) == at(2026, 12, 31, 15)
    assert result.missing_years == set()


# --- natural time --------------------------------------------------------------------------


def test_natural_hours_ignore_holidays_and_nights():
    start = at(2026, 2, 14, 17)  # the eve of nine days off
    assert local(add_natural_time(start, minutes=24 * 60)) == at(2026, 2, 15, 17)
    result = deadline(start, limit_value=24, limit_unit="natural_hours")
    assert local(result.deadline_at) == at(2026, 2, 15, 17)
    assert result.missing_years == set()
    assert (
        deadline(at(2026, 12, 31, 17), limit_value=48, limit_unit="natural_hours").missing_years
        == set()
    )


def test_natural_days():
    result = deadline(at(2025, 9, 30, 10), limit_value=3, limit_unit="natural_days")
    assert local(result.deadline_at) == at(2025, 10, 3, 10)


@pytest.mark.parametrize("unit", ["work_hours", "work_days", "natural_hours", "natural_days"])
def test_negative_limits_are_refused(unit):
    with pytest.raises(ValueError):
        deadline(at(2025, 6, 3, 10), limit_value=-1, limit_unit=unit)


def test_unknown_units_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        deadline(at(2025, 6, 3, 10), limit_value=1, limit_unit="fortnights")  # type: ignore[arg-type]


# --- elapsed time and colours --------------------------------------------------------------


def test_working_minutes_between_counts_only_office_time():
    assert working_minutes_between(at(2025, 6, 6, 17), at(2025, 6, 9, 11)) == 240
    assert working_minutes_between(at(2025, 6, 9, 11), at(2025, 6, 6, 17)) == -240
    assert working_minutes_between(at(2026, 2, 14, 18), at(2026, 2, 24, 8)) == 0


def test_a_span_of_weeks_counts_each_working_day_in_full_and_its_ends_in_part():
    # Tue 10 Feb 2026 10:00 → Tue 3 Mar 2026 15:00, across the Spring Festival: of the 20 days
    # between, 10 are worked (11–14 Feb with the adjusted Saturday, 24–28 Feb, 2 Mar).
    first_day, last_day = 120 + 240, 240 + 60
    expected = first_day + 10 * 480 + last_day
    assert working_minutes_between(at(2026, 2, 10, 10), at(2026, 3, 3, 15)) == expected
    assert working_minutes_between(at(2026, 3, 3, 15), at(2026, 2, 10, 10)) == -expected
    # An override taking one of those days off takes its 480 minutes off.
    assert working_minutes_between(at(2026, 2, 10, 10), at(2026, 3, 3, 15),
                                   overrides={date(2026, 2, 25): False}) == expected - 480


# A 10-working-hour limit (600 min) from Monday 9 Jun 2025 08:00 ends Tuesday 10:00. (Not the
# week before: Monday 2 Jun 2025 was the Dragon Boat Festival holiday.)
START = at(2025, 6, 9, 8)
DEADLINE = deadline(START, limit_value=10, limit_unit="work_hours").deadline_at
USED = {
    0.79: at(2025, 6, 9, 17, 54),  # 240 + 234 = 474 working minutes
    0.80: at(2025, 6, 10, 8),  # 480 working minutes: all of Monday
    1.01: at(2025, 6, 10, 10, 6),  # 606 working minutes
}


def test_the_colour_fixture_is_what_it_says():
    assert local(DEADLINE) == at(2025, 6, 10, 10)
    for fraction, now in USED.items():
        assert working_minutes_between(START, now) == pytest.approx(600 * fraction)


@pytest.mark.parametrize(("fraction", "colour"), [(0.79, "green"), (0.80, "yellow"), (1.01, "red")])
def test_colours_at_79_80_and_101_percent(fraction, colour):
    now = USED[fraction]
    used = elapsed_fraction(START, deadline_at=DEADLINE, now=now, limit_unit="work_hours")
    assert used == pytest.approx(fraction)
    assert deadline_colour(START, deadline_at=DEADLINE, now=now, limit_unit="work_hours") == colour


def test_nights_and_holidays_do_not_use_up_a_working_limit():
    start = at(2026, 2, 13, 17)
    due = deadline(start, limit_value=10, limit_unit="work_hours").deadline_at  # 10 h later
    assert local(due) == at(2026, 2, 24, 9)  # Fri 1 h, 调休 Sat 8 h, Tue 24 Feb 1 h
    on_holiday = at(2026, 2, 20, 12)
    assert elapsed_fraction(start, deadline_at=due, now=on_holiday, limit_unit="work_hours") == (
        pytest.approx(0.9)
    )
    assert deadline_colour(start, deadline_at=due, now=on_holiday, limit_unit="work_hours") == (
        "yellow"
    )


def test_past_the_deadline_on_the_clock_is_red_even_without_working_time_passing():
    due = at(2025, 6, 3, 18)
    start = at(2025, 6, 3, 8)
    evening = at(2025, 6, 3, 19)
    assert elapsed_fraction(start, deadline_at=due, now=evening, limit_unit="work_hours") == 1.0
    assert deadline_colour(start, deadline_at=due, now=evening, limit_unit="work_hours") == "red"
    assert deadline_colour(start, deadline_at=due, now=due, limit_unit="work_hours") == "yellow"


def test_natural_colours_use_clock_time():
    start = at(2026, 2, 15, 0)
    due = deadline(start, limit_value=10, limit_unit="natural_hours").deadline_at
    assert (
        deadline_colour(
            start, deadline_at=due, now=at(2026, 2, 15, 7, 54), limit_unit="natural_hours"
        )
        == "green"
    )
    assert (
        deadline_colour(start, deadline_at=due, now=at(2026, 2, 15, 8), limit_unit="natural_hours")
        == "yellow"
    )
    assert (
        deadline_colour(
            start, deadline_at=due, now=at(2026, 2, 15, 10, 6), limit_unit="natural_hours"
        )
        == "red"
    )


def test_a_zero_limit_is_due_at_once():
    start = at(2025, 6, 3, 10)
    assert elapsed_fraction(start, deadline_at=start, now=start, limit_unit="work_hours") == 1.0
