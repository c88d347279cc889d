"""A poll created twice with one Idempotency-Key is one poll: a retry after a lost answer, and two
requests racing (a double tap, a console form posted twice)."""

import asyncio

from app.polls.models import Poll
from tests.factories import error_code
from tests.polls.helpers import poll_body


async def test_a_retried_create_answers_with_the_first_poll(client, town):
    headers = {**town.staff, "Idempotency-Key": "poll-retry-1"}
    body = poll_body()
    first = await client.post("/api/v1/polls", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/polls", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await Poll.all().count() == 1

    other = await client.post("/api/v1/polls", json=poll_body(title="另一个投票"),
                              headers=headers)
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    fresh = await client.post("/api/v1/polls", json=body,
                              headers={**town.staff, "Idempotency-Key": "poll-retry-2"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert await Poll.all().count() == 2


async def test_two_concurrent_creates_with_one_key_make_one_poll(client, town):
    headers = {**town.staff, "Idempotency-Key": "poll-double-tap"}
    body = poll_body()
    answers = await asyncio.gather(*(client.post("/api/v1/polls", json=body, headers=headers)
                                     for _ in range(2)))
    assert await Poll.all().count() == 1
    made = [a for a in answers if a.status_code == 201]
    assert made, [a.text for a in answers]
    assert {a.json()["id"] for a in made} == {(await Poll.first()).id}
    for answer in answers:
        assert answer.status_code == 201 or error_code(answer) == "idempotency_in_progress"


async def test_without_a_key_each_create_is_a_new_poll(client, town):
    for _ in range(2):
        assert (await client.post("/api/v1/polls", json=poll_body(),
                                  headers=town.staff)).status_code == 201
    assert await Poll.all().count() == 2
