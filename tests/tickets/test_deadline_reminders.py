"""Deadline reminders (催办): once 80 % of a task's time is used, whoever holds it hears it once
per deadline — the claimant, or every handler of the unit while nobody has claimed it."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role, User
from app.core import config_cache
from app.notifications.models import Outbox
from app.tickets.jobs import KIND, remind_deadlines
from app.tickets.models import Ticket
from tests.factories import make_staff
from tests.notifications.helpers import deliver_all, messages
from tests.tickets.helpers import report

TITLE = "任务即将超时"


async def reminders(client, headers) -> list[dict]:
    return [m for m in (await messages(client, headers, limit=100))["items"]
            if m["title"] == TITLE]


async def task(client, city, *, used: str = "yellow") -> dict:
    """A ticket dispatched to city.department, its clock set as `used` says."""
    ticket = await report(client, city.resident, "9901")
    now = datetime.now(UTC)
    times = {  # (dispatched, deadline) around now
        "yellow": (now - timedelta(days=60), now + timedelta(days=1)),
        "green": (now - timedelta(hours=1), now + timedelta(days=30)),
        "overdue": (now - timedelta(days=60), now - timedelta(hours=1)),
    }[used]
    await Ticket.filter(id=ticket["id"]).update(dispatched_at=times[0], deadline_at=times[1],
                                                is_overdue=used == "overdue")
    return ticket


async def test_every_handler_of_the_unit_is_reminded_once_even_when_the_job_runs_twice(
        client, city):
    _, colleague = await make_staff(Role.HANDLER, unit=city.department, name="林处置")
    yellow = await task(client, city)
    await task(client, city, used="green")
    await task(client, city, used="overdue")

    await remind_deadlines()
    await remind_deadlines()
    await deliver_all()
    await remind_deadlines()
    await deliver_all()

    for headers in (city.handler, colleague):
        [message] = await reminders(client, headers)
        assert message["ticket_id"] == yellow["id"] and yellow["number"] in message["body"]
    assert await reminders(client, city.other_handler) == []  # another unit
    assert await reminders(client, city.resident) == []


async def test_a_deactivated_handler_is_not_reminded(client, city):
    gone, _ = await make_staff(Role.HANDLER, unit=city.department, name="林处置")
    await User.filter(id=gone.id).update(is_active=False)
    config_cache.invalidate()  # a unit's handlers are cached
    ticket = await task(client, city)
    await remind_deadlines()
    await deliver_all()
    assert len(await reminders(client, city.handler)) == 1
    assert not await Outbox.filter(kind=KIND, ticket_id=ticket["id"],
                                   recipient_id=gone.id).exists()


async def test_a_claimed_task_reminds_only_its_claimant(client, city):
    _, colleague = await make_staff(Role.HANDLER, unit=city.department, name="林处置")
    ticket = await task(client, city)
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=colleague)
    assert claimed.status_code == 200, claimed.text
    await remind_deadlines()
    await deliver_all()
    assert len(await reminders(client, colleague)) == 1
    assert await reminders(client, city.handler) == []


async def test_an_approved_extension_earns_a_new_reminder(client, city):
    ticket = await task(client, city)
    await remind_deadlines()
    await deliver_all()
    asked = await client.post(f"/api/v1/tasks/{ticket['id']}/extension", headers=city.handler,
                              json={"reason": "需要定制井盖", "extra_value": 1,
                                    "extra_unit": "work_days"})
    assert asked.status_code == 201, asked.text
    approved = await client.post(
        f"/api/v1/tickets/{ticket['id']}/extensions/{asked.json()['id']}/approve",
        json={}, headers=city.dispatcher)
    assert approved.status_code == 200, approved.text
    await remind_deadlines()  # 60 days in, the extra day still leaves it yellow
    await remind_deadlines()
    await deliver_all()
    assert len(await reminders(client, city.handler)) == 2


async def test_a_round_looks_at_a_bounded_batch_and_the_sweep_reaches_every_task(client, city):
    tickets = [await task(client, city) for _ in range(3)]
    assert await remind_deadlines(limit=2) == 2  # the first two dispatched tickets
    assert await remind_deadlines(limit=2) == 1  # the third; the sweep then starts over
    assert await remind_deadlines(limit=2) == 0  # already reminded
    await deliver_all()
    assert sorted(m["ticket_id"] for m in await reminders(client, city.handler)) == [
        t["id"] for t in tickets]


async def test_two_job_instances_at_once_write_each_reminder_once(client, city):
    _, colleague = await make_staff(Role.HANDLER, unit=city.department, name="林处置")
    for _ in range(3):
        await task(client, city)
    await asyncio.gather(*(remind_deadlines() for _ in range(4)))
    await deliver_all()
    for headers in (city.handler, colleague):
        found = await reminders(client, headers)
        assert len(found) == 3 and len({m["ticket_id"] for m in found}) == 3
