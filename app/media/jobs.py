"""Periodic media work: photos held for WeChat's content check that it never took (the call
failed) or never answered (no push within MEDIA_CHECK_RESEND_S) are sent again."""

from __future__ import annotations

from app.core.periodic import PeriodicJob
from app.media import moderation

RESEND_INTERVAL_S = 60.0


async def resend_checks() -> int:
    return await moderation.resend_unanswered()


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("media.resend_checks", RESEND_INTERVAL_S, resend_checks),
)
