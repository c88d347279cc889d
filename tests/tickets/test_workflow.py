"""The ticket status machine: one table, every path through it, and the refusals."""

import pytest

from app.tickets.workflow import (
    FINAL_STATUSES,
    INITIAL_STATUS,
    OPEN_STATUSES,
    ROLES,
    STATUS_LABELS,
    TRANSITIONS,
    Status,
    Transition,
    TransitionError,
    allowed_actions,
    resolve,
)

ALL_STATES: list[str | None] = [None, *Status]

# The design, restated independently of the module so a careless edit of the table fails here.
OPEN = {"submitted", "accepted", "dispatched", "claimed", "handled", "verifying", "returned",
        "reopened", "suspended", "escalated"}
EXPECTED = {
    "submit": ({None}, "submitted", {"resident", "grid_worker", "community_staff", "dispatcher", "system"}),
    "self_dispose": ({None}, "closed", {"grid_worker"}),
    "auto_accept": ({"submitted"}, "accepted", {"system"}),
    "accept": ({"submitted"}, "accepted", {"dispatcher"}),
    "reject": ({"submitted"}, "rejected", {"dispatcher"}),
    "dispatch": ({"accepted", "returned", "reopened"}, "dispatched", {"dispatcher", "system"}),
    "claim": ({"dispatched"}, "claimed", {"grid_worker", "handler"}),
    "handle": ({"claimed"}, "handled", {"grid_worker", "handler"}),
    "request_verification": ({"handled"}, "verifying", {"system", "dispatcher"}),
    "verify_pass": ({"verifying"}, "closed", {"grid_worker", "dispatcher"}),
    "verify_fail": ({"verifying"}, "reopened", {"grid_worker", "dispatcher"}),
    "close": ({"handled", "verifying"}, "closed", {"dispatcher"}),
    "rate_rework": ({"closed"}, "reopened", {"community_staff", "dispatcher"}),
    "release": ({"claimed"}, "dispatched", {"grid_worker", "handler"}),
    "return": ({"dispatched", "claimed"}, "returned", {"grid_worker", "handler"}),
    "request_extension": ({"dispatched", "claimed"}, None, {"grid_worker", "handler"}),
    "approve_extension": ({"dispatched", "claimed"}, None, {"dispatcher", "supervisor"}),
    "refuse_extension": ({"dispatched", "claimed"}, None, {"dispatcher", "supervisor"}),
    "recategorise": ({"submitted", "accepted", "returned"}, None, {"dispatcher"}),
    "merge": ({"submitted", "accepted", "returned", "dispatched"}, "merged", {"dispatcher"}),
    "withdraw": ({"submitted"}, "rejected", {"resident"}),
    "add_info": ({"submitted", "accepted", "dispatched", "claimed", "handled", "verifying",
                  "returned", "reopened", "suspended", "escalated"}, None, {"resident"}),
    # 督办 (issue 15): presses the holder, keeps the status.
    "supervise": (OPEN, None, {"supervisor", "dispatcher", "system"}),
    # Talking to the reporter (issue 15 item 5): status kept.
    "progress_note": (OPEN, None, {"grid_worker", "handler", "community_staff", "dispatcher"}),
    "ask_info": (OPEN, None, {"grid_worker", "handler", "community_staff", "dispatcher"}),
    # 挂账, 回退, 作废 (issue 15 item 4): asked for (status kept), then granted or refused.
    "request_suspend": ({"dispatched", "claimed"}, None, {"grid_worker", "handler"}),
    "request_send_back": ({"dispatched", "claimed"}, None, {"grid_worker", "handler", "dispatcher"}),
    "request_void": ({"accepted", "returned", "dispatched", "claimed", "reopened", "suspended"},
                     None, {"dispatcher"}),
    "refuse_request": ({"submitted", "accepted", "dispatched", "claimed", "handled", "verifying",
                        "returned", "reopened", "suspended", "escalated"}, None, {"supervisor", "dispatcher"}),
    "suspend": ({"dispatched", "claimed"}, "suspended", {"supervisor"}),
    "resume": ({"suspended"}, "dispatched", {"supervisor", "dispatcher", "system"}),
    "send_back": ({"dispatched", "claimed"}, "returned", {"supervisor", "dispatcher"}),
    "void": ({"accepted", "returned", "dispatched", "claimed", "reopened", "suspended"}, "voided",
             {"supervisor"}),
    # 上报/升级 (issue 15 item 3): one level up, waiting unit-less for that level, which
    # accepts it with a dispatch; 主办/协办 keep the status.
    "escalate": ({"dispatched", "claimed", "returned", "reopened", "escalated"}, "escalated",
                 {"grid_worker", "handler", "community_staff", "dispatcher"}),
    "accept_escalation": ({"escalated"}, "dispatched", {"community_staff", "dispatcher"}),
    "add_co_unit": ({"dispatched", "claimed"}, None, {"dispatcher"}),
    "waive_co_unit": ({"dispatched", "claimed"}, None, {"dispatcher"}),
    "co_report": ({"dispatched", "claimed"}, None, {"co_handler"}),
    # 热线推送 (issue 14): a dispatcher forwards a case outside the district's remit before any
    # unit works it; it ends there, and the outside body's answer is recorded on it later.
    "forward": ({"submitted", "accepted", "returned"}, "forwarded", {"dispatcher"}),
    "forward_reply": ({"forwarded"}, None, {"dispatcher"}),
}  # fmt: skip

