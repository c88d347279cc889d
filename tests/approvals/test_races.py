"""Races around a request: deciders at once, a decision while the unit handles, asks at once.

On MariaDB these run on separate pooled connections (real races); on SQLite Tortoise
serialises transactions, and the same assertions must hold.
"""

import asyncio

from app.approvals.models import ApprovalRequest
from app.tickets.models import Ticket, TicketEvent
from tests.approvals.helpers import ask, claimed, decide, ok, supervisor
from tests.factories import error_code
from tests.tickets.helpers import report


async def test_two_supervisors_deciding_one_request_at_once_one_wins(client, city):
    bosses = [await supervisor(name=f"督办{i}") for i in range(4)]
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend"), 201)
    responses = await asyncio.gather(
        decide(client, asked["id"], bosses[0]), decide(client, asked["id"], bosses[1]),
        decide(client, asked["id"], bosses[2], approve=False, note="不同意"),
        decide(client, asked["id"], bosses[3], approve=False, note="不同意"))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert {error_code(r) for r in responses if r.status_code != 200} == {"request_decided"}
    winner = responses[statuses.index(200)].json()
    row = await ApprovalRequest.get(id=asked["id"])
    assert row.status == winner["status"] and row.decided_by_id == winner["decided_by"]
    decisions = await TicketEvent.filter(ticket_id=tid, action__in=["suspend", "refuse_request"]
                                         ).count()
    assert decisions == 1
    ticket = await Ticket.get(id=tid)
    assert ticket.status == ("suspended" if winner["status"] == "approved" else "claimed")


async def test_a_request_lapses_when_the_unit_handles_meanwhile(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend"), 201)
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已更换井盖"},
                               headers=city.handler))
    row = await ok(await client.get(f"/api/v1/approvals/{asked['id']}", headers=boss))
    assert (row["status"], row["status_label"]) == ("lapsed", "已失效")
    assert row["decision_note"] == "案件状态变为「已处置」，申请自动失效"
    late = await decide(client, asked["id"], boss)
    assert late.status_code == 409 and error_code(late) == "request_lapsed"
    assert (await Ticket.get(id=tid)).status == "verifying"


async def test_approving_while_the_unit_handles_leaves_one_consistent_result(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    asked = await ok(await ask(client, tid, city.handler, "suspend"), 201)
    handled, approved = await asyncio.gather(
        client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已更换井盖"},
                    headers=city.handler),
        decide(client, asked["id"], boss))
    assert sorted([handled.status_code, approved.status_code]) == [200, 409]
    ticket = await Ticket.get(id=tid)
    row = await ApprovalRequest.get(id=asked["id"])
    if approved.status_code == 200:
        assert ticket.status == "suspended" and row.status == "approved"
    else:
        assert error_code(approved) == "request_lapsed"
        assert ticket.status == "verifying" and row.status == "lapsed"


async def test_simultaneous_asks_of_one_kind_create_one(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    responses = await asyncio.gather(*[ask(client, tid, city.handler, "suspend", f"理由{i}")
                                       for i in range(6)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    assert {error_code(r) for r in responses if r.status_code != 201} == {"request_pending"}
    assert await ApprovalRequest.filter(ticket_id=tid).count() == 1
    assert await TicketEvent.filter(ticket_id=tid, action="request_suspend").count() == 1
