"""Writes are rate limited per user and per address; a lost Redis degrades, it does not fail."""

from app.core import redis as redis_core
from app.settings import current
from tests.factories import error_code, resident
from tests.support import base_settings


async def test_a_user_who_writes_too_fast_gets_429_with_retry_after(client):
    headers = await resident(client)
    base_settings(rate_writes_per_minute=3)
    for i in range(3):
        assert (await client.patch("/api/v1/me", json={"display_name": f"n{i}"},
                                   headers=headers)).status_code == 200
    limited = await client.patch("/api/v1/me", json={"display_name": "n4"}, headers=headers)
    assert limited.status_code == 429 and error_code(limited) == "too_many_requests"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # reads are not limited
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_each_user_has_their_own_budget(client):
    alice = await resident(client, "alice")
    bob = await resident(client, "bob")
    base_settings(rate_writes_per_minute=2)
    for _ in range(2):
        await client.patch("/api/v1/me", json={"display_name": "a"}, headers=alice)
    assert (await client.patch("/api/v1/me", json={"display_name": "a"},
                               headers=alice)).status_code == 429
    assert (await client.patch("/api/v1/me", json={"display_name": "b"},
                               headers=bob)).status_code == 200


async def test_a_lost_redis_degrades_to_in_process_limits(client):
    saved = redis_core.client()
    # Nothing listens on port 1: every Redis call fails fast (timeouts and retries are bounded).
    redis_core.connect(current().model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    try:
        headers = await resident(client)
        base_settings(rate_writes_per_minute=2)
        statuses = [(await client.patch("/api/v1/me", json={"display_name": "x"},
                                        headers=headers)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
    finally:
        redis_core._client = saved