HAPPY_PATHS = [
    (action, state, role)
    for action, (states, _, roles) in EXPECTED.items()
    for state in sorted(states, key=str)
    for role in sorted(roles)
]


def test_the_table_is_the_documented_design():
    assert set(TRANSITIONS) == set(EXPECTED)
    for action, (states, to_state, roles) in EXPECTED.items():
        t = TRANSITIONS[action]
        assert (set(t.from_states), t.to_state, set(t.roles)) == (states, to_state, roles), action
        assert t.action == action


@pytest.mark.parametrize(("action", "state", "role"), HAPPY_PATHS)
def test_every_action_works_from_each_of_its_states_for_each_of_its_roles(action, state, role):
    transition = resolve(action=action, status=state, roles=[role])
    assert transition is TRANSITIONS[action]
    expected_to = EXPECTED[action][1]
    assert transition.next_status(state) == (expected_to if expected_to is not None else state)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_action_is_refused_from_every_other_state(action):
    states, _, roles = EXPECTED[action]
    role = sorted(roles)[0]
    for state in ALL_STATES:
        if state in states:
            continue
        with pytest.raises(TransitionError) as refused:
            resolve(action=action, status=state, roles=[role])
        assert refused.value.code == "invalid_transition", (action, state)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_action_is_refused_to_every_other_role(action):
    states, _, roles = EXPECTED[action]
    state = sorted(states, key=str)[0]
    for role in sorted(ROLES - roles):
        with pytest.raises(TransitionError) as refused:
            resolve(action=action, status=state, roles=[role])
        assert refused.value.code == "role_not_allowed", (action, role)


def test_the_invalid_transition_message_names_the_status_in_chinese():
    with pytest.raises(TransitionError) as refused:
        resolve(action="claim", status="closed", roles=["grid_worker"])
    assert refused.value.code == "invalid_transition"
    assert refused.value.message == "当前状态（已结案）不能执行此操作"
    assert (refused.value.action, refused.value.status) == ("claim", "closed")


def test_acting_on_a_ticket_that_does_not_exist_yet():
    with pytest.raises(TransitionError) as refused:
        resolve(action="claim", status=None, roles=["grid_worker"])
    assert refused.value.code == "invalid_transition"
    assert "尚未创建" in refused.value.message


def test_unknown_actions():
    with pytest.raises(TransitionError) as refused:
        resolve(action="teleport", status="submitted", roles=["dispatcher"])
    assert refused.value.code == "unknown_action"
    with pytest.raises(TransitionError) as refused:
        resolve(action="return_", status="claimed", roles=["handler"])
    assert refused.value.code == "unknown_action"


def test_roles_are_checked_before_the_status_so_outsiders_learn_nothing():
    with pytest.raises(TransitionError) as refused:
        resolve(action="dispatch", status="closed", roles=["resident"])
    assert refused.value.code == "role_not_allowed"


def test_any_one_of_several_roles_is_enough():
    assert resolve(action="accept", status="submitted", roles=["resident", "dispatcher"])
    assert resolve(action="accept", status="submitted", roles=iter(["dispatcher"]))
    with pytest.raises(TransitionError):
        resolve(action="accept", status="submitted", roles=[])


def test_admins_work_no_cases():
    assert all("admin" not in t.roles for t in TRANSITIONS.values())


def test_closed_is_terminal_except_for_rework_after_an_unsatisfied_rating():
    leaving = [t.action for t in TRANSITIONS.values() if "closed" in t.from_states]
    assert leaving == ["rate_rework"]
    assert allowed_actions("closed", ROLES) == ["rate_rework"]


