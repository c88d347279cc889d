"""Periodic 督办 work (`JOBS`): an automatic 督办 on every ticket past its deadline, once.

A round reads the next `limit` overdue tickets on the clock in id order from where the last
round stopped (a `JobCursor` shared by every job process) and wraps at the end. Each ticket
gets one automatic 督办 per deadline: `Supervision.auto_key` is unique, so two job processes
racing for the same ticket write one.
"""

from __future__ import annotations

from app.core.periodic import PeriodicJob
from app.notifications.service import cursor_position, save_cursor
from app.supervision import service
from app.tickets.models import Ticket
from app.tickets.workflow import ON_THE_CLOCK

CURSOR = "supervision.overdue"
BATCH = 200


async def supervise_overdue(*, limit: int = BATCH) -> int:
    """One round; returns how many 督办 it raised."""
    after = await cursor_position(CURSOR) or 0
    batch = await (Ticket.filter(is_overdue=True, status__in=sorted(ON_THE_CLOCK), id__gt=after)
                   .order_by("id").limit(limit).only("id", "deadline_at"))
    raised = await service.raise_overdue(batch)
    await save_cursor(CURSOR, batch[-1].id if len(batch) == limit else 0)
    return raised


async def _supervise_overdue() -> int:
    return await supervise_overdue()


JOBS: tuple[PeriodicJob, ...] = (PeriodicJob("supervision.overdue", 60.0, _supervise_overdue),)
