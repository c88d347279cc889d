"""Published rates: formulas, undefined rates for empty denominators, half-up percentages."""

from datetime import UTC, datetime, timedelta

import pytest

from app.stats.metrics import (
    RATE_LABELS,
    RATES,
    Period,
    TicketCounts,
    TicketFacts,
    classify,
    format_percent,
    rates,
    ratio,
    tally,
)

COUNTS = TicketCounts(
    reported=120,
    accepted=100,
    rejected=8,
    self_disposed=12,
    dispatched=90,
    returned=9,
    should_handle=88,
    handled=80,
    handled_on_time=66,
    reworked=4,
    should_close=98,
    closed=70,
    closed_on_time=63,
    rated=40,
    satisfied=25,
    basically_satisfied=10,
    unsatisfied=5,
    replied=30,
)


def test_each_rate_follows_its_formula():
    assert rates(COUNTS) == {
        "handling_rate": 80 / 88,
        "disposal_rate_of_collected": (80 + 12) / 120,
        "handled_on_time_rate": 66 / 88,
        "closing_rate": 70 / 98,
        "closed_on_time_rate": 63 / 98,
        "rework_rate": 4 / 80,
        "dispatch_accuracy_rate": 81 / 90,
        "satisfaction_rate": 35 / 40,
        "reply_rate": 30 / 40,
    }


def test_every_rate_has_a_chinese_name_and_formula():
    assert RATE_LABELS == {
        "handling_rate": "处置率",
        "disposal_rate_of_collected": "处置率（采集口径）",
        "handled_on_time_rate": "按期处置率",
        "closing_rate": "结案率",
        "closed_on_time_rate": "按期结案率",
        "rework_rate": "返工率",
        "dispatch_accuracy_rate": "准确派遣率",
        "satisfaction_rate": "满意率",
        "reply_rate": "回复率",
    }
    assert all(" / " in r.formula for r in RATES)


def test_empty_denominators_give_none_never_100_percent():
    assert all(value is None for value in rates(TicketCounts()).values())
    only_reports = TicketCounts(reported=5, accepted=5, should_close=5)
    result = rates(only_reports)
    assert result["closing_rate"] == 0.0
    assert result["handling_rate"] is None
    assert result["satisfaction_rate"] is None
    assert ratio(3, 0) is None and ratio(0, 3) == 0.0


def test_rework_rate_is_undefined_with_nothing_handled():
    assert rates(TicketCounts(should_handle=3))["rework_rate"] is None


def test_unrated_tickets_are_not_satisfied():
    # 10 closed tickets, 2 rated: one satisfied, one not → 50 %, not 90 %.
    counts = TicketCounts(closed=10, should_close=10, rated=2, satisfied=1, unsatisfied=1)
    assert rates(counts)["satisfaction_rate"] == 0.5


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.875, "87.50%"),
        (2 / 3, "66.67%"),
        (1.0, "100.00%"),
        (0.0, "0.00%"),
        (0.00125, "0.13%"),  # half-up; f"{0.125:.2f}" would print 0.12
        (0.28745, "28.75%"),  # half-up; f"{28.745:.2f}" would print 28.74
        (0.000049, "0.00%"),
        (0.99996, "100.00%"),
        (None, "—"),
    ],
)
def test_format_percent(value, text):
    assert format_percent(value) == text


def test_format_percent_other_precisions():
    assert format_percent(0.87555, places=1) == "87.6%"
    assert format_percent(0.5, places=0) == "50%"
    assert format_percent(None, places=0) == "—"


def test_counts_add_up_and_refuse_nonsense():
    assert COUNTS + TicketCounts(reported=1) == TicketCounts(
        **{**{f: getattr(COUNTS, f) for f in COUNTS.__dataclass_fields__}, "reported": 121}
    )
    with pytest.raises(ValueError):
        TicketCounts(handled=-1)
    with pytest.raises(ValueError):
        TicketCounts(handled=1.5)  # type: ignore[arg-type]


# --- per-ticket classification --------------------------------------------------------------

MAY = Period(datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))


def may(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 5, day, hour, tzinfo=UTC)


def test_a_ticket_handled_and_closed_on_time():
    facts = TicketFacts(
        reported_at=may(2),
        accepted_at=may(2, 11),
        first_dispatched_at=may(2, 12),
        deadline_at=may(3),
        first_handled_at=may(3),  # exactly at the deadline is on time
        closed_at=may(3, 12),
        close_deadline_at=may(4),
        rating="basically_satisfied",
        rated_at=may(4),
        replied=True,
    )
    assert classify(facts, period=MAY) == TicketCounts(
        reported=1,
        accepted=1,
        dispatched=1,
        should_handle=1,
        handled=1,
        handled_on_time=1,
        should_close=1,
        closed=1,
        closed_on_time=1,
        rated=1,
        basically_satisfied=1,
        replied=1,
    )


def test_a_late_reworked_returned_ticket():
    facts = TicketFacts(
        reported_at=may(2),
        accepted_at=may(2),
        first_dispatched_at=may(2),
        deadline_at=may(3),
        first_handled_at=may(3, 11),
        returned=True,
        reworked=True,
        closed_at=None,  # reopened and not closed again
    )
    counts = classify(facts, period=MAY)
    assert (counts.handled, counts.handled_on_time, counts.reworked) == (1, 0, 1)
    assert (counts.dispatched, counts.returned) == (1, 1)
    assert (counts.should_close, counts.closed) == (1, 0)


