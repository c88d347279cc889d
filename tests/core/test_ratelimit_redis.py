"""The write limits counted in a real Redis (one round trip for the address and the user), and
the same rules in the in-process counters a lost Redis falls back to.

The Redis tests need `redis-server` on PATH (a private one per test, as
tests/core/test_breaker_redis.py)."""

from __future__ import annotations

import shutil

import pytest

from app.core import ratelimit
from app.core import redis as redis_core
from tests.core.test_breaker import redis_at
from tests.core.test_breaker_redis import redis_server as _redis_server
from tests.factories import error_code, resident
from tests.support import base_settings

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="needs redis-server on PATH (apt-get install redis-server)")

ADDRESS_KEY = "rl:w:ip:127.0.0.1"  # the test client's address
private_redis = _redis_server  # the fixture, under this module's name for it


async def _rename(client, headers, name):
    return await client.patch("/api/v1/me", json={"display_name": name}, headers=headers)


@needs_redis
async def test_a_users_limit_is_shared_by_every_process_through_redis(client, private_redis):
    url, _ = private_redis
    async with redis_at(url, redis_timeout=2.0):
        headers = await resident(client)
        base_settings(rate_writes_per_minute=2)
        assert [(await _rename(client, headers, f"n{i}")).status_code
                for i in range(2)] == [200, 200]
        # Another process starts with empty in-process counters: Redis holds the count.
        ratelimit.counters.memory = ratelimit.MemoryCounters()
        limited = await _rename(client, headers, "n3")
        assert limited.status_code == 429 and error_code(limited) == "too_many_requests"
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        assert not redis_core.breaker.is_open


async def _address_limit_counts_every_user(client) -> None:
    people = [await resident(client, f"r{i}") for i in range(6)]
    await ratelimit.counters.delete(ADDRESS_KEY)  # the logins' writes: a fresh window
    base_settings(rate_writes_per_minute=1)  # 1 per user, 5 per address
    assert [(await _rename(client, h, "x")).status_code for h in people[:5]] == [200] * 5
    refused = await _rename(client, people[5], "x")
    assert refused.status_code == 429 and error_code(refused) == "too_many_requests"
    # The refusal was the address's: the sixth resident's own write is still unspent.
    await ratelimit.counters.delete(ADDRESS_KEY)
    assert (await _rename(client, people[5], "y")).status_code == 200
    assert (await _rename(client, people[5], "z")).status_code == 429


@needs_redis
async def test_the_address_limit_counts_every_user_and_a_refusal_spends_no_users_budget(
        client, private_redis):
    url, _ = private_redis
    async with redis_at(url, redis_timeout=2.0):
        await _address_limit_counts_every_user(client)
        assert not redis_core.breaker.is_open


async def test_the_same_address_and_user_limits_hold_in_process_when_redis_is_lost(client):
    # Nothing listens on port 1: every Redis call fails fast, the in-process counters count.
    async with redis_at("redis://127.0.0.1:1/0"):
        await _address_limit_counts_every_user(client)
        assert redis_core.breaker.is_open


@needs_redis
async def test_limits_hold_after_redis_forgets_its_scripts(client, private_redis):
    url, _ = private_redis
    async with redis_at(url, redis_timeout=2.0):
        headers = await resident(client)
        base_settings(rate_writes_per_minute=2)
        assert (await _rename(client, headers, "a")).status_code == 200
        redis = redis_core.client()
        assert redis is not None
        await redis.script_flush()  # as after a restart of Redis
        assert (await _rename(client, headers, "b")).status_code == 200
        assert (await _rename(client, headers, "c")).status_code == 429
        assert not redis_core.breaker.is_open
