"""草稿: a poll saved as a draft is its community staff's alone until they publish it —
residents neither see nor answer it and nobody is notified; publishing opens it and queues
the notice once (a retried tap, two staff at once)."""

import asyncio
from datetime import timedelta

from app.notifications.models import Outbox
from app.polls.models import Poll
from tests.factories import error_code
from tests.polls.helpers import close, create_poll, iso, neighbour, vote


async def publish(client, headers, poll):
    return await client.post(f"/api/v1/polls/{poll['id']}/publish", headers=headers)


async def test_a_draft_is_the_staffs_alone_until_published(client, town):
    draft = await create_poll(client, town.staff, draft=True)
    assert draft["status"] == "draft"
    assert await Outbox.filter(kind="poll.opened").count() == 0  # nobody told yet
    neighbour_ = await neighbour(client, "lin")

    listed = await client.get("/api/v1/polls", headers=neighbour_, params={"status": "all"})
    assert draft["id"] not in [p["id"] for p in listed.json()["items"]]
    seen = await client.get(f"/api/v1/polls/{draft['id']}", headers=neighbour_)
    assert seen.status_code == 404 and error_code(seen) == "poll_not_found"
    answer = await vote(client, neighbour_, draft)
    assert answer.status_code == 404
    staff_list = await client.get("/api/v1/polls", headers=town.staff, params={"status": "draft"})
    assert [p["id"] for p in staff_list.json()["items"]] == [draft["id"]]
    open_list = await client.get("/api/v1/polls", headers=town.staff, params={"status": "open"})
    assert draft["id"] not in [p["id"] for p in open_list.json()["items"]]
    closing = await close(client, town.staff, draft)
    assert closing.status_code == 409 and error_code(closing) == "poll_draft"

    published = await publish(client, town.staff, draft)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "open"
    assert await Outbox.filter(kind="poll.opened").count() == 1
    detail = await client.get(f"/api/v1/polls/{draft['id']}", headers=neighbour_)
    assert detail.status_code == 200 and detail.json()["can_vote"] is True
    assert (await vote(client, neighbour_, detail.json())
            ).status_code == 201


async def test_publishing_twice_or_at_once_opens_it_and_notifies_once(client, town):
    draft = await create_poll(client, town.staff, draft=True)
    results = await asyncio.gather(*(publish(client, headers, draft)
                                     for headers in (town.staff, town.street_staff)))
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    again = await publish(client, town.staff, draft)
    assert again.status_code == 200 and again.json()["status"] == "open"
    assert await Outbox.filter(kind="poll.opened").count() == 1


async def test_only_the_areas_staff_publish_and_never_after_its_end(client, town):
    draft = await create_poll(client, town.staff, draft=True)
    across = await publish(client, town.other_staff, draft)
    assert across.status_code == 404
    resident_ = await neighbour(client, "zhou")
    assert (await publish(client, resident_, draft)).status_code == 404
    assert (await Poll.get(id=draft["id"])).is_draft

    stale = await create_poll(client, town.staff, draft=True, closes_at=iso(timedelta(hours=1)))
    await Poll.filter(id=stale["id"]).update(closes_at=(await Poll.get(id=stale["id"])).opens_at)
    late = await publish(client, town.staff, stale)
    assert late.status_code == 409 and error_code(late) == "poll_period_passed"


async def test_a_draft_with_a_past_start_opens_when_published(client, town):
    draft = await create_poll(client, town.staff, draft=True)
    created_opens = (await Poll.get(id=draft["id"])).opens_at
    await asyncio.sleep(0.01)
    published = (await publish(client, town.staff, draft)).json()
    poll = await Poll.get(id=draft["id"])
    assert poll.opens_at > created_opens  # residents never see it "open" before publication
    assert published["opens_at"] is not None
