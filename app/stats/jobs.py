"""Periodic statistics work: fold the change deltas into the daily and monthly rollups."""

from __future__ import annotations

from app.core.periodic import PeriodicJob
from app.stats import service

FOLD_INTERVAL_S = 30.0


async def fold() -> int:
    """One round of `stats.fold`: how many delta rows were folded."""
    return await service.compact()


JOBS: tuple[PeriodicJob, ...] = (
    # Summaries read unfolded deltas too, so folding only keeps that part small.
    PeriodicJob("stats.fold", FOLD_INTERVAL_S, fold),
)
