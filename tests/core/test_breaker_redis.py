"""The breaker against a real Redis frozen with SIGSTOP (the failure the issue measured: every
write waited out its timeout and retries). Needs `redis-server` on PATH; CI's MariaDB stage has
it (scripts/services.sh)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from app.core import locks as locks_module
from app.core import redis as redis_core
from app.core.ratelimit import Counters
from tests.core.test_breaker import TIMEOUT, redis_at, timed
from tests.live import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server on PATH (apt-get install redis-server)")


@pytest.fixture
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server (not REDIS_URL's: this test stops it)."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="gongzhi-redis-")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def test_a_frozen_redis_costs_one_timeout_then_nothing_and_is_used_again_after(
        redis_server):
    url, proc = redis_server
    counters = Counters()
    async with redis_at(url):
        redis_core.breaker.retry_s = 0.1
        try:
            await counters.incr("t:frozen", 60)
            (count, _), normal = await timed(counters.incr("t:frozen", 60))
            assert count == 2 and not redis_core.breaker.is_open  # counted in Redis
            assert await locks_module.locks.acquire("t:frozen", ttl_s=5) is not None

            os.kill(proc.pid, signal.SIGSTOP)
            (count, _), first = await timed(counters.incr("t:frozen", 60))
            assert count == 1  # Redis's count is out of reach: memory's window starts anew
            assert first < TIMEOUT + 1.0 and redis_core.breaker.is_open
            took = [(await timed(counters.incr("t:frozen", 60)))[1] for _ in range(20)]
            assert max(took) < 0.05, took
            token, lock_took = await timed(locks_module.locks.acquire("t:other", ttl_s=5))
            assert token is None and lock_took < 0.05

            os.kill(proc.pid, signal.SIGCONT)
            for _ in range(100):
                if not redis_core.breaker.is_open:
                    break
                await asyncio.sleep(0.05)
            assert not redis_core.breaker.is_open
            (count, _), _ = await timed(counters.incr("t:frozen", 60))
            # Redis's own count again; the INCR that timed out sat in Redis's socket while it
            # was stopped and may have been applied after SIGCONT.
            assert count in (3, 4)
        finally:
            redis_core.breaker.retry_s = 2.0
