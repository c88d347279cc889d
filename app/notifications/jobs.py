"""The job process: deliver the outbox, and run the periodic jobs (one instance at a time).

    python -m app.notifications.jobs [--worker-id ID] [--batch 20] [--once]
    (`python -m app jobs` once wired into app/__main__.py)

Several job processes may run against MySQL/MariaDB: outbox rows are claimed with
`FOR UPDATE SKIP LOCKED` and a lease, periodic jobs are guarded by a named lock (Redis when
configured). On SQLite run one job process (or the in-process jobs of `python -m app serve`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.core import locks

if TYPE_CHECKING:
    from app.notifications.service import DeliveryConfig

log = logging.getLogger("gongzhi.jobs")
BATCH = 20
IDLE_S = 1.0  # pause when the outbox is drained


async def deliver_batch(*, worker_id: str, limit: int = BATCH, now: datetime | None = None,
                        config: DeliveryConfig | None = None) -> int:
    """Claim and deliver one batch of due outbox rows; returns how many were claimed."""
    from app.notifications import service

    return await service.deliver_batch(worker_id=worker_id, limit=limit, now=now, config=config)


# --- periodic jobs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[], Awaitable[Any]]


async def _mark_overdue() -> int:
    from app.tickets.service import mark_overdue

    return await mark_overdue()


async def _remind_deadlines() -> int:
    from app.tickets.jobs import remind_deadlines

    return await remind_deadlines()


async def _remind_to_rate() -> int:
    from app.ratings.jobs import remind_to_rate

    return await remind_to_rate()


async def _fold_statistics() -> int:
    from app.stats.jobs import fold

    return await fold()


async def _announce_closed_polls() -> int:
    from app.polls.jobs import announce_closed

    return await announce_closed()


# The registry: add a job here and every job process runs it, one instance at a time.
# Each round is bounded (a batch limit over indexed columns), so it stays short whatever
# the table sizes; the jobs that write notices write each at most once (Outbox.dedupe_key).
# Poll opening notices need no job: the `poll.opened` row waits for `opens_at` in the outbox.
PERIODIC: tuple[PeriodicJob, ...] = (
    PeriodicJob("tickets.mark_overdue", 60.0, _mark_overdue),
    # Yellow (80 % of the time used) comes 48 min before a 4-working-hour deadline at the
    # shortest: a minute's lag is nothing against that.
    PeriodicJob("tickets.remind_deadlines", 60.0, _remind_deadlines),
    # Due 24 h after closing: a few minutes late is fine, so it runs less often.
    PeriodicJob("ratings.remind_to_rate", 300.0, _remind_to_rate),
    PeriodicJob("polls.announce_closed", 60.0, _announce_closed_polls),
    # Summaries read unfolded deltas too, so folding only keeps that part small.
    PeriodicJob("stats.fold", 30.0, _fold_statistics),
)


async def run_periodic(job: PeriodicJob, *, worker_id: str) -> bool:
    """Run `job` unless another instance holds its lock; True if it ran here.

    The lock is kept until it expires (one interval), so across all processes the job runs
    at most once per interval, and never twice at the same time.
    """
    async with locks.hold(f"job:{job.name}", ttl_s=job.interval_s, owner=worker_id,
                          release=False) as acquired:
        if not acquired:
            return False
        result = await job.run()
        if result:
            log.info("job %s: %s", job.name, result)
        return True


# --- the loop ---------------------------------------------------------------------------------


async def run_jobs(*, stop: asyncio.Event, worker_id: str, config: DeliveryConfig | None = None,
                   periodic: Sequence[PeriodicJob] = PERIODIC, batch: int = BATCH,
                   idle_s: float = IDLE_S) -> None:
    """Until `stop` is set: deliver the outbox batch after batch, run periodic jobs when due.

    A failed round (database away, a bug) is logged and retried; nothing here ends the loop
    but `stop`.
    """
    due_at = {job.name: 0.0 for job in periodic}
    log.info("jobs started: worker %s, periodic %s", worker_id, [j.name for j in periodic])
    while not stop.is_set():
        for job in periodic:
            if time.monotonic() >= due_at[job.name]:
                due_at[job.name] = time.monotonic() + job.interval_s
                try:
                    await run_periodic(job, worker_id=worker_id)
                except Exception:
                    log.exception("job %s failed; next round in %ss", job.name, job.interval_s)
        try:
            claimed = await deliver_batch(worker_id=worker_id, limit=batch, config=config)
        except Exception:
            log.exception("outbox delivery failed; retrying in %ss", idle_s)
            claimed = 0
        if claimed < batch:  # drained (or failing): wait for new rows, or for stop
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle_s)
    log.info("jobs stopped: worker %s", worker_id)


async def drain(*, worker_id: str, config: DeliveryConfig | None = None,
                batch: int = BATCH) -> int:
    """Deliver everything due now, then return how many rows were claimed in all."""
    total = 0
    while (claimed := await deliver_batch(worker_id=worker_id, limit=batch, config=config)):
        total += claimed
        if claimed < batch:
            break
    return total


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


async def serve(*, worker_id: str | None = None, config: DeliveryConfig | None = None,
                batch: int = BATCH, idle_s: float = IDLE_S, once: bool = False) -> int:
    """A job process: open the database and Redis, run until SIGTERM/SIGINT (or drained)."""
    from app.core import db
    from app.core import redis as redis_core
    from app.settings import current

    worker_id = worker_id or default_worker_id()
    settings = current()
    await db.init_db(settings)
    redis_core.connect(settings)
    try:
        if once:
            total = await drain(worker_id=worker_id, config=config, batch=batch)
            log.info("delivered %d outbox rows", total)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_jobs(stop=stop, worker_id=worker_id, config=config, batch=batch,
                       idle_s=idle_s)
        return 0
    finally:
        await redis_core.close()
        await db.close_db()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker-id", help="how this process shows in locked_by "
                        "(default: host-pid)")
    parser.add_argument("--batch", type=int, default=BATCH, help="outbox rows per claim")
    parser.add_argument("--once", action="store_true",
                        help="deliver what is due, then exit (no periodic jobs)")


def cmd_jobs(args: argparse.Namespace) -> int:
    """`python -m app jobs`: the separate job process of a production deployment."""
    return asyncio.run(serve(worker_id=args.worker_id, batch=args.batch, once=args.once))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m app.notifications.jobs",
                                     description="Gongzhi job process")
    add_arguments(parser)
    return cmd_jobs(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