@pytest.mark.parametrize("state", ["merged", "rejected", "voided"])
def test_nothing_leads_out_of_merged_rejected_or_voided(state):
    assert [t.action for t in TRANSITIONS.values() if state in t.from_states] == []
    assert allowed_actions(state, ROLES) == []


def test_every_state_is_reachable():
    targets = {t.to_state for t in TRANSITIONS.values() if t.to_state is not None}
    assert targets == set(Status)
    # And by walking from creation, not just by being named as a target.
    reached: set[str | None] = {None}
    frontier: list[str | None] = [None]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS.values():
            if state in t.from_states and t.to_state is not None and t.to_state not in reached:
                reached.add(t.to_state)
                frontier.append(t.to_state)
    assert reached - {None} == set(Status)


def test_every_open_state_has_a_way_forward():
    for state in OPEN_STATUSES:
        assert any(
            t.to_state is not None and t.to_state != state
            for t in TRANSITIONS.values()
            if state in t.from_states
        ), state


def test_every_from_state_and_role_is_known():
    for t in TRANSITIONS.values():
        assert t.from_states <= set(ALL_STATES), t.action
        assert t.roles <= ROLES and t.roles, t.action


def test_status_sets_and_labels():
    assert INITIAL_STATUS == "submitted"
    assert FINAL_STATUSES == {"closed", "rejected", "merged", "voided", "forwarded"}
    assert OPEN_STATUSES | FINAL_STATUSES == set(Status)
    assert not OPEN_STATUSES & FINAL_STATUSES
    assert set(STATUS_LABELS) == set(Status)
    assert STATUS_LABELS["closed"] == "已结案" and STATUS_LABELS["verifying"] == "待核查"


def test_inputs_required_by_each_action():
    reasons = {a for a, t in TRANSITIONS.items() if t.requires_reason}
    assert reasons == {
        "reject", "return", "verify_fail", "rate_rework", "request_extension", "refuse_extension",
        "request_suspend", "request_send_back", "request_void", "refuse_request", "escalate",
        "waive_co_unit", "forward",
    }  # fmt: skip
    assert {a for a, t in TRANSITIONS.items() if t.requires_note} == {
        "handle", "self_dispose", "supervise", "progress_note", "ask_info", "co_report",
        "forward_reply"}
    assert {a for a, t in TRANSITIONS.items() if t.requires_duplicate_of} == {"merge"}


def test_status_keeping_actions_are_marked_and_cannot_create():
    kept = {a for a, t in TRANSITIONS.items() if not t.changes_status}
    assert kept == {"request_extension", "approve_extension", "refuse_extension", "recategorise",
                    "add_info", "supervise", "request_suspend", "request_send_back",
                    "request_void", "refuse_request", "progress_note", "ask_info",
                    "add_co_unit", "waive_co_unit", "co_report", "forward_reply"}
    assert TRANSITIONS["approve_extension"].next_status("claimed") == "claimed"
    with pytest.raises(ValueError):
        TRANSITIONS["recategorise"].next_status(None)
    assert {a for a, t in TRANSITIONS.items() if t.creates} == {"submit", "self_dispose"}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("role", sorted(ROLES))
def test_allowed_actions_match_the_table(state, role):
    listed = allowed_actions(state, [role])
    expected = [
        a for a, (states, _, roles) in EXPECTED.items() if state in states and role in roles
    ]
    assert sorted(listed) == sorted(expected)
    for action in listed:
        assert resolve(action=action, status=state, roles=[role])


def test_allowed_actions_put_the_forward_step_first():
    assert allowed_actions("claimed", ["handler"])[0] == "handle"
    assert allowed_actions("accepted", ["dispatcher"])[0] == "dispatch"
    assert allowed_actions("dispatched", ["grid_worker"])[0] == "claim"
    assert allowed_actions("verifying", ["grid_worker"])[:2] == ["verify_pass", "verify_fail"]
    assert allowed_actions(None, ["resident"]) == ["submit"]


def test_the_usual_life_of_a_ticket():
    steps = [
        ("submit", "resident"),
        ("auto_accept", "system"),
        ("dispatch", "system"),
        ("claim", "handler"),
        ("handle", "handler"),
        ("request_verification", "system"),
        ("verify_fail", "grid_worker"),
        ("dispatch", "system"),  # 返工: back to the same unit
        ("claim", "handler"),
        ("handle", "handler"),
        ("close", "dispatcher"),
        ("rate_rework", "community_staff"),
        ("dispatch", "dispatcher"),
        ("claim", "grid_worker"),
        ("return", "grid_worker"),
        ("dispatch", "dispatcher"),
        ("claim", "handler"),
        ("request_extension", "handler"),
        ("approve_extension", "dispatcher"),
        ("handle", "handler"),
        ("request_verification", "system"),
        ("verify_pass", "grid_worker"),
    ]
    status: str | None = None
    for action, role in steps:
        status = resolve(action=action, status=status, roles=[role]).next_status(status)
    assert status == "closed"


