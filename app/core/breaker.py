"""A circuit breaker: after one failure, stop calling a dependency and probe it in the background.

Without it a Redis that hangs (a stopped process, a dropped network path) makes every call wait
out its timeout, and a write that makes two rate-limit calls waits twice. With it, the first
failure opens the circuit: callers take their fallback at once (in-process counters, "lock not
acquired") and a background task probes the dependency every `retry_s` until it answers, then
closes the circuit. Only the calls already in flight when the trouble starts pay the timeout.

States: closed (calls go through) → open (calls refused, one probe task running) → closed.
There is no half-open state in the request path: the probe is the only caller while open, so
a request never waits on a dependency that was failing a moment ago.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("gongzhi.breaker")


class Breaker:
    """One dependency's circuit: ask `allows()` before a call, report `failed(exc)` after one."""

    def __init__(self, name: str, *, probe: Callable[[], Awaitable[object]],
                 retry_s: float = 2.0, probe_timeout_s: float = 1.0) -> None:
        self.name = name
        self._probe = probe
        self.retry_s = retry_s
        self.probe_timeout_s = probe_timeout_s
        self.opened_at: float | None = None  # monotonic; None while closed
        self.trips = 0  # times opened since start (a gauge for logs and tests)
        self._task: asyncio.Task[None] | None = None
        # `failed` may be called from a worker thread (the WeChat token storage is synchronous).
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allows(self) -> bool:
        """True if the caller may use the dependency now; False means take the fallback."""
        if self.opened_at is None:
            return True
        self._ensure_probe()
        return False

    def failed(self, exc: BaseException) -> None:
        """The dependency failed or timed out: open the circuit (once) and start probing."""
        with self._lock:
            opening = self.opened_at is None
            if opening:
                self.opened_at = time.monotonic()
                self.trips += 1
        if opening:
            log.warning("%s unavailable (%s): using the in-process fallback, probing every "
                        "%.1f s", self.name, _describe(exc), self.retry_s)
        self._ensure_probe()

    def close(self) -> None:
        with self._lock:
            opened_at, self.opened_at = self.opened_at, None
        if opened_at is not None:
            log.warning("%s answers again after %.1f s: back in use", self.name,
                        time.monotonic() - opened_at)

    def reset(self) -> None:
        """Forget any trouble and stop probing (a new client was configured)."""
        with self._lock:
            self.opened_at = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def _ensure_probe(self) -> None:
        """One probe task per open period, on the running loop (none from a worker thread)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a thread without a loop: the next async caller starts the probe
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        # A task left on another (closed) loop never runs again: start a fresh one here.
        self._task = loop.create_task(self._probe_until_closed(), name=f"probe {self.name}")

    async def _probe_until_closed(self) -> None:
        while self.opened_at is not None:
            await asyncio.sleep(self.retry_s)
            try:
                await asyncio.wait_for(self._probe(), timeout=self.probe_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means "still down"; try again later
                log.debug("%s probe failed: %s", self.name, _describe(exc))
                continue
            self.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
