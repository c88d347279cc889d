"""The shared Redis client, built with explicit timeouts and retries (from_url retries nothing)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from app.settings import Settings

_client: Redis | None = None


def connect(settings: Settings) -> Redis | None:
    """The process's Redis client, or None when REDIS_URL is unset (in-process stand-ins)."""
    global _client
    if not settings.redis_url:
        _client = None
        return None
    _client = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        # Two quick retries, then give up: a lost Redis must degrade, not stall requests.
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        decode_responses=True,
    )
    return _client


def client() -> Redis | None:
    return _client


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None
