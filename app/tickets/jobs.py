"""Periodic ticket work: flag overdue tickets so lists turn red and reminders can go out."""

from __future__ import annotations

import asyncio
import logging

from app.tickets import service

log = logging.getLogger("gongzhi.jobs")
OVERDUE_INTERVAL_S = 60.0


async def overdue_loop(*, interval: float = OVERDUE_INTERVAL_S) -> None:
    """Run `mark_overdue` forever; a failed round is logged and retried next round."""
    while True:
        try:
            marked = await service.mark_overdue()
            if marked:
                log.info("marked %d tickets overdue", marked)
        except Exception:  # a database hiccup must not kill the loop
            log.exception("overdue job failed; retrying in %ss", interval)
        await asyncio.sleep(interval)
