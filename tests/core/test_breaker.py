"""Redis trouble costs one timeout, not one per call: the breaker opens, fallbacks answer at once,
and a background probe closes it when Redis answers again. No Redis needed: a TCP listener that
accepts and never answers hangs exactly like a Redis stopped with SIGSTOP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from app.core import locks as locks_module
from app.core import redis as redis_core
from app.core.breaker import Breaker
from app.core.ratelimit import Counters
from app.settings import current

TIMEOUT = 0.3


class FakeRedis:
    """Accepts connections; while `frozen`, never answers; else just enough RESP3 for a client
    to connect (HELLO, CLIENT SETINFO) and PING."""

    def __init__(self) -> None:
        self.frozen = True
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(4096):
                if self.frozen:
                    continue  # swallow it, like a stopped process's socket buffer
                command = data.upper()
                writer.write(b"%1\r\n+proto\r\n:3\r\n" if b"HELLO" in command
                             else b"+PONG\r\n" if b"PING" in command else b"+OK\r\n")
                await writer.drain()
        writer.close()

    async def __aenter__(self) -> FakeRedis:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


@contextlib.asynccontextmanager
async def redis_at(url: str, *, redis_timeout: float = TIMEOUT) -> AsyncIterator[None]:
    """Point the process's Redis client at `url` for the block, then put everything back."""
    saved, saved_timeout = redis_core.client(), redis_core._timeout
    client = redis_core.connect(current().model_copy(update={"redis_url": url,
                                                             "redis_timeout": redis_timeout}))
    try:
        yield
    finally:
        redis_core.breaker.reset()
        if client is not None:
            await client.aclose()
        redis_core._client, redis_core._timeout = saved, saved_timeout


async def timed(coro: object) -> tuple[object, float]:
    started = time.perf_counter()
    result = await coro  # type: ignore[misc]
    return result, time.perf_counter() - started


async def test_the_breaker_opens_on_a_failure_and_a_probe_closes_it():
    answers = iter([False, False, True])

    async def probe() -> None:
        if not next(answers):
            raise ConnectionError("still down")

    breaker = Breaker("dep", probe=probe, retry_s=0.02)
    assert breaker.allows()
    breaker.failed(TimeoutError())
    breaker.failed(TimeoutError())  # a second failure in flight does not open it twice
    assert not breaker.allows() and breaker.trips == 1
    for _ in range(200):
        if not breaker.is_open:
            break
        await asyncio.sleep(0.01)
    assert breaker.allows()


async def test_a_hung_redis_costs_the_first_write_one_timeout_and_the_rest_nothing():
    counters = Counters()
    async with FakeRedis() as fake, redis_at(f"redis://127.0.0.1:{fake.port}/0"):
        (count, _), first = await timed(counters.incr("t:hung", 60))
        assert count == 1 and first < TIMEOUT + 1.0  # the in-process counter answered
        assert redis_core.breaker.is_open
        later = []
        for expected in (2, 3, 4):
            (count, _), took = await timed(counters.incr("t:hung", 60))
            assert count == expected  # still counting, in memory
            later.append(took)
        assert max(later) < 0.05  # no wait at all while the breaker is open
        # A job lock is "not taken" at once: never a per-process lock every process would get.
        token, took = await timed(locks_module.locks.acquire("t:hung", ttl_s=5))
        assert token is None and took < 0.05


async def test_the_probe_puts_redis_back_in_use_when_it_answers_again():
    async with FakeRedis() as fake, redis_at(f"redis://127.0.0.1:{fake.port}/0"):
        redis_core.breaker.retry_s = 0.05
        with pytest.raises(redis_core.Unavailable):
            await redis_core.run(lambda redis: redis.ping())
        assert redis_core.breaker.is_open
        fake.frozen = False  # SIGCONT
        for _ in range(100):
            if not redis_core.breaker.is_open:
                break
            await asyncio.sleep(0.05)
        assert not redis_core.breaker.is_open
        assert await redis_core.run(lambda redis: redis.ping())
    redis_core.breaker.retry_s = 2.0


async def test_a_refused_connection_opens_the_breaker_fast():
    # Nothing listens on port 1.
    async with redis_at("redis://127.0.0.1:1/0"):
        with pytest.raises(redis_core.Unavailable):
            _, took = await timed(redis_core.run(lambda redis: redis.ping()))
        assert redis_core.breaker.is_open
        (count, _), took = await timed(Counters().incr("t:refused", 60))
        assert count == 1 and took < 0.05


async def test_readyz_reports_redis_in_fallback_without_failing(client):
    async with FakeRedis() as fake, redis_at(f"redis://127.0.0.1:{fake.port}/0"):
        redis_core.breaker.failed(TimeoutError())
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "redis": "fallback"}
