"""Connections between domains that must not import each other, made once per process.

The ticket door tells listeners of every change it writes; the statistics are one of them.
`app.tickets` therefore never imports `app.stats` (which reads tickets), and this module,
beside `main.py`, is the one place that knows both. `create_app` and the job process call
`wire()` (through `app.jobs.install`); calling it again changes nothing.
"""

from __future__ import annotations

from app.stats import service as stats
from app.tickets import door


def wire() -> None:
    """Register the door's change listeners (idempotent)."""
    # Daily statistics deltas, written in the transaction of the change.
    door.on_change(stats.record)
