"""Periodic statistics work: fold the change deltas into the daily rollups."""

from __future__ import annotations

from app.stats import service

FOLD_INTERVAL_S = 30.0


async def fold() -> int:
    """One round of `stats.fold`: how many delta rows were folded."""
    return await service.compact()
