"""Periodic ticket work (`JOBS`): overdue marking, and deadline reminders (催办) to whoever
must act before the time runs out.

Overdue marking stays in `actions.mark_overdue` (it writes tickets); the reminders only read
them and write outbox rows, each at most once (`Outbox.dedupe_key`).

A round looks at the next `limit` tickets of each worked status, in id order, from where the
previous round stopped (a `JobCursor` shared by all job processes), and wraps around at the
end. Each query is a range on the `status` index that stops after `limit` rows, so a round
costs the same at a million tickets as at a thousand; a ticket is looked at again once per
sweep (open tickets / `limit` rounds), and reminded within a sweep of turning yellow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app.catalog import service as catalog
from app.core.periodic import PeriodicJob
from app.notifications.models import Outbox
from app.notifications.outbox import enqueue, notice
from app.notifications.service import cursor_position, save_cursor
from app.tickets import actions, deadlines, notices
from app.tickets.models import Ticket
from app.tickets.workflow import WORKED_STATUSES
from app.units import service as units

# The reminders go to whoever holds the ticket (returned / reopened tickets wait for a
# dispatcher; the overdue list covers those). Sorted: each round sweeps in the same order.
REMINDED_STATUSES = tuple(sorted(WORKED_STATUSES))
DEADLINE_BATCH = 1000
KIND = notices.DEADLINE_NEAR.name
_COLUMNS = ("id", "number", "status", "urgency", "category_id", "unit_id", "assignee_id",
            "deadline_at", "dispatched_at", "is_overdue")


def reminder_key(ticket_id: int, deadline_at: datetime, user_id: int) -> str:
    """One reminder per person and deadline: an approved extension moves the deadline and so
    earns a new one."""
    return f"deadline:{ticket_id}:{int(deadline_at.timestamp())}:{user_id}"


async def remind_deadlines(*, now: datetime | None = None, limit: int = DEADLINE_BATCH) -> int:
    """One round of the periodic job; returns how many reminders it wrote."""
    now = now or datetime.now(UTC)
    written = 0
    for status in REMINDED_STATUSES:
        name = f"tickets.deadline_near:{status}"
        after = await cursor_position(name) or 0
        batch = await (Ticket.filter(status=status, id__gt=after).order_by("id").limit(limit)
                       .only(*_COLUMNS))
        written += await _remind(await _yellow(batch, now))
        # A short batch is the end of the sweep: start again from the first ticket.
        await save_cursor(name, batch[-1].id if len(batch) == limit else 0)
    return written


async def _yellow(batch: Sequence[Ticket], now: datetime) -> list[Ticket]:
    """The tickets past 80 % of their time and not yet overdue (the list's yellow)."""
    live = [t for t in batch if t.deadline_at is not None and t.dispatched_at is not None
            and not t.is_overdue and t.deadline_at > now]
    if not live:
        return []
    categories = await catalog.categories_by_id()
    overrides = await deadlines.calendar_overrides()
    return [t for t in live if t.category_id in categories
            and deadlines.deadline_colour(t, categories[t.category_id], now, overrides)
            == "yellow"]


async def _remind(due: Sequence[Ticket]) -> int:
    """One row per person who must act: the claimant, else each handler of the unit."""
    if not due:
        return 0
    unclaimed = {t.unit_id for t in due if t.assignee_id is None and t.unit_id is not None}
    # The same active handlers that hear of a task assigned to the unit (a snapshot).
    members = {unit_id: await units.handlers_of(unit_id) for unit_id in unclaimed}
    available_at = datetime.now(UTC)
    rows: list[Outbox] = []
    for t in due:
        assert t.deadline_at is not None
        people = [t.assignee_id] if t.assignee_id is not None else members.get(t.unit_id or 0, ())
        payload = {"number": t.number, "status": t.status,
                   "deadline_at": t.deadline_at.isoformat()}
        rows += [notice(notices.DEADLINE_NEAR, recipient_id=uid, ticket_id=t.id,
                        payload=payload, available_at=available_at,
                        dedupe_key=reminder_key(t.id, t.deadline_at, uid))
                 for uid in dict.fromkeys(people)]
    return await enqueue(rows, once=True)


async def _mark_overdue() -> int:
    return await actions.mark_overdue()


async def _remind_deadlines() -> int:
    return await remind_deadlines()


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("tickets.mark_overdue", 60.0, _mark_overdue),
    # Yellow (80 % of the time used) comes 48 min before a 4-working-hour deadline at the
    # shortest: a minute's lag is nothing against that.
    PeriodicJob("tickets.remind_deadlines", 60.0, _remind_deadlines),
)
