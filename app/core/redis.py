"""The shared Redis client, its time limits, and the circuit breaker every Redis call goes through.

Redis only ever makes things better here (shared rate limits, one holder of a job lock, one
WeChat token), so its trouble must cost little: a call that fails or outlasts `REDIS_TIMEOUT`
opens the breaker, and until a background probe gets an answer again every caller takes its
in-process fallback at once instead of waiting (app/core/breaker.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.core.breaker import Breaker
from app.settings import Settings

T = TypeVar("T")

_client: Redis | None = None
_timeout: float = 0.5


class Unavailable(Exception):
    """No answer from Redis now (open breaker, error or timeout): take the fallback."""


async def _ping() -> None:
    if _client is None:
        raise Unavailable("no client")
    await _client.ping()


# One breaker per process, shared by every Redis use (they all talk to the same server).
breaker = Breaker("redis", probe=_ping, retry_s=2.0)


def connect(settings: Settings) -> Redis | None:
    """The process's Redis client, or None when REDIS_URL is unset (in-process stand-ins)."""
    global _client, _timeout
    breaker.reset()
    _timeout = settings.redis_timeout
    breaker.probe_timeout_s = settings.redis_timeout
    if not settings.redis_url:
        _client = None
        return None
    _client = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        # One quick retry for a dropped connection (a restarted Redis); never for a timeout,
        # which the breaker handles: retrying a hung server only multiplies the wait.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1,
                    supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
        health_check_interval=30,
        decode_responses=True,
    )
    return _client


def client() -> Redis | None:
    return _client


async def run(call: Callable[[Redis], Awaitable[T]]) -> T:
    """`await call(client)` within `REDIS_TIMEOUT`, or raise `Unavailable` at once when the
    breaker is open (or Redis is not configured). A failure or timeout opens the breaker."""
    redis = _client
    if redis is None:
        raise Unavailable("REDIS_URL is not set")
    if not breaker.allows():
        raise Unavailable("circuit open")
    try:
        # The deadline covers the whole call (connect, retry, reply), not each socket read;
        # `asyncio.timeout`, not `wait_for`: no task made per call (as app/core/mysql_engine).
        async with asyncio.timeout(_timeout):
            return await call(redis)
    except (RedisError, OSError, TimeoutError) as exc:
        breaker.failed(exc)
        raise Unavailable(str(exc) or type(exc).__name__) from exc


async def close() -> None:
    global _client
    breaker.reset()
    if _client is not None:
        await _client.aclose()
    _client = None
