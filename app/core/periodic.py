"""A periodic job, as every domain declares its own (`JOBS` in `app/<domain>/jobs.py`).

The job process (`app/jobs.py`) collects them and runs each at most once per interval
across all processes (`run_periodic`, a named lock, Redis when configured). Here, in core,
so that a domain can declare jobs without importing the composition root that imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.core import locks

log = logging.getLogger("gongzhi.jobs")


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # "<domain>.<job>": the lock's name, unique across the app
    interval_s: float
    # One bounded round (a batch limit over indexed columns), whatever the table sizes.
    run: Callable[[], Awaitable[Any]]


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
