"""Races: an escalation while the unit handles, two acceptors at once, escalations at once.

On MariaDB these run on separate pooled connections (real races); on SQLite Tortoise
serialises transactions, and the same assertions must hold.
"""

import asyncio

from app.escalation.models import Escalation
from app.tickets.models import Ticket, TicketEvent
from tests.escalation.helpers import accept, claimed, escalate, ok, street_staff
from tests.factories import error_code
from tests.tickets.helpers import report


async def test_escalating_while_the_unit_handles_one_wins(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    handled, escalated = await asyncio.gather(
        client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已修复"}, headers=city.handler),
        escalate(client, tid, city.dispatcher))
    assert sorted([handled.status_code, escalated.status_code]) == [201, 409] or sorted(
        [handled.status_code, escalated.status_code]) == [200, 409], (handled.text, escalated.text)
    ticket = await Ticket.get(id=tid)
    actions = await TicketEvent.filter(ticket_id=tid, action__in=["handle", "escalate"]
                                       ).values_list("action", flat=True)
    if escalated.status_code == 201:
        assert handled.status_code == 409 and error_code(handled) == "invalid_transition"
        assert ticket.status == "escalated" and ticket.unit_id is None
        assert actions == ["escalate"]
        assert await Escalation.filter(ticket_id=tid).count() == 1
    else:
        assert escalated.status_code == 409
        assert ticket.status == "verifying" and ticket.unit_id == city.department.id
        assert actions == ["handle"]
        assert await Escalation.filter(ticket_id=tid).count() == 0


async def test_two_acceptors_at_once_one_dispatches(client, city):
    streets = [await street_staff(name=f"街道{i}") for i in range(3)]
    tid = (await report(client, city.resident, "9901"))["id"]
    await ok(await escalate(client, tid, city.dispatcher), 201)
    up = await ok(await escalate(client, tid, city.community_staff), 201)
    units = [city.department.id, city.other_department.id, city.department.id]
    responses = await asyncio.gather(*[accept(client, up["id"], h, u)
                                       for h, u in zip(streets, units, strict=True)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert {error_code(r) for r in responses if r.status_code != 200} == {"escalation_closed"}
    winner = responses[statuses.index(200)].json()
    row = await Escalation.get(id=up["id"])
    ticket = await Ticket.get(id=tid)
    assert row.status == "accepted" and row.unit_id == winner["unit_id"] == ticket.unit_id
    assert ticket.status == "dispatched"
    assert await TicketEvent.filter(ticket_id=tid, action="accept_escalation").count() == 1


async def test_simultaneous_escalations_of_what_each_saw_move_one_level(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await claimed(client, city, tid)
    seen = (await Ticket.get(id=tid)).version
    responses = await asyncio.gather(escalate(client, tid, city.handler, version=seen),
                                     escalate(client, tid, city.dispatcher, version=seen),
                                     escalate(client, tid, city.community_staff, version=seen))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, [r.text for r in responses]
    # The losers learn the case moved (or, the handler, that it is no longer theirs).
    assert all(s in (404, 409) for s in statuses if s != 201), [r.text for r in responses]
    ticket = await Ticket.get(id=tid)
    assert ticket.level == "community"
    assert await Escalation.filter(ticket_id=tid).count() == 1