def test_the_close_deadline_defaults_to_the_handling_deadline():
    late = TicketFacts(
        reported_at=may(2), accepted_at=may(2), first_dispatched_at=may(2),
        deadline_at=may(3), first_handled_at=may(3), closed_at=may(3, 11),
    )  # fmt: skip
    assert classify(late, period=MAY).closed_on_time == 0


def test_cohorts_are_fixed_by_the_stage_entered_in_the_period():
    # Accepted in April, dispatched in May, handled in June (counted: snapshot taken in June).
    facts = TicketFacts(
        reported_at=may(1) - timedelta(days=2),
        accepted_at=may(1) - timedelta(days=1),
        first_dispatched_at=may(1),
        first_handled_at=datetime(2025, 6, 2, tzinfo=UTC),
    )
    counts = classify(facts, period=MAY)
    assert (counts.reported, counts.accepted, counts.should_close) == (0, 0, 0)
    assert (counts.dispatched, counts.should_handle, counts.handled) == (1, 1, 1)
    assert counts.handled_on_time == 1  # no deadline: it cannot be late


def test_the_period_is_half_open():
    at_end = TicketFacts(reported_at=MAY.end)
    at_start = TicketFacts(reported_at=MAY.start)
    assert classify(at_end, period=MAY).reported == 0
    assert classify(at_start, period=MAY).reported == 1


def test_self_disposed_tickets_count_only_as_reported_and_self_disposed():
    facts = TicketFacts(reported_at=may(5), self_disposed=True, closed_at=may(5))
    assert classify(facts, period=MAY) == TicketCounts(reported=1, self_disposed=1)


def test_merged_duplicates_leave_the_handling_and_closing_cohorts():
    facts = TicketFacts(
        reported_at=may(5), accepted_at=may(5), first_dispatched_at=may(5), merged=True
    )
    counts = classify(facts, period=MAY)
    assert (counts.dispatched, counts.should_handle, counts.should_close) == (1, 0, 0)


def test_voided_and_forwarded_tickets_leave_the_cohorts_and_forwards_count_apart():
    stages = dict(reported_at=may(5), accepted_at=may(5), first_dispatched_at=may(5),
                  returned=True)
    voided = classify(TicketFacts(**stages, voided=True), period=MAY)
    forwarded = classify(TicketFacts(**stages, forwarded=True), period=MAY)
    for counts in (voided, forwarded):
        assert (counts.reported, counts.accepted, counts.dispatched, counts.returned) == (
            1, 1, 1, 1)
        assert (counts.should_handle, counts.should_close) == (0, 0)
    assert (voided.forwarded, forwarded.forwarded) == (0, 1)
    # 推送数 follows the report: a case reported in April and forwarded since counts in April.
    assert classify(TicketFacts(reported_at=may(5) - timedelta(days=30), forwarded=True),
                    period=MAY).forwarded == 0


def test_rejected_and_unrated_tickets():
    rejected = TicketFacts(reported_at=may(5), rejected_at=may(6))
    assert classify(rejected, period=MAY) == TicketCounts(reported=1, rejected=1)
    unrated = TicketFacts(reported_at=may(5), accepted_at=may(5), closed_at=may(6))
    counts = classify(unrated, period=MAY)
    assert (counts.rated, counts.satisfied, counts.basically_satisfied) == (0, 0, 0)


def test_tally_sums_and_feeds_rates():
    tickets = [
        TicketFacts(reported_at=may(2), accepted_at=may(2), first_dispatched_at=may(2),
                    deadline_at=may(4), first_handled_at=may(3), closed_at=may(3),
                    rating="satisfied", rated_at=may(5)),
        TicketFacts(reported_at=may(2), accepted_at=may(2), first_dispatched_at=may(2),
                    deadline_at=may(4), first_handled_at=may(6), returned=True,
                    rating="unsatisfied", rated_at=may(7), replied=True),
        TicketFacts(reported_at=may(2), accepted_at=may(2), first_dispatched_at=may(2)),
        TicketFacts(reported_at=may(2), self_disposed=True),
    ]  # fmt: skip
    counts = tally(tickets, period=MAY)
    assert counts == sum((classify(t, period=MAY) for t in tickets), TicketCounts())
    result = rates(counts)
    assert result["handling_rate"] == 2 / 3
    assert result["handled_on_time_rate"] == 1 / 3
    assert result["closing_rate"] == 1 / 3
    assert result["dispatch_accuracy_rate"] == 2 / 3
    assert result["satisfaction_rate"] == 0.5
    assert result["reply_rate"] == 0.5
    assert format_percent(result["handling_rate"]) == "66.67%"
    assert counts.reported == 4 and counts.self_disposed == 1
    # 采集口径: two handled cases and the self-disposal over the four reports collected.
    assert result["disposal_rate_of_collected"] == 3 / 4


def test_both_disposal_rates_are_offered_named_apart():
    # 聊城 publishes 12,827 handled of 13,108 collected (97.86 %); 济宁 divides by dispatched.
    liaocheng = TicketCounts(reported=13_108, self_disposed=2_000, dispatched=11_108,
                             should_handle=11_000, handled=10_827)
    result = rates(liaocheng)
    assert format_percent(result["disposal_rate_of_collected"]) == "97.86%"
    assert format_percent(result["handling_rate"]) == "98.43%"
    assert RATE_LABELS["handling_rate"] != RATE_LABELS["disposal_rate_of_collected"]


def test_periods_need_aware_ordered_bounds():
    with pytest.raises(ValueError):
        Period(datetime(2025, 5, 1), datetime(2025, 6, 1))
    with pytest.raises(ValueError):
        Period(MAY.end, MAY.start)
