"""Periodic notifications work: retention (docs/operations.md, "Personal data").

Each round deletes at most `BATCH` rows per table, oldest first by primary key, so a backlog
drains over several rounds and no round holds long locks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from app.core.periodic import PeriodicJob
from app.core.retention import delete_oldest
from app.notifications.models import Message, Outbox, OutboxStatus

# In-app messages are kept this long, read or not: long enough for a case's whole life and its
# rating window, not a lifetime's history of someone's reports.
MESSAGE_RETENTION_DAYS = 180
# Delivered (and given-up) outbox rows: longer than any keyed reminder can come due again
# (docs/notifications.md, "Pruning"), after which a deleted key can no longer cause a repeat.
OUTBOX_RETENTION_DAYS = 90
RETENTION_INTERVAL_S = 3600.0
BATCH = 1000


async def prune(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One round of `notifications.retention`: how many messages and outbox rows it deleted."""
    now = now or datetime.now(UTC)
    old_messages = Message.filter(created_at__lt=now - timedelta(days=MESSAGE_RETENTION_DAYS))
    outbox_cutoff = now - timedelta(days=OUTBOX_RETENTION_DAYS)
    old_rows = Outbox.filter(Q(status=OutboxStatus.SENT, sent_at__lt=outbox_cutoff)
                             | Q(status=OutboxStatus.PARKED, created_at__lt=outbox_cutoff))
    return (await delete_oldest(old_messages, batch=batch)
            + await delete_oldest(old_rows, batch=batch))


async def retention() -> int:
    return await prune()


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("notifications.retention", RETENTION_INTERVAL_S, retention),
)
