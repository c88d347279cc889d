"""The evaluation's pure rules: grading, ranking, grade rules, and the timeline walks' edges."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.evaluation import rules
from app.stats.metrics import Period
from tests.factories import make_staff

T0 = datetime(2026, 9, 7, 1, 0, tzinfo=UTC)
SEPT = Period(datetime(2026, 8, 31, 16, tzinfo=UTC), datetime(2026, 9, 30, 16, tzinfo=UTC))
LIMITS = rules.Limits(accept=timedelta(minutes=30), dispatch=timedelta(minutes=30),
                      verify=timedelta(minutes=30))


BACK = {"from_status": "dispatched", "to_status": "returned"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(action: str, minutes: float, **extra) -> rules.Event:
    return rules.Event(action=action, at=at(minutes), **extra)


def test_grades_are_the_bands_at_or_above_each_threshold():
    rule = rules.GradeRule("unit", "handled_on_time_rate", 0.9, 0.75, 0.6)
    assert rules.grade(0.9, rule) == ("excellent", "优秀")  # at the threshold is in the band
    assert rules.grade(0.8999, rule) == ("good", "良好")
    assert rules.grade(0.6, rule) == ("passing", "合格")
    assert rules.grade(0.5999, rule) == ("failing", "不合格")
    assert rules.grade(None, rule) is None  # no cases: no grade, never a pretend 优秀


def test_ties_share_a_rank_and_undefined_rates_are_unranked():
    assert rules.ranks([0.5, None, 0.9, 0.5, 0.1]) == [2, None, 1, 2, 4]
    assert rules.ranks([]) == []


def test_a_grade_rule_must_use_a_rate_of_its_kind_and_ordered_thresholds():
    assert rules.GradeRule("worker", "valid_report_rate", 0.9, 0.8, 0.7).problems() == []
    assert rules.GradeRule("worker", "closing_rate", 0.9, 0.8, 0.7).problems() == [
        "考核依据的指标不适用于该对象"]
    assert rules.GradeRule("unit", "closing_rate", 0.7, 0.8, 0.9).problems() == [
        "阈值须满足 0 ≤ 合格 ≤ 良好 ≤ 优秀 ≤ 1"]
    for kind, rule in rules.DEFAULT_GRADES.items():
        assert rule.kind == kind and rule.problems() == []


def test_a_unit_that_returned_a_case_and_got_it_back_counts_it_from_its_first_dispatch():
    ticket = rules.TicketFacts(
        id=1, created_at=at(0), status="closed", unit_id=7, handled_on_time=True,
        closed_on_time=True, events=(
            ev("dispatch", 0, data={"unit_id": 7}),
            ev("return", 5, data={"returned_by_unit": 7}, **BACK),
            ev("dispatch", 10, actor_id=3, actor_role="dispatcher", data={"unit_id": 8}),
            ev("return", 15, data={"returned_by_unit": 8}, **BACK),
            ev("dispatch", 40, actor_id=3, actor_role="dispatcher", data={"unit_id": 7}),
            ev("handle", 50), ev("verify_pass", 60)))
    counts = rules.unit_counts([ticket], SEPT)
    assert set(counts) == {7}  # unit 8 only returned it: the dispatcher's error, not its case
    assert rules.as_dict(counts[7]) == {
        "should_handle": 1, "handled": 1, "handled_on_time": 1, "handled_late": 0,
        "reworked": 0, "extended": 0, "suspended": 0, "should_close": 1, "closed": 1,
        "closed_on_time": 1}
    mine = rules.dispatcher_counts([ticket], SEPT, LIMITS)[3]
    # Hand dispatches 5 and 25 minutes after a return (the clock starts at the return, not
    # the report); the first was returned.
    assert (mine.dispatched, mine.dispatched_on_time, mine.wrongly_dispatched) == (2, 2, 1)


def test_a_note_on_a_waiting_ticket_does_not_restart_the_dispatch_clock():
    ticket = rules.TicketFacts(id=1, created_at=at(0), status="dispatched", events=(
        ev("auto_accept", 0, from_status="submitted", to_status="accepted"),
        ev("add_info", 25, from_status="accepted", to_status="accepted"),
        ev("dispatch", 31, actor_id=3, actor_role="dispatcher", data={"unit_id": 7})))
    mine = rules.dispatcher_counts([ticket], SEPT, LIMITS)[3]
    assert (mine.dispatched, mine.dispatched_on_time) == (1, 0)


def test_a_verification_counts_from_the_request_it_answers():
    ticket = rules.TicketFacts(id=1, created_at=at(0), status="closed", events=(
        ev("dispatch", 0, data={"unit_id": 7}), ev("handle", 10),
        ev("request_verification", 10),
        ev("verify_fail", 41, actor_id=5, actor_role="grid_worker"),  # 31 minutes: late
        ev("dispatch", 41, data={"unit_id": 7}), ev("handle", 60),
        ev("request_verification", 60),
        ev("verify_pass", 90, actor_id=5, actor_role="grid_worker"),  # 30 minutes: on time
    ))
    worker = rules.worker_counts([ticket], SEPT, LIMITS)[5]
    assert (worker.verified, worker.verified_on_time) == (2, 1)
    assert rules.unit_counts([ticket], SEPT)[7].reworked == 1


def test_a_suspension_counts_for_the_unit_that_held_the_case():
    held = rules.TicketFacts(id=1, created_at=at(0), status="dispatched", unit_id=7, events=(
        ev("dispatch", 0, data={"unit_id": 7}), ev("suspend", 30), ev("handle", 90)))
    plain = rules.TicketFacts(id=2, created_at=at(0), status="dispatched", unit_id=7,
                              events=(ev("dispatch", 0, data={"unit_id": 7}),))
    counts = rules.unit_counts([held, plain], SEPT)[7]
    assert (counts.should_handle, counts.suspended) == (2, 1)
    assert rules.rates_of(rules.UNIT, counts)["suspension_rate"] == 0.5
    assert rules.COUNT_LABELS["suspended"] == "挂账数"


def test_voided_and_forwarded_cases_are_no_units_cases_like_merged_ones():
    def case(status: str) -> rules.TicketFacts:
        return rules.TicketFacts(id=1, created_at=at(0), status=status, unit_id=7,
                                 accepted_at=at(0), source="patrol", reporter_id=5,
                                 events=(ev("dispatch", 0, data={"unit_id": 7}),))

    for status in ("merged", "voided", "forwarded"):
        assert rules.unit_counts([case(status)], SEPT) == {}, status
    assert rules.unit_counts([case("dispatched")], SEPT)[7].should_handle == 1
    # A void patrol report was no valid report; one forwarded outside was a real problem.
    valid = {s: rules.worker_counts([case(s)], SEPT, LIMITS)[5].valid_reports
             for s in ("voided", "forwarded", "dispatched")}
    assert valid == {"voided": 0, "forwarded": 1, "dispatched": 1}


def test_an_escalated_case_is_the_accepting_levels_unit_case_not_the_first_units():
    ticket = rules.TicketFacts(
        id=1, created_at=at(0), status="closed", unit_id=8, handled_on_time=True,
        closed_on_time=True, events=(
            ev("dispatch", 0, data={"unit_id": 7}),
            ev("escalate", 20, actor_role="handler"),
            ev("accept_escalation", 60, actor_id=4, actor_role="community_staff",
               data={"unit_id": 8}),
            ev("handle", 90), ev("verify_pass", 100)))
    counts = rules.unit_counts([ticket], SEPT)
    assert set(counts) == {8}  # unit 7 sent it up unhandled: not a case it failed
    assert (counts[8].should_handle, counts[8].handled, counts[8].closed) == (1, 1, 1)
    # Still waiting in the next level's queue: open, nobody's handling yet.
    waiting = rules.TicketFacts(id=2, created_at=at(0), status="escalated", events=(
        ev("dispatch", 0, data={"unit_id": 7}), ev("escalate", 20)))
    assert rules.unit_counts([waiting], SEPT) == {}


async def test_two_admins_setting_the_first_rule_at_once_leave_one_rule(client, city):
    _, first = await make_staff(Role.ADMIN, area_code="990100", name="钱管理")
    _, second = await make_staff(Role.ADMIN, area_code="990100", name="孙管理")

    async def put(headers, good):
        return await client.put("/api/v1/evaluation/grades/dispatcher", headers=headers, json={
            "rate": "dispatch_accuracy_rate", "excellent": 0.95, "good": good, "passing": 0.5})

    answers = await asyncio.gather(put(first, 0.8), put(second, 0.7))
    assert [a.status_code for a in answers] == [200, 200]
    listed = (await client.get("/api/v1/evaluation/grades", headers=city.dispatcher)).json()
    rows = [r for r in listed["items"] if r["kind"] == "dispatcher"]
    assert len(rows) == 1 and rows[0]["good"] in (0.8, 0.7) and rows[0]["excellent"] == 0.95

