"""Heavy reads on a MySQL/MariaDB read replica, with the primary as the fallback.

With `DATABASE_REPLICA_URL` set, `tortoise_config` adds a second connection, `replica`, and
`HeavyReadRouter`. Code that reads a lot and can live with data a few seconds old (statistics,
dashboards, exports) runs inside `async with heavy_reads() as connection:`; every read query
made there goes to the replica, and a snapshot transaction is opened with
`in_transaction(connection)`. Everything else, and every write, stays on the primary.

The replica is used only while it is healthy: its replication threads run and its lag is at
most `REPLICA_MAX_LAG_S` (checked at most every `REPLICA_CHECK_S`); otherwise, or when it
cannot be reached, heavy reads go to the primary and a warning is logged once per change.
With `REPLICA_CAUSAL_READS=true` each heavy read first waits (up to `REPLICA_MAX_LAG_S`) until
the replica has applied everything the primary had committed when the read began (MariaDB
`MASTER_GTID_WAIT`, MySQL `WAIT_FOR_EXECUTED_GTID_SET`), so a figure read right after a write
includes it; the tests run that way. docs/deploy.md ("A read replica") has the set-up.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from tortoise import connections

from app.settings import current

log = logging.getLogger("gongzhi.replica")

PRIMARY, REPLICA = "default", "replica"
P = ParamSpec("P")
R = TypeVar("R")
_heavy: contextvars.ContextVar[str | None] = contextvars.ContextVar("heavy_reads", default=None)


class HeavyReadRouter:
    """Tortoise router: reads inside `heavy_reads()` go to the replica it chose."""

    def db_for_read(self, model: Any) -> str | None:
        return _heavy.get()

    def db_for_write(self, model: Any) -> str | None:
        return None


class _Health:
    """Whether the replica may serve heavy reads now, re-checked at most every REPLICA_CHECK_S."""

    def __init__(self) -> None:
        self.usable = False
        self.checked_at: float | None = None
        self.reason = "not checked yet"
        self.mariadb = True

    async def usable_now(self) -> bool:
        settings = current()
        now = time.monotonic()
        if self.checked_at is not None and now - self.checked_at < settings.replica_check_s:
            return self.usable
        self.checked_at = now
        usable, reason = await self._check(settings.replica_max_lag_s)
        if usable != self.usable or reason != self.reason:
            if usable:
                log.info("read replica in use (%s)", reason)
            else:
                log.warning("read replica not used, heavy reads go to the primary: %s", reason)
        self.usable, self.reason = usable, reason
        return usable

    async def _check(self, max_lag_s: float) -> tuple[bool, str]:
        try:
            replica = connections.get(REPLICA)
            _, version = await replica.execute_query("SELECT VERSION() AS v")
            self.mariadb = "mariadb" in str(version[0]["v"]).lower()
            _, rows = await replica.execute_query("SHOW SLAVE STATUS" if self.mariadb
                                                  else "SHOW REPLICA STATUS")
        except Exception as exc:  # unreachable, timed out, no privilege: the primary serves
            return False, f"cannot ask the replica ({type(exc).__name__}: {exc})"
        if not rows:
            return False, "the server at DATABASE_REPLICA_URL is not a replica"
        row = dict(rows[0])
        io = row.get("Slave_IO_Running", row.get("Replica_IO_Running"))
        sql = row.get("Slave_SQL_Running", row.get("Replica_SQL_Running"))
        lag = row.get("Seconds_Behind_Master", row.get("Seconds_Behind_Source"))
        if io != "Yes" or sql != "Yes":
            return False, f"replication stopped (IO {io}, SQL {sql})"
        if lag is None or float(lag) > max_lag_s:
            return False, f"lag {lag} s above REPLICA_MAX_LAG_S={max_lag_s:g}"
        return True, f"lag {lag} s"


_health = _Health()


def configured() -> bool:
    return bool(current().effective_replica_url)


async def _caught_up(timeout_s: float) -> bool:
    """Wait until the replica has applied what the primary has committed now."""
    primary, replica = connections.get(PRIMARY), connections.get(REPLICA)
    try:
        if _health.mariadb:
            _, rows = await primary.execute_query("SELECT @@gtid_binlog_pos AS pos")
            _, waited = await replica.execute_query(
                "SELECT MASTER_GTID_WAIT(%s, %s) AS w", [rows[0]["pos"], timeout_s])
            return int(waited[0]["w"]) == 0
        _, rows = await primary.execute_query("SELECT @@global.gtid_executed AS pos")
        _, waited = await replica.execute_query(
            "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s) AS w", [rows[0]["pos"], timeout_s])
        return int(waited[0]["w"]) == 0
    except Exception as exc:
        log.warning("causal read: could not wait for the replica (%s): the primary serves", exc)
        return False


@contextlib.asynccontextmanager
async def heavy_reads() -> AsyncIterator[str]:
    """Route the reads made inside to the replica when it is usable; yields the connection
    name for a snapshot transaction (`in_transaction(name)`). Nested uses keep the outer
    choice."""
    if _heavy.get() is not None:
        yield _heavy.get() or PRIMARY
        return
    settings = current()
    chosen = PRIMARY
    if configured() and await _health.usable_now():
        if not settings.replica_causal_reads or await _caught_up(settings.replica_max_lag_s):
            chosen = REPLICA
    token = _heavy.set(chosen if chosen == REPLICA else "")
    try:
        yield chosen
    finally:
        _heavy.reset(token)


def reading_from() -> str:
    """Which connection heavy reads use in this context ("default" outside heavy_reads)."""
    return _heavy.get() or PRIMARY


def recheck() -> None:
    """Ask the replica's health again on the next heavy read (tests, after a failover)."""
    _health.checked_at = None


def heavy_read(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorator: the function's reads run inside `heavy_reads()`."""
    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        async with heavy_reads():
            return await func(*args, **kwargs)

    return wrapper
