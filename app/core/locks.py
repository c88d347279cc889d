"""Named locks for work that must not run twice at once (periodic jobs).

With REDIS_URL: `SET lock:<name> <token> NX PX <ttl>` — one holder across every process; the
lock expires by itself if its holder dies. Released only by its holder (compare-and-delete in
Lua). Without Redis (the embedded default, one process): an in-process table with the same
semantics. A Redis error, timeout or open breaker means "not acquired" (the job waits for its
next round) rather than falling back to per-process locks, which would let every process run it
at once; with the breaker open that answer is immediate (app/core/redis.py).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core import redis as redis_core

log = logging.getLogger("gongzhi.locks")
PREFIX = "lock:"
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Locks:
    def __init__(self) -> None:
        self.memory: dict[str, tuple[str, float]] = {}  # name → (token, expires at, monotonic)

    async def acquire(self, name: str, *, ttl_s: float, owner: str = "") -> str | None:
        """A token if `name` was free (now held for `ttl_s` seconds), else None."""
        token = f"{owner}:{secrets.token_hex(8)}" if owner else secrets.token_hex(8)
        if redis_core.client() is not None:
            try:
                ok = await redis_core.run(lambda redis: redis.set(
                    PREFIX + name, token, nx=True, px=max(1, int(ttl_s * 1000))))
            except redis_core.Unavailable as exc:
                log.info("redis unavailable, lock %s not taken: %s", name, exc)
                return None
            return token if ok else None
        now = time.monotonic()
        held = self.memory.get(name)
        if held is not None and held[1] > now:
            return None
        self.memory[name] = (token, now + ttl_s)  # no await between check and set: atomic
        return token

    async def release(self, name: str, token: str) -> bool:
        """Give the lock back if we still hold it (an expired lock may be someone else's)."""
        if redis_core.client() is not None:
            try:
                return bool(await redis_core.run(
                    lambda redis: redis.eval(_RELEASE, 1, PREFIX + name, token)))
            except redis_core.Unavailable as exc:
                log.info("redis unavailable, lock %s left to expire: %s", name, exc)
                return False
        held = self.memory.get(name)
        if held is not None and held[0] == token:
            del self.memory[name]
            return True
        return False


locks = Locks()


@asynccontextmanager
async def hold(name: str, *, ttl_s: float, owner: str = "",
               release: bool = True) -> AsyncIterator[bool]:
    """`async with hold("job:x", ttl_s=60) as acquired:` — run the body only if `acquired`.

    `release=False` keeps the lock until it expires: the guarded work then runs at most once
    per `ttl_s` across all processes, not merely one at a time.
    """
    token = await locks.acquire(name, ttl_s=ttl_s, owner=owner)
    try:
        yield token is not None
    finally:
        if token is not None and release:
            await locks.release(name, token)
