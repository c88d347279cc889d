"""The composition root of background work: every domain's notices and periodic jobs, wired
together, and the job process that runs them.

    python -m app jobs [--worker-id ID] [--batch 20] [--once]   (or python -m app.jobs …)

Each domain declares its own: notice kinds with their texts in `app/<domain>/notices.py`
(`KINDS`), periodic jobs in `app/<domain>/jobs.py` (`JOBS`). This module is the only one that
imports them all; `install()` hands them to notifications (which imports no domain), and
`create_app` calls it too, so the API process renders and fans out the same kinds.

Several job processes may run against MySQL/MariaDB: outbox rows are claimed with
`FOR UPDATE SKIP LOCKED` and a lease, periodic jobs are guarded by a named lock (Redis when
configured). On SQLite run one job process (or the in-process jobs of `python -m app serve`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from datetime import datetime

from app.accounts import jobs as account_jobs
from app.accounts import personal
from app.approvals import notices as approval_notices
from app.conversation import notices as conversation_notices
from app.core.periodic import PeriodicJob, run_periodic
from app.devices import jobs as device_jobs
from app.devices import notices as device_notices
from app.escalation import notices as escalation_notices
from app.hotline import notices as hotline_notices
from app.integrations import jobs as integration_jobs
from app.media import jobs as media_jobs
from app.notifications import delivery, outbox
from app.notifications import jobs as notification_jobs
from app.notifications import personal as notification_personal
from app.notifications.delivery import DeliveryConfig
from app.notifications.outbox import NoticeKind
from app.open311 import jobs as open311_jobs
from app.polls import jobs as poll_jobs
from app.polls import notices as poll_notices
from app.polls import personal as poll_personal
from app.ratings import jobs as rating_jobs
from app.ratings import notices as rating_notices
from app.ratings import personal as rating_personal
from app.stats import jobs as stats_jobs
from app.supervision import jobs as supervision_jobs
from app.supervision import notices as supervision_notices
from app.tickets import jobs as ticket_jobs
from app.tickets import notices as ticket_notices
from app.tickets import personal as ticket_personal

__all__ = ["KINDS", "PERIODIC", "PeriodicJob", "drain", "install", "run_jobs", "run_periodic",
           "serve"]

log = logging.getLogger("gongzhi.jobs")
BATCH = 20
IDLE_S = 1.0  # pause when the outbox is drained

# Every notice kind, by domain.
KINDS: tuple[NoticeKind, ...] = (*ticket_notices.KINDS, *rating_notices.KINDS,
                                 *poll_notices.KINDS, *supervision_notices.KINDS,
                                 *device_notices.KINDS,
                                 *approval_notices.KINDS, *conversation_notices.KINDS,
                                 *escalation_notices.KINDS, *hotline_notices.KINDS)

# Every periodic job: add one to a domain's `JOBS` and every job process runs it, one instance
# at a time. Each round is bounded (a batch limit over indexed columns), so it stays short
# whatever the table sizes; the jobs that write notices write each at most once
# (`enqueue(once=True)` on a dedupe key).
PERIODIC: tuple[PeriodicJob, ...] = (*ticket_jobs.JOBS, *rating_jobs.JOBS, *poll_jobs.JOBS,
                                     *stats_jobs.JOBS, *account_jobs.JOBS, *supervision_jobs.JOBS,
                                     *notification_jobs.JOBS, *integration_jobs.JOBS,
                                     *media_jobs.JOBS, *open311_jobs.JOBS, *device_jobs.JOBS)

_installed = False


def install() -> None:
    """Wire the domains together (once per process): notice kinds, broadcast audiences, what
    notifications may read of tickets, and `app.wiring` (the ticket door's listeners) if present.
    """
    global _installed
    if _installed:
        return
    outbox.register(*KINDS)
    for kind, audience in poll_jobs.BROADCASTS:
        outbox.register_broadcast(kind, audience)
    outbox.register_tickets(ticket_notices.LOOKUP)
    # What each domain holds about a person, for the export and 注销 (accounts/personal.py).
    personal.register(*ticket_personal.HOLDERS, *rating_personal.HOLDERS,
                      *poll_personal.HOLDERS, *notification_personal.HOLDERS)
    if importlib.util.find_spec("app.wiring") is not None:
        importlib.import_module("app.wiring").wire()
    _installed = True


# --- the loop ---------------------------------------------------------------------------------


async def deliver_batch(*, worker_id: str, limit: int = BATCH, now: datetime | None = None,
                        config: DeliveryConfig | None = None) -> int:
    """Claim and deliver one batch of due outbox rows; returns how many were claimed."""
    return await delivery.deliver_batch(worker_id=worker_id, limit=limit, now=now,
                                        config=config)


async def run_jobs(*, stop: asyncio.Event, worker_id: str, config: DeliveryConfig | None = None,
                   periodic: Sequence[PeriodicJob] = PERIODIC, batch: int = BATCH,
                   idle_s: float = IDLE_S) -> None:
    """Until `stop` is set: deliver the outbox batch after batch, run periodic jobs when due.

    A failed round (database away, a bug) is logged and retried; nothing here ends the loop
    but `stop`.
    """
    install()
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
    install()
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

    install()
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
    parser = argparse.ArgumentParser(prog="python -m app.jobs", description="Gongzhi job process")
    add_arguments(parser)
    return cmd_jobs(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
