"""Poll notices: an opening reaches the residents of the poll's area (and nobody else) once;
a closing reaches its voters once, when they may see the results, saying only that it closed."""

import asyncio
from datetime import timedelta

from app.notifications.delivery import DeliveryConfig, deliver_batch
from app.notifications.models import Outbox, OutboxStatus
from app.polls.jobs import announce_closed
from tests.notifications.helpers import deliver_all, messages, utcnow
from tests.polls.helpers import (
    ACROSS_TOWN,
    COMMUNITY,
    GRID_1,
    SIBLING,
    close,
    create_poll,
    iso,
    neighbour,
    vote,
)

OPENED, CLOSED = "社区投票开始了", "投票已结束"


async def titled(client, headers, title) -> list[dict]:
    return [m for m in (await messages(client, headers, limit=100))["items"]
            if m["title"] == title]


async def neighbourhood(client) -> dict[str, dict]:
    """Residents inside the community (two of them in one grid cell) and outside it."""
    return {
        "alice": await neighbour(client, "alice", COMMUNITY),
        "carol": await neighbour(client, "carol", GRID_1),
        "dave": await neighbour(client, "dave", GRID_1),
        "sibling": await neighbour(client, "erin", SIBLING),
        "far": await neighbour(client, "frank", ACROSS_TOWN),
        "homeless": await neighbour(client, "gina", None),
    }


async def test_an_opening_poll_reaches_residents_in_its_area_once(client, town):
    people = await neighbourhood(client)
    poll = await create_poll(client, town.staff)
    await deliver_all()
    await deliver_all()
    for name in ("alice", "carol", "dave"):
        [notice] = await titled(client, people[name], OPENED)
        assert poll["title"] in notice["body"], name
    for name in ("sibling", "far", "homeless"):
        assert await titled(client, people[name], OPENED) == [], name
    assert await titled(client, town.staff, OPENED) == []
    [parent] = await Outbox.filter(kind="poll.opened", recipient_id=None)
    assert parent.status == OutboxStatus.SENT


async def test_an_upcoming_poll_is_announced_when_it_opens(client, town):
    people = await neighbourhood(client)
    poll = await create_poll(client, town.staff, opens_at=iso(timedelta(hours=2)))
    await deliver_all()
    assert await titled(client, people["alice"], OPENED) == []
    await deliver_all(now=utcnow() + timedelta(hours=2, minutes=1))
    assert len(await titled(client, people["alice"], OPENED)) == 1
    assert poll["status"] == "upcoming"


async def test_a_poll_closed_before_it_opened_is_never_announced(client, town):
    people = await neighbourhood(client)
    poll = await create_poll(client, town.staff, opens_at=iso(timedelta(hours=2)))
    assert (await close(client, town.staff, poll)).status_code == 200
    await deliver_all(now=utcnow() + timedelta(hours=3))
    assert await titled(client, people["alice"], OPENED) == []


async def test_a_fan_out_that_died_half_way_resumes_without_losing_or_doubling(client, town):
    people = await neighbourhood(client)
    await create_poll(client, town.staff)
    small = DeliveryConfig(fanout_batch=2)
    [parent] = await Outbox.filter(kind="poll.opened")
    # A first worker wrote the first batch of copies and died before saving its progress:
    # the state it leaves is the parent still pending (its lease run out), two copies written.
    first = (await Outbox.get(id=parent.id)).payload
    assert await deliver_batch(worker_id="dies", limit=1, config=small) == 1
    copies = await Outbox.filter(kind="poll.opened", recipient_id__isnull=False).order_by("id")
    assert len(copies) == 3
    await Outbox.filter(id=copies[-1].id).delete()
    await Outbox.filter(id=parent.id).update(status=OutboxStatus.PENDING, payload=first,
                                             locked_by="", locked_until=None)
    await deliver_all(config=small)
    for name in ("alice", "carol", "dave"):
        assert len(await titled(client, people[name], OPENED)) == 1, name
    assert await Outbox.filter(kind="poll.opened", recipient_id__isnull=False).count() == 3


async def test_two_fan_outs_of_one_poll_at_once_write_one_notice_each(client, town):
    people = await neighbourhood(client)
    await create_poll(client, town.staff)
    [parent] = await Outbox.filter(kind="poll.opened")
    # The same broadcast twice (say, re-queued by an admin while it ran): both fan out.
    await Outbox.create(kind=parent.kind, recipient_id=None, payload=parent.payload,
                        available_at=parent.available_at)
    small = DeliveryConfig(fanout_batch=1)
    await asyncio.gather(*(deliver_batch(worker_id=f"w{i}", limit=1, config=small)
                           for i in range(2)))
    await deliver_all()
    for name in ("alice", "carol", "dave"):
        assert len(await titled(client, people[name], OPENED)) == 1, name


async def test_voters_hear_once_that_the_poll_closed_and_nothing_more(client, town):
    people = await neighbourhood(client)
    poll = await create_poll(client, town.staff, is_anonymous=True,
                             results_visibility="after_close")
    for name in ("alice", "carol"):
        assert (await vote(client, people[name], poll)).status_code == 201
    assert await announce_closed() == 0  # still open
    assert (await close(client, town.staff, poll)).status_code == 200
    results = await asyncio.gather(*(announce_closed() for _ in range(3)))
    assert sum(results) == 1
    assert await announce_closed() == 0
    await deliver_all()
    await deliver_all()
    for name in ("alice", "carol"):
        [notice] = await titled(client, people[name], CLOSED)
        # An anonymous poll's notice says it closed: no counts, no answers.
        assert notice["body"] == f"「{poll['title']}」已结束，感谢您的参与，结果可在投票页查看。"
    assert await titled(client, people["dave"], CLOSED) == []  # did not vote
    assert await Outbox.filter(kind="poll.closed", recipient_id__isnull=True).count() == 1


async def test_no_closing_notice_when_only_staff_see_the_results(client, town):
    people = await neighbourhood(client)
    poll = await create_poll(client, town.staff, results_visibility="staff_only")
    assert (await vote(client, people["alice"], poll)).status_code == 201
    assert (await close(client, town.staff, poll)).status_code == 200
    assert await announce_closed() == 0
    await deliver_all()
    assert await titled(client, people["alice"], CLOSED) == []
