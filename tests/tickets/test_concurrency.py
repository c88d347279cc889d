"""Races are tested, not assumed: many claims, many conflicting moves, one outcome.

On MariaDB these run on separate pooled connections (real races); on SQLite Tortoise
serialises transactions, and the same assertions must hold.
"""

import asyncio

from app.accounts.models import Role
from app.tickets.models import Ticket, TicketEvent
from tests.factories import make_staff
from tests.tickets.helpers import report


async def test_fifty_simultaneous_claims_have_exactly_one_winner(client, city):
    workers = [(await make_staff(Role.GRID_WORKER, area_code="990100001001",
                                 name=f"网格{i}"))[1] for i in range(50)]
    tid = (await report(client, city.resident, "9904"))["id"]
    responses = await asyncio.gather(*[
        client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=w) for w in workers])
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 49
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "already_claimed"}
    ticket = await Ticket.get(id=tid)
    winner = responses[statuses.index(200)].json()
    assert ticket.status == "claimed" and ticket.version == winner["version"]
    assert await TicketEvent.filter(ticket_id=tid, action="claim").count() == 1


async def test_conflicting_dispatcher_moves_leave_one_consistent_result(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]  # waits for acceptance
    moves = [client.post(f"/api/v1/tickets/{tid}/accept", json={}, headers=city.dispatcher)
             for _ in range(5)]
    moves += [client.post(f"/api/v1/tickets/{tid}/reject", json={"reason": "重复"},
                          headers=city.dispatcher) for _ in range(5)]
    responses = await asyncio.gather(*moves)
    assert [r.status_code for r in responses].count(200) == 1
    assert all(r.status_code == 409 for r in responses if r.status_code != 200)
    events = await TicketEvent.filter(ticket_id=tid).values_list("action", flat=True)
    assert events.count("accept") + events.count("reject") == 1


async def test_concurrent_extension_requests_create_one(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    responses = await asyncio.gather(*[
        client.post(f"/api/v1/tasks/{tid}/extension", headers=city.handler, json={
            "reason": "等配件", "extra_value": 1, "extra_unit": "work_days"}) for _ in range(8)])
    assert [r.status_code for r in responses].count(201) == 1
    assert await TicketEvent.filter(ticket_id=tid, action="request_extension").count() == 1
