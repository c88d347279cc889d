""""Please rate" (请评价): a day after a ticket closes, the reporter and its followers who have not
rated are asked once, while the rating window is open."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.ratings.jobs import remind_to_rate
from tests.notifications.helpers import deliver_all, messages
from tests.tickets.helpers import report

TITLE = "请评价处理结果"
COMMUNITY = "990100001001"  # where the city's tickets lie


async def lives_nearby(client, headers) -> None:
    moved = await client.patch("/api/v1/me", json={"home_area_code": COMMUNITY}, headers=headers)
    assert moved.status_code == 200, moved.text


async def asked(client, headers) -> list[int]:
    return [m["ticket_id"] for m in (await messages(client, headers, limit=100))["items"]
            if m["title"] == TITLE]


def later(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def closed_ticket(client, city, *, follower=None, nearby=True) -> int:
    tid = (await report(client, city.resident, "9904"))["id"]
    if follower is not None:
        if nearby:
            await lives_nearby(client, follower)
        followed = await client.post(f"/api/v1/tickets/{tid}/follow", headers=follower)
        assert followed.status_code == 200, followed.text
    for path, headers, body in ((f"/api/v1/tasks/{tid}/claim", city.worker, {}),
                                (f"/api/v1/tasks/{tid}/handle", city.worker, {"note": "已清理"}),
                                (f"/api/v1/tickets/{tid}/verify", city.worker2, {"passed": True})):
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
    return tid


async def test_reporter_and_follower_are_asked_once_a_day_after_closing(client, city):
    tid = await closed_ticket(client, city, follower=city.other_resident)
    assert await remind_to_rate(now=later(hours=1)) == 0  # closed an hour ago: not yet
    await deliver_all()
    assert await asked(client, city.resident) == []

    assert await remind_to_rate(now=later(hours=25)) == 2
    assert await remind_to_rate(now=later(hours=26)) == 0
    await deliver_all()
    assert await asked(client, city.resident) == [tid]
    assert await asked(client, city.other_resident) == [tid]
    assert await asked(client, city.worker) == []  # staff who handled it are not asked


async def test_who_has_rated_is_not_asked(client, city):
    tid = await closed_ticket(client, city, follower=city.other_resident)
    rated = await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                              json={"result": "satisfied", "service": "satisfied"})
    assert rated.status_code == 201, rated.text
    await remind_to_rate(now=later(hours=25))
    await deliver_all()
    assert await asked(client, city.resident) == []
    assert await asked(client, city.other_resident) == [tid]


async def test_nobody_is_asked_once_the_rating_window_has_closed(client, city):
    await closed_ticket(client, city)
    assert await remind_to_rate(now=later(days=8)) == 0
    await deliver_all()
    assert await asked(client, city.resident) == []


async def test_two_job_instances_at_once_ask_once(client, city):
    tids = [await closed_ticket(client, city) for _ in range(3)]
    await asyncio.gather(*(remind_to_rate(now=later(hours=25)) for _ in range(4)))
    await deliver_all()
    assert sorted(await asked(client, city.resident)) == tids


async def test_a_round_reads_a_bounded_slice_of_the_timeline(client, city):
    tids = [await closed_ticket(client, city) for _ in range(2)]
    # Each closed ticket left several events (submit, auto_accept, dispatch, … verify_pass):
    # at 3 events a round, each close comes round in its turn, and only once.
    rounds = [await remind_to_rate(now=later(hours=25), limit=3) for _ in range(10)]
    assert sum(rounds) == 2 and max(rounds) == 1
    await deliver_all()
    assert sorted(await asked(client, city.resident)) == tids


async def test_followers_who_may_not_rate_are_not_asked(client, city):
    """Only who `POST /rating` would accept is asked: a follower from elsewhere is not."""
    far = await closed_ticket(client, city, follower=city.other_resident, nearby=False)
    assert await remind_to_rate(now=later(hours=25)) == 1  # the reporter only
    await deliver_all()
    assert await asked(client, city.resident) == [far]
    assert await asked(client, city.other_resident) == []
    refused = await client.post(f"/api/v1/tickets/{far}/rating", headers=city.other_resident,
                                json={"result": "satisfied", "service": "satisfied"})
    assert refused.status_code == 403  # the reminder would have led to this

