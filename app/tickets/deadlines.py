"""Ticket deadlines: the category's time limit, counted in working time from the dispatch.

The arithmetic is `app.core.workcalendar`'s (pure); this module picks the limit for a ticket
and hands the calculator the admins' calendar overrides.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from app.calendar import service as calendar
from app.catalog.models import Category
from app.core import workcalendar
from app.tickets import workflow
from app.tickets.models import Ticket, Urgency

log = logging.getLogger("gongzhi.tickets")


async def calendar_overrides() -> dict[date, bool]:
    """Admin holiday / adjusted-workday overrides by day (this process's snapshot)."""
    return await calendar.overrides()


async def compute_deadline(start: datetime, *, value: int, unit: str) -> datetime:
    """`value` `unit`s (work_hours, work_days, natural_hours, natural_days) after `start`."""
    result = workcalendar.deadline(start, limit_value=value, limit_unit=unit,  # type: ignore[arg-type]
                                   overrides=await calendar_overrides())
    if result.missing_years:
        # Visible to admins through GET /api/v1/calendar/status as well.
        log.warning("official holiday schedule missing for %s: weekdays used",
                    sorted(result.missing_years))
    return result.deadline_at


def limit_of(category: Category, urgency: str) -> tuple[int, str]:
    """The time limit a ticket of `category` and `urgency` gets: (value, unit)."""
    if urgency == Urgency.URGENT:
        return category.urgent_limit_value, category.urgent_limit_unit
    return category.limit_value, category.limit_unit


def deadline_colour(ticket: Ticket, category: Category, now: datetime,
                    overrides: dict | None = None) -> str | None:
    """green / yellow / red for an open dispatched ticket; None when no clock runs."""
    if ticket.deadline_at is None or ticket.dispatched_at is None:
        return None
    if ticket.status not in workflow.OPEN_STATUSES:
        return None
    _, unit = limit_of(category, ticket.urgency)
    # The same calendar (admin overrides included) that computed the deadline judges it.
    return workcalendar.deadline_colour(ticket.dispatched_at, deadline_at=ticket.deadline_at,
                                        now=now, limit_unit=unit,  # type: ignore[arg-type]
                                        overrides=overrides)