def test_transitions_are_frozen():
    with pytest.raises(AttributeError):
        TRANSITIONS["claim"].to_state = "closed"  # type: ignore[misc]
    assert isinstance(TRANSITIONS["claim"], Transition)


def test_whoever_handled_may_not_check_their_own_handling():
    from app.tickets.workflow import SEPARATED_FROM_HANDLING, separation_refusal

    assert SEPARATED_FROM_HANDLING == {"verify_pass", "verify_fail", "close"}
    for action in SEPARATED_FROM_HANDLING:
        refusal = separation_refusal(action=action, actor_id=7, handled_by=7)
        assert refusal is not None and refusal.code == "own_handling"
        assert separation_refusal(action=action, actor_id=8, handled_by=7) is None
        assert separation_refusal(action=action, actor_id=7, handled_by=None) is None
    assert separation_refusal(action="handle", actor_id=7, handled_by=7) is None


def test_a_suspended_ticket_is_off_the_clock_and_a_voided_one_ends_off_the_map():
    from app.tickets.workflow import DROPPED_STATUSES, ON_THE_CLOCK

    assert "suspended" in OPEN_STATUSES and "suspended" not in ON_THE_CLOCK
    assert "voided" in FINAL_STATUSES and "voided" in DROPPED_STATUSES
    assert STATUS_LABELS["suspended"] == "已挂账" and STATUS_LABELS["voided"] == "已作废"


def test_a_ticket_suspended_resumed_sent_back_and_voided():
    steps = [
        ("submit", "resident"), ("auto_accept", "system"), ("dispatch", "system"),
        ("claim", "handler"), ("request_suspend", "handler"), ("suspend", "supervisor"),
        ("resume", "dispatcher"), ("claim", "handler"), ("request_send_back", "handler"),
        ("send_back", "dispatcher"), ("dispatch", "dispatcher"), ("request_void", "dispatcher"),
        ("void", "supervisor"),
    ]
    status: str | None = None
    for action, role in steps:
        status = resolve(action=action, status=status, roles=[role]).next_status(status)
    assert status == "voided"


def test_a_forwarded_ticket_ends_but_stays_on_the_map_and_only_takes_the_reply():
    from app.tickets.workflow import DROPPED_STATUSES, ON_THE_CLOCK

    assert "forwarded" in FINAL_STATUSES and "forwarded" not in ON_THE_CLOCK
    assert "forwarded" not in DROPPED_STATUSES  # the problem is real: the public sees where
    assert STATUS_LABELS["forwarded"] == "已转外部处理"
    assert allowed_actions("forwarded", ROLES) == ["forward_reply"]
    steps = [("submit", "resident"), ("auto_accept", "system"), ("dispatch", "system"),
             ("return", "handler"), ("forward", "dispatcher"), ("forward_reply", "dispatcher")]
    status: str | None = None
    for action, role in steps:
        status = resolve(action=action, status=status, roles=[role]).next_status(status)
    assert status == "forwarded"


def test_an_escalated_ticket_waits_on_the_clock_for_the_next_level():
    from app.tickets.workflow import ON_THE_CLOCK, WAITING_FOR_DISPATCHER

    assert "escalated" in OPEN_STATUSES and "escalated" in ON_THE_CLOCK
    assert "escalated" not in WAITING_FOR_DISPATCHER  # its level's queue, not the dispatchers'
    assert STATUS_LABELS["escalated"] == "已上报上级"


def test_a_ticket_escalated_twice_accepted_and_handled_with_a_co_unit():
    steps = [
        ("submit", "resident"), ("auto_accept", "system"), ("dispatch", "system"),
        ("claim", "grid_worker"), ("escalate", "grid_worker"), ("escalate", "community_staff"),
        ("accept_escalation", "dispatcher"), ("add_co_unit", "dispatcher"),
        ("claim", "handler"), ("co_report", "co_handler"), ("handle", "handler"),
    ]
    status: str | None = None
    for action, role in steps:
        status = resolve(action=action, status=status, roles=[role]).next_status(status)
    assert status == "handled"
