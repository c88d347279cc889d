"""延期 is one flow: asked and decided through the register or through the task's extension
endpoints, the same `ExtensionRequest` moves the deadline and the register mirrors it."""

from app.approvals.models import ApprovalRequest
from app.tickets.models import ExtensionRequest, Ticket, TicketEvent
from tests.approvals.helpers import ask, claimed, decide, me, ok, supervisor
from tests.factories import error_code
from tests.tickets.helpers import report

AMOUNT = {"extra_value": 2, "extra_unit": "work_days"}


async def test_an_extension_asked_in_the_register_is_granted_by_a_supervisor(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    before = (await Ticket.get(id=tid)).deadline_at
    asked = await ok(await ask(client, tid, city.handler, "extend", "等配件", **AMOUNT), 201)
    assert (asked["kind_label"], asked["extra_value"], asked["extra_unit"]) == (
        "延期", 2, "work_days")
    extension = await ExtensionRequest.get(ticket_id=tid)
    assert extension.status == "pending"  # the dispatchers' queue shows it as before
    old_way = await client.post(f"/api/v1/tasks/{tid}/extension", headers=city.handler,
                                json={"reason": "再申请", **AMOUNT})
    assert old_way.status_code == 409 and error_code(old_way) == "extension_pending"

    granted = await ok(await decide(client, asked["id"], boss, note="同意"))
    assert granted["status"] == "approved" and granted["decision_note"] == "同意"
    ticket = await Ticket.get(id=tid)
    assert ticket.deadline_at > before and ticket.extension_count == 1
    await extension.refresh_from_db()
    assert extension.status == "approved" and extension.decided_by_id == await me(client, boss)
    # The timeline (and so the 考核's 延期数) records it as ever.
    assert await TicketEvent.filter(ticket_id=tid, action="approve_extension").count() == 1


async def test_an_extension_asked_the_old_way_shows_in_the_register_and_follows_its_decision(
        client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    asked = await ok(await client.post(f"/api/v1/tasks/{tid}/extension", headers=city.handler,
                                       json={"reason": "等材料", **AMOUNT}), 201)
    rows = await ok(await client.get("/api/v1/approvals", params={"kind": "extend"},
                                     headers=city.dispatcher))
    [row] = rows["items"]
    assert (row["ticket_id"], row["status"], row["reason"]) == (tid, "pending", "等材料")
    twice = await ask(client, tid, city.handler, "extend", "再要两天", **AMOUNT)
    assert twice.status_code == 409 and error_code(twice) == "extension_pending"

    await ok(await client.post(f"/api/v1/tickets/{tid}/extensions/{asked['id']}/refuse",
                               json={"reason": "时限充足"}, headers=city.dispatcher))
    row = await ok(await client.get(f"/api/v1/approvals/{row['id']}", headers=city.dispatcher))
    assert row["status"] == "denied" and row["decided_by"] == await me(client, city.dispatcher)
    late = await decide(client, row["id"], await supervisor())
    assert late.status_code == 409 and error_code(late) == "request_decided"


async def test_a_pending_extension_lapses_when_the_task_is_handled(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    await ok(await ask(client, tid, city.handler, "extend", "等配件", **AMOUNT), 201)
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "提前修好了"},
                               headers=city.handler))
    assert (await ExtensionRequest.get(ticket_id=tid)).status == "lapsed"
    assert (await ApprovalRequest.get(ticket_id=tid)).status == "lapsed"
