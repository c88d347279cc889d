"""主办/协办 (issue 15 item 3): a dispatcher adds co-units, each records its part, and the lead
unit's handling waits for every one (or the dispatcher waives it)."""

import asyncio

from app.escalation.models import CoHandling
from app.notifications.models import Outbox
from app.notifications.templates import render
from app.tickets.models import TicketEvent
from tests.escalation.helpers import claimed, me, ok
from tests.factories import error_code
from tests.tickets.helpers import report


async def add(client, tid, headers, unit_id):
    return await client.post(f"/api/v1/tickets/{tid}/co-handling", headers=headers,
                             json={"unit_id": unit_id})


async def part(client, tid, unit_id, headers, note="已配合清理周边垃圾"):
    return await client.post(f"/api/v1/tickets/{tid}/co-handling/{unit_id}/report",
                             headers=headers, json={"note": note})


async def waive(client, tid, unit_id, headers, reason="现场已无需协办"):
    return await client.post(f"/api/v1/tickets/{tid}/co-handling/{unit_id}/waive",
                             headers=headers, json={"reason": reason})


async def handle(client, tid, headers):
    return await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已更换井盖"},
                             headers=headers)


async def test_the_lead_unit_finishes_after_its_co_unit_reports(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]  # lead: the department
    co = city.other_department.id
    added = await ok(await add(client, tid, city.dispatcher, co), 201)
    assert (added["unit_id"], added["status"], added["status_label"]) == (co, "pending", "待反馈")
    [told] = await Outbox.filter(kind="escalation.co_unit_added", ticket_id=tid)
    assert told.recipient_id == await me(client, city.other_handler)
    assert render(told.kind, told.payload).title == "新协办任务"

    # The co-unit sees its part among its tasks; the lead unit's handling waits for it.
    tasks = await ok(await client.get("/api/v1/co-handling/tasks", headers=city.other_handler))
    assert [(t["ticket_id"], t["unit_id"]) for t in tasks["items"]] == [(tid, co)]
    await claimed(client, city, tid)
    blocked = await handle(client, tid, city.handler)
    assert blocked.status_code == 409 and error_code(blocked) == "co_handling_pending"

    # Only the co-unit's handler records the part, once.
    wrong = await part(client, tid, co, city.handler)
    assert wrong.status_code == 403 and error_code(wrong) == "not_co_unit"
    done = await ok(await part(client, tid, co, city.other_handler))
    assert (done["status"], done["note"]) == ("reported", "已配合清理周边垃圾")
    assert done["done_by"] == await me(client, city.other_handler)
    twice = await part(client, tid, co, city.other_handler)
    assert twice.status_code == 409 and error_code(twice) == "co_part_done"
    pending = await ok(await client.get("/api/v1/co-handling/tasks",
                                        headers=city.other_handler))
    assert pending["items"] == []
    listed = await ok(await client.get(f"/api/v1/tickets/{tid}/co-handling",
                                       headers=city.other_handler))
    assert [i["status"] for i in listed["items"]] == ["reported"]
    detail = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    steps = [e["action"] for e in detail["timeline"]]
    assert steps.index("add_co_unit") < steps.index("co_report") == len(steps) - 1

    finished = await ok(await handle(client, tid, city.handler))
    assert finished["status"] == "verifying"


async def test_the_dispatcher_waives_a_co_unit(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    co = city.other_department.id
    await ok(await add(client, tid, city.dispatcher, co), 201)
    await claimed(client, city, tid)
    refused = await waive(client, tid, co, city.handler)
    assert refused.status_code == 403
    waived = await ok(await waive(client, tid, co, city.dispatcher))
    assert (waived["status"], waived["status_label"], waived["note"]) == (
        "waived", "已免除", "现场已无需协办")
    late = await part(client, tid, co, city.other_handler)
    assert late.status_code == 409 and error_code(late) == "co_part_done"
    assert (await ok(await handle(client, tid, city.handler)))["status"] == "verifying"


async def test_what_may_not_be_added(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    lead = await add(client, tid, city.dispatcher, city.department.id)
    assert lead.status_code == 422 and error_code(lead) == "lead_unit"
    unknown = await add(client, tid, city.dispatcher, 999_999)
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_unit"
    by_handler = await add(client, tid, city.handler, city.other_department.id)
    assert by_handler.status_code == 403
    await ok(await add(client, tid, city.dispatcher, city.other_department.id), 201)
    again = await add(client, tid, city.dispatcher, city.other_department.id)
    assert again.status_code == 409 and error_code(again) == "co_unit_exists"
    not_co = await part(client, tid, city.team.id, city.other_handler)
    assert not_co.status_code in (403, 404)
    # A submitted report (not dispatched) takes no co-unit.
    fresh = (await report(client, city.resident, "9902"))["id"]
    early = await add(client, fresh, city.dispatcher, city.other_department.id)
    assert early.status_code == 409 and error_code(early) == "invalid_transition"


async def test_reporting_and_waiving_at_once_one_wins(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    co = city.other_department.id
    await ok(await add(client, tid, city.dispatcher, co), 201)
    reported, waived = await asyncio.gather(part(client, tid, co, city.other_handler),
                                            waive(client, tid, co, city.dispatcher))
    assert sorted([reported.status_code, waived.status_code]) == [200, 409], (
        reported.text, waived.text)
    row = await CoHandling.get(ticket_id=tid, unit_id=co)
    assert row.status == ("reported" if reported.status_code == 200 else "waived")
    events = await TicketEvent.filter(ticket_id=tid, action__in=["co_report", "waive_co_unit"]
                                      ).count()
    assert events == 1
