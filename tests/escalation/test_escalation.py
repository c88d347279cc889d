"""上报/升级 (issue 15 item 3): a case climbs grid → community → street → district, each level
with its own queue and time limit; the level that accepts it dispatches it to its unit."""

from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.notifications.models import Outbox
from app.tickets import actions
from app.tickets.deadlines import compute_deadline
from app.tickets.models import Ticket
from tests.escalation.helpers import (
    COMMUNITY,
    STREET,
    accept,
    claimed,
    escalate,
    me,
    ok,
    queue,
    street_staff,
)
from tests.factories import error_code, make_staff, make_unit
from tests.support import base_settings
from tests.tickets.helpers import report


async def test_a_case_climbs_level_by_level_and_the_street_dispatches_it(client, city):
    street = await street_staff()
    tid = (await report(client, city.resident, "9901"))["id"]  # dispatched to the department
    await claimed(client, city, tid)

    up = await ok(await escalate(client, tid, city.handler, "需要社区协调多个单位"), 201)
    assert (up["from_level"], up["to_level"], up["to_level_label"]) == ("grid", "community", "社区")
    assert (up["area_code"], up["status"], up["status_label"]) == (COMMUNITY, "pending", "待受理")
    assert up["requested_by"] == await me(client, city.handler)
    assert up["requester_role"] == "handler" and up["reason"] == "需要社区协调多个单位"
    detail = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert (detail["status"], detail["status_label"]) == ("escalated", "已上报上级")
    assert detail["timeline"][-1]["action"] == "escalate"
    ticket = await Ticket.get(id=tid)
    assert (ticket.level, ticket.unit_id, ticket.assignee_id) == ("community", None, None)

    # The community's queue has it; the unit that held it no longer holds it, so it may not
    # push it further (its handlers no longer reach the ticket at all).
    listed = await ok(await queue(client, city.community_staff, "community"))
    assert [e["id"] for e in listed["items"]] == [up["id"]]
    again = await escalate(client, tid, city.handler)
    assert again.status_code == 404 and error_code(again) == "ticket_not_found"
    # Nor may a grid worker of the cell: the case left the grid level.
    again = await escalate(client, tid, city.worker)
    assert again.status_code == 403 and error_code(again) == "not_your_level"

    # The community cannot solve it either: up to the street.
    up2 = await ok(await escalate(client, tid, city.community_staff, "社区无执法权"), 201)
    assert (up2["from_level"], up2["to_level"], up2["area_code"]) == ("community", "street",
                                                                       STREET)
    assert (await ok(await queue(client, city.community_staff, "community")))["items"] == []
    assert (await ok(await queue(client, city.community_staff, "street")))["items"] == []
    history = await ok(await client.get(f"/api/v1/tickets/{tid}/escalations",
                                        headers=city.dispatcher))
    assert [(e["to_level"], e["status"]) for e in history["items"]] == [
        ("street", "pending"), ("community", "passed_up")]

    [waiting] = (await ok(await queue(client, street, "street")))["items"]
    assert waiting["id"] == up2["id"]
    taken = await ok(await accept(client, up2["id"], street, city.other_department.id, "请环卫处理"))
    assert (taken["status"], taken["status_label"]) == ("accepted", "已受理")
    assert taken["accepted_by"] == await me(client, street)
    assert taken["unit_id"] == city.other_department.id
    ticket = await Ticket.get(id=tid)
    assert (ticket.status, ticket.unit_id, ticket.level) == ("dispatched", city.other_department.id,
                                                            "street")
    assert (await ok(await queue(client, street, "street")))["items"] == []
    # The new unit's handlers hear of their task; the community staff who asked, of the result.
    assigned = await Outbox.filter(kind="ticket.task_assigned", ticket_id=tid,
                                   recipient_id=await me(client, city.other_handler)).count()
    assert assigned == 1
    told = await Outbox.filter(kind="escalation.accepted", ticket_id=tid).values_list(
        "recipient_id", flat=True)
    assert told == [await me(client, city.community_staff)]
    # The other unit now holds it: its handler claims and handles it.
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.other_handler))
    handled = await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清运"},
                                         headers=city.other_handler))
    assert handled["status"] == "verifying"


