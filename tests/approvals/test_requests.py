"""挂账, 回退, 作废 (issue 15 item 4): the worker or dispatcher asks, a supervisor decides, the
ticket moves through its door; a suspended ticket is off the clock until it resumes."""

from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.approvals.models import ApprovalRequest
from app.notifications.models import Outbox
from app.notifications.templates import render
from app.tickets import actions
from app.tickets.models import Ticket, TicketEvent
from tests.approvals.helpers import ask, claimed, decide, me, ok, supervisor
from tests.factories import error_code, make_staff
from tests.notifications.helpers import deliver_all, messages
from tests.tickets.helpers import report


async def test_a_handler_asks_to_suspend_and_a_supervisor_grants_it(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]  # dispatched to the department
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend", "需等待汛期结束后施工"), 201)
    assert (asked["kind"], asked["kind_label"], asked["status"], asked["status_label"]) == (
        "suspend", "挂账", "pending", "待审批")
    assert asked["requested_by"] == await me(client, city.handler)
    assert asked["requester_role"] == "handler" and asked["ticket_number"]
    detail = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert detail["status"] == "claimed"  # asking changes nothing yet
    assert detail["timeline"][-1]["action"] == "request_suspend"

    granted = await ok(await decide(client, asked["id"], boss, note="同意缓办"))
    assert (granted["status"], granted["status_label"]) == ("approved", "已批准")
    assert granted["decided_by"] == await me(client, boss)
    assert granted["decision_note"] == "同意缓办" and granted["decided_at"]
    detail = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert detail["status"] == "suspended" and detail["status_label"] == "已挂账"
    assert detail["timeline"][-1]["action"] == "suspend"
    [told] = await Outbox.filter(kind="approval.decided", ticket_id=tid)
    assert told.recipient_id == await me(client, city.handler)
    message = render(told.kind, told.payload)
    assert message.title == "申请已批准"
    assert message.body == f"案件 {detail['number']} 的挂账/回退/作废申请已批准，当前状态：已挂账。"


async def test_a_suspended_ticket_is_off_the_clock_and_resumes_with_its_deadline_moved(
        client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend"), 201)
    await ok(await decide(client, asked["id"], boss))
    # Two days pass while it waits, and its old deadline passes too: no overdue flag.
    before = await Ticket.get(id=tid)
    deadline = datetime.now(UTC) - timedelta(hours=1)
    await Ticket.filter(id=tid).update(suspended_at=datetime.now(UTC) - timedelta(days=2),
                                       deadline_at=deadline)
    assert await actions.mark_overdue() == 0
    assert (await Ticket.get(id=tid)).is_overdue is False
    assert before.suspend_count == 1

    handled = await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已处理"},
                                headers=city.handler)
    assert handled.status_code == 409  # nobody works a suspended ticket

    for headers, status in ((city.handler, 403), (await supervisor("990100002", "卫督办"), 404)):
        refused = await client.post(f"/api/v1/tickets/{tid}/resume", json={}, headers=headers)
        assert refused.status_code == status
    resumed = await ok(await client.post(f"/api/v1/tickets/{tid}/resume",
                                         json={"note": "汛期已过"}, headers=city.dispatcher))
    assert resumed["status"] == "dispatched"
    after = await Ticket.get(id=tid)
    moved = after.deadline_at - deadline
    assert timedelta(days=2) <= moved < timedelta(days=2, minutes=1)
    assert after.deadline_at > datetime.now(UTC) and after.suspended_at is None
    assert after.assignee_id is None  # back in the unit's pool, to be claimed again
    again = await client.post(f"/api/v1/tickets/{tid}/resume", json={}, headers=city.dispatcher)
    assert again.status_code == 409 and error_code(again) == "invalid_transition"


async def test_a_dispatcher_asks_to_void_and_only_a_supervisor_grants_it(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    asked = await ok(await ask(client, tid, city.dispatcher, "void", "重复立案，与另一案件为同一问题"), 201)
    assert asked["requester_role"] == "dispatcher"
    _, other_dispatcher = await make_staff(Role.DISPATCHER, area_code="990100", name="郑派遣")
    refused = await decide(client, asked["id"], other_dispatcher)
    assert refused.status_code == 403 and error_code(refused) == "role_not_allowed"
    await ok(await decide(client, asked["id"], boss))
    ticket = await Ticket.get(id=tid)
    assert ticket.status == "voided"
    public = await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)
    assert (await ok(public))["status"] == "voided"  # the reporter sees how it ended
    await deliver_all()
    told = (await messages(client, city.resident))["items"]
    assert told[0]["title"] == "案件已作废" and "经审核作废" in told[0]["body"]


