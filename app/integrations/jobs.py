"""Periodic work of the integrations domain."""

from __future__ import annotations

from app.core.periodic import PeriodicJob
from app.integrations import feed, service

JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("integrations.purge_request_ids", 600, service.purge_request_ids),
    # The feed pushed to feed integrations with an endpoint (docs/integrations.md).
    PeriodicJob("integrations.push_feed", 5, feed.push_round),
)