async def test_accepting_resets_the_deadline_to_the_levels_limit(client, city):
    base_settings(escalation_limit_community_hours=6)
    tid = (await report(client, city.resident, "9901"))["id"]
    # The old deadline passed while the case waited: it is overdue, on the clock.
    await Ticket.filter(id=tid).update(deadline_at=datetime.now(UTC) - timedelta(hours=2))
    up = await ok(await escalate(client, tid, city.worker), 201)
    assert up["requester_role"] == "grid_worker"  # a grid worker of the cell: its level's staff
    assert await actions.mark_overdue() == 1
    taken = await ok(await accept(client, up["id"], city.community_staff, city.department.id))
    ticket = await Ticket.get(id=tid)
    accepted_at = datetime.fromisoformat(taken["accepted_at"])
    expected = await compute_deadline(accepted_at, value=6, unit="work_hours")
    assert ticket.deadline_at == expected
    assert datetime.fromisoformat(taken["deadline_at"]) == expected
    assert ticket.is_overdue is False
    # Handled in time against the level's deadline (the one the rates judge).
    await claimed(client, city, tid)
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已修复"},
                               headers=city.handler))
    assert (await Ticket.get(id=tid)).handled_on_time is True


async def test_the_district_is_the_top(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await ok(await escalate(client, tid, city.dispatcher), 201)  # a dispatcher of the grid's area
    await ok(await escalate(client, tid, city.dispatcher), 201)
    top = await ok(await escalate(client, tid, city.dispatcher), 201)
    assert (top["to_level"], top["area_code"]) == ("district", "990100")
    refused = await escalate(client, tid, city.dispatcher)
    assert refused.status_code == 409 and error_code(refused) == "top_level"
    [waiting] = (await ok(await queue(client, city.dispatcher, "district")))["items"]
    assert waiting["id"] == top["id"]
    # Street staff do not accept for the district.
    street = await street_staff()
    no_queue = await queue(client, street, "district")
    assert no_queue.status_code == 403 and error_code(no_queue) == "not_allowed"
    not_theirs = await accept(client, top["id"], street, city.department.id)
    assert not_theirs.status_code == 403 and error_code(not_theirs) == "not_your_level"
    await ok(await accept(client, top["id"], city.dispatcher, city.department.id))
    assert (await Ticket.get(id=tid)).level == "district"


async def test_who_may_not_escalate_or_accept(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    for headers in (city.resident, city.other_handler, city.far_worker):
        refused = await escalate(client, tid, headers)
        assert refused.status_code in (403, 404), refused.text
    refused = await escalate(client, tid, city.resident)
    assert refused.status_code == 403
    empty = await client.post(f"/api/v1/tickets/{tid}/escalate", headers=city.handler,
                              json={"reason": ""})
    assert empty.status_code == 422
    up = await ok(await escalate(client, tid, city.handler), 201)
    # A dispatcher of another district does not even see it.
    _, stranger = await make_staff(Role.DISPATCHER, area_code=None, name="钱派遣")
    hidden = await accept(client, up["id"], stranger, city.department.id)
    assert hidden.status_code == 404 and error_code(hidden) == "escalation_not_found"
    assert (await queue(client, stranger, "community")).status_code == 403
    assert (await queue(client, city.handler, "community")).status_code == 403
    bad_level = await queue(client, city.community_staff, "grid")
    assert bad_level.status_code == 422
    # The unit must serve the level's area.
    far_unit = await make_unit("西门街道城管中队", area_code="990100002")
    outside = await accept(client, up["id"], city.community_staff, far_unit.id)
    assert outside.status_code == 422 and error_code(outside) == "unit_outside_level"
    unknown = await accept(client, up["id"], city.community_staff, 999_999)
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_unit"
    assert (await Ticket.get(id=tid)).status == "escalated"
    taken = await ok(await accept(client, up["id"], city.community_staff, city.department.id))
    late = await accept(client, up["id"], city.community_staff, city.department.id)
    assert late.status_code == 409 and error_code(late) == "escalation_closed"
    assert taken["status"] == "accepted"


async def test_a_handled_case_is_not_escalated(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已修复"},
                               headers=city.handler))
    refused = await escalate(client, tid, city.dispatcher)
    assert refused.status_code == 409 and error_code(refused) == "invalid_transition"


async def test_a_retried_escalation_with_the_version_seen_is_answered_once(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    seen = (await Ticket.get(id=tid)).version
    first = await ok(await escalate(client, tid, city.dispatcher, version=seen), 201)
    retry = await ok(await escalate(client, tid, city.dispatcher, version=seen), 201)
    assert retry["id"] == first["id"]
    assert (await Ticket.get(id=tid)).level == "community"
    stale = await escalate(client, tid, city.community_staff, version=seen)
    assert stale.status_code == 409 and error_code(stale) == "stale_version"
