"""Fixed-window counters for rate limits and login lockouts: Redis when configured, else memory.

A lost Redis degrades to the in-process counters (per process, so limits loosen by the number
of processes) instead of failing requests. The breaker in app/core/redis.py makes the switch
immediate after the first failure or timeout and logs it once; a background probe switches back.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from app.core import redis as redis_core
from app.core.errors import TooManyRequests

# Count one event on each of KEYS in order, as `incr` does (INCR, then EXPIRE NX so a window
# starts with its first event), and stop at the first past its limit: the counters after it
# are not counted, as when each is hit in turn. ARGV: the window (s), then each key's limit.
# Answers {position of the one past its limit (1-based, 0: none), its count, its TTL}.
_HIT_LUA = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
  if count > tonumber(ARGV[i + 1]) then
    return {i, count, redis.call('TTL', key)}
  end
end
return {0, 0, 0}
"""
_HIT_SHA = hashlib.sha1(_HIT_LUA.encode()).hexdigest()


@dataclass
class _Window:
    count: int
    expires_at: float


class MemoryCounters:
    """In-process counters with the same semantics as the Redis ones."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def _live(self, key: str, now: float) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and window.expires_at <= now:
            del self._windows[key]
            return None
        return window

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._windows) > 100_000:  # keep memory bounded under a flood of keys
            self._windows = {k: w for k, w in self._windows.items() if w.expires_at > now}
        window = self._live(key, now)
        if window is None:
            window = self._windows[key] = _Window(0, now + window_s)
        window.count += 1
        return window.count, max(1, int(window.expires_at - now))

    async def get(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        window = self._live(key, now)
        return (window.count, max(1, int(window.expires_at - now))) if window else (0, 0)

    async def delete(self, key: str) -> None:
        self._windows.pop(key, None)


class Counters:
    """Redis-backed counters that fall back to memory when Redis is absent or failing."""

    def __init__(self) -> None:
        self.memory = MemoryCounters()

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        async def on_redis(redis: Redis) -> tuple[int, int]:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_s, nx=True)
                pipe.ttl(key)
                count, _, ttl = await pipe.execute()
            return int(count), max(1, int(ttl))

        try:
            return await redis_core.run(on_redis)
        except redis_core.Unavailable:
            return await self.memory.incr(key, window_s)

    async def get(self, key: str) -> tuple[int, int]:
        async def on_redis(redis: Redis) -> tuple[int, int]:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                value, ttl = await pipe.execute()
            return int(value or 0), max(0, int(ttl))

        try:
            return await redis_core.run(on_redis)
        except redis_core.Unavailable:
            return await self.memory.get(key)

    async def delete(self, key: str) -> None:
        # Both: a count taken in memory while Redis was away must not outlive the reset either.
        with contextlib.suppress(redis_core.Unavailable):
            await redis_core.run(lambda redis: redis.delete(key))
        await self.memory.delete(key)

    async def hit(self, key: str, *, limit: int, window_s: int) -> None:
        """Count one event; raise 429 with Retry-After once `limit` is exceeded in the window."""
        await self.hit_all(((key, limit),), window_s=window_s)

    async def hit_all(self, hits: Sequence[tuple[str, int]], *, window_s: int) -> None:
        """`hit` each (key, limit) in turn, in one Redis round trip: 429 with Retry-After at
        the first past its limit, and the keys after that one are not counted."""
        keys = [f"rl:{key}" for key, _ in hits]
        args: list[str | int] = [*keys, window_s, *(limit for _, limit in hits)]

        async def on_redis(redis: Redis) -> list[int]:
            try:
                return await redis.evalsha(_HIT_SHA, len(keys), *args)
            except NoScriptError:  # a restarted or flushed server: EVAL caches it again
                return await redis.eval(_HIT_LUA, len(keys), *args)

        try:
            over, _, ttl = await redis_core.run(on_redis)
            retry_after = max(1, int(ttl))
        except redis_core.Unavailable:
            over, retry_after = 0, 1
            for position, (key, (_, limit)) in enumerate(zip(keys, hits, strict=True), 1):
                count, retry_after = await self.memory.incr(key, window_s)
                if count > limit:
                    over = position
                    break
        if over:
            raise TooManyRequests(headers={"Retry-After": str(retry_after)},
                                  details={"retry_after": retry_after})


counters = Counters()
