"""Double taps, replays and crowds: every resident counts exactly once.

On MariaDB the requests run on separate pooled connections, so these are real races decided
by the UNIQUE (poll, user) constraint; on SQLite transactions are serialised and the same
assertions must hold.
"""

import asyncio

from app.polls.models import PollAnswer, PollBallot
from tests.factories import error_code
from tests.polls.helpers import GRID_1, GRID_2, answers, create_poll, neighbour, vote


async def test_a_double_tap_counts_once(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=False)
    alice = await neighbour(client, "alice")
    body = answers(poll, text="同一份答卷")
    responses = await asyncio.gather(*[
        client.post(f"/api/v1/polls/{poll['id']}/responses", json=body, headers=alice)
        for _ in range(12)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 11
    assert {error_code(r) for r in responses if r.status_code == 409} == {"already_voted"}
    assert await PollBallot.filter(poll_id=poll["id"]).count() == 1
    assert await PollAnswer.filter(poll_id=poll["id"]).count() == 4


async def test_different_answers_sent_at_once_by_one_resident_count_once(client, town):
    poll = await create_poll(client, town.staff)
    alice = await neighbour(client, "alice")
    responses = await asyncio.gather(*[
        vote(client, alice, poll, single=choice) for choice in ["yes", "no"] * 4])
    assert [r.status_code for r in responses].count(201) == 1
    results = (await client.get(f"/api/v1/polls/{poll['id']}/results",
                                headers=town.staff)).json()
    assert results["respondent_count"] == 1
    assert sum(o["count"] for o in results["questions"][0]["options"]) == 1


async def test_a_crowd_voting_at_once_is_counted_exactly(client, town):
    poll = await create_poll(client, town.staff)
    crowd = [await neighbour(client, f"n{i}", home=GRID_1 if i % 2 else GRID_2)
             for i in range(40)]
    # Everyone taps twice.
    responses = await asyncio.gather(*[
        vote(client, headers, poll, single="yes" if i % 4 else "no", scale=1 + i % 5)
        for i, headers in enumerate(crowd + crowd)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 40 and statuses.count(409) == 40, statuses
    results = (await client.get(f"/api/v1/polls/{poll['id']}/results",
                                headers=town.staff)).json()
    assert results["respondent_count"] == 40
    single, multiple, scale, _ = results["questions"]
    assert single["answered"] == 40
    assert {o["id"]: o["count"] for o in single["options"]} == {"yes": 30, "no": 10}
    assert multiple["answered"] == 40
    assert {o["id"]: o["count"] for o in multiple["options"]} == {"1": 40, "2": 0, "3": 40,
                                                                   "4": 0}
    assert [s["count"] for s in scale["scale"]] == [8, 8, 8, 8, 8]
    assert scale["average"] == 3.0