async def test_a_send_back_returns_the_task_to_the_dispatch_queue_without_a_misroute(
        client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "send_back", "需多部门联合处置"), 201)
    assert asked["back_to"] == "dispatch"
    await ok(await decide(client, asked["id"], city.dispatcher, note="转城管委协调"))
    ticket = await Ticket.get(id=tid)
    assert (ticket.status, ticket.unit_id, ticket.assignee_id) == ("returned", None, None)
    assert ticket.return_count == 0  # not a "not ours" return against the dispatch
    queue = await ok(await client.get("/api/v1/tickets/queue", headers=city.dispatcher))
    assert tid in [t["id"] for t in queue["items"]]


async def test_denied_requests_change_nothing_but_the_register(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend"), 201)
    bare = await decide(client, asked["id"], boss, approve=False)
    assert bare.status_code == 422 and error_code(bare) == "reason_required"
    denied = await ok(await decide(client, asked["id"], boss, approve=False, note="条件已具备"))
    assert (denied["status"], denied["decision_note"]) == ("denied", "条件已具备")
    assert (await Ticket.get(id=tid)).status == "claimed"
    events = await TicketEvent.filter(ticket_id=tid).values_list("action", flat=True)
    assert events[-1] == "refuse_request"
    # Decided: asking again is allowed, deciding the old one again is not.
    await ok(await ask(client, tid, city.handler, "suspend", "再次申请"), 201)
    late = await decide(client, asked["id"], boss)
    assert late.status_code == 409 and error_code(late) == "request_decided"


async def test_who_may_ask_for_what(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    resident = await ask(client, tid, city.resident, "suspend")
    assert resident.status_code == 403 and error_code(resident) == "role_not_allowed"
    # The cell's grid worker sees the department's task but does not hold it.
    worker = await ask(client, tid, city.worker, "suspend")
    assert worker.status_code == 403 and error_code(worker) == "not_your_task"
    void = await ask(client, tid, city.handler, "void")
    assert void.status_code == 403 and error_code(void) == "role_not_allowed"
    elsewhere = await ask(client, tid, city.other_handler, "suspend")
    assert elsewhere.status_code == 404
    no_amount = await ask(client, tid, city.handler, "extend")
    assert no_amount.status_code == 422 and error_code(no_amount) == "extension_amount"
    stray = await ask(client, tid, city.handler, "suspend", extra_value=2, extra_unit="work_days")
    assert stray.status_code == 422 and error_code(stray) == "extension_amount"
    unknown = await ask(client, tid, city.handler, "postpone")
    assert unknown.status_code == 422
    empty = await ask(client, tid, city.handler, "suspend", reason="")
    assert empty.status_code == 422
    assert await ApprovalRequest.all().count() == 0
    # Once claimed, only the claimant asks.
    await claimed(client, city, tid)
    _, colleague = await make_staff(Role.HANDLER, unit=city.department, name="钱处置")
    other = await ask(client, tid, colleague, "suspend")
    assert other.status_code == 403 and error_code(other) == "not_your_task"


async def test_who_may_decide(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    asked = await ok(await ask(client, tid, city.dispatcher, "send_back", "派错层级"), 201)
    own = await decide(client, asked["id"], city.dispatcher)
    assert own.status_code == 403 and error_code(own) == "own_request"
    far = await supervisor("990100002", name="卫督办")
    hidden = await decide(client, asked["id"], far)
    assert hidden.status_code == 404 and error_code(hidden) == "approval_not_found"
    handler = await decide(client, asked["id"], city.handler)
    assert handler.status_code == 403 and error_code(handler) == "role_not_allowed"
    missing = await decide(client, 999_999, await supervisor(name="严督办"))
    assert missing.status_code == 404
    assert (await ApprovalRequest.get(id=asked["id"])).status == "pending"


async def test_one_pending_request_per_ticket_and_kind(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    await ok(await ask(client, tid, city.handler, "suspend"), 201)
    twice = await ask(client, tid, city.handler, "suspend", "再说一次")
    assert twice.status_code == 409 and error_code(twice) == "request_pending"
    # Another kind may wait beside it.
    await ok(await ask(client, tid, city.handler, "send_back"), 201)
    assert await ApprovalRequest.filter(ticket_id=tid, status="pending").count() == 2
