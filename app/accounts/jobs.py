"""Periodic accounts work: retention of login sessions (docs/operations.md, "Personal data").

A refresh token past its expiry is useless but still records when and how long someone was
signed in; it is kept `SESSION_RETENTION_DAYS` after it expired (to explain a reuse alarm or a
support question), then deleted. Bounded: `BATCH` rows a round, oldest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.accounts.models import RefreshToken
from app.core.periodic import PeriodicJob
from app.core.retention import delete_oldest

SESSION_RETENTION_DAYS = 30
RETENTION_INTERVAL_S = 3600.0
BATCH = 1000


async def prune(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One round of `accounts.retention`: how many expired refresh tokens it deleted."""
    now = now or datetime.now(UTC)
    expired = RefreshToken.filter(expires_at__lt=now - timedelta(days=SESSION_RETENTION_DAYS))
    return await delete_oldest(expired, batch=batch)


async def retention() -> int:
    return await prune()


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("accounts.retention", RETENTION_INTERVAL_S, retention),
)
