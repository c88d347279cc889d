"""Periodic rating work: "please rate" (请评价) reminders, once per ticket and person.

Closed tickets have no index on `closed_at`, but every close writes a `TicketEvent`, and event
ids grow with time. So the job reads the timeline in id order (primary key, `limit` rows a
round) from where it stopped (a `JobCursor`), stopping at the first event that is not yet
`rating_remind_after_hours` old. For each close it finds, it asks who may still rate: the
reporter (a WeChat user, as `service.rate` requires) and the followers `service.rate` would
let rate (followed before the close, live or reported nearby), while the ticket is
still closed and inside `rating_window_days`, minus those who have rated.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts.models import User
from app.areas.models import Area
from app.core.periodic import PeriodicJob
from app.notifications.outbox import enqueue, notice
from app.notifications.service import cursor_position, save_cursor
from app.ratings import notices
from app.ratings.models import Rating
from app.settings import current
from app.tickets.models import Ticket, TicketEvent, TicketFollower
from app.tickets.workflow import Status

CURSOR = "ratings.remind"
CLOSING_ACTIONS = frozenset({"close", "verify_pass", "self_dispose"})
EVENT_BATCH = 2000
KIND = notices.REMIND.name


def reminder_key(ticket_id: int, user_id: int) -> str:
    return f"rate:{ticket_id}:{user_id}"


async def remind_to_rate(*, now: datetime | None = None, limit: int = EVENT_BATCH) -> int:
    """One round of the periodic job; returns how many reminders it wrote."""
    settings = current()
    now = now or datetime.now(UTC)
    due_by = now - timedelta(hours=settings.rating_remind_after_hours)
    window_from = now - timedelta(days=settings.rating_window_days)
    after = await cursor_position(CURSOR)
    if after is None:
        after = await _first_position(window_from)
    events = await (TicketEvent.filter(id__gt=after).order_by("id").limit(limit)
                    .values("id", "ticket_id", "action", "created_at"))
    closed: set[int] = set()
    for event in events:
        if event["created_at"] > due_by:
            break  # this one and everything after it is not due yet
        if event["action"] in CLOSING_ACTIONS:
            closed.add(event["ticket_id"])
        after = event["id"]
    written = await _remind(closed, due_by=due_by, window_from=window_from) if closed else 0
    await save_cursor(CURSOR, after)
    return written


async def _first_position(window_from: datetime) -> int:
    """Where the very first round starts: just before the first event inside the window.

    Run once per deployment (created_at has no index on the timeline: one scan).
    """
    first = await (TicketEvent.filter(created_at__gte=window_from).order_by("id").first()
                   .only("id"))
    if first is not None:
        return first.id - 1
    last = await TicketEvent.all().order_by("-id").first().only("id")
    return last.id if last is not None else 0


async def _remind(ticket_ids: Collection[int], *, due_by: datetime,
                  window_from: datetime) -> int:
    # Read now, not from the event: a ticket reopened since (重办) is not asked; closed again
    # later, its new close event comes round in its turn.
    rows = await (Ticket.filter(id__in=list(ticket_ids), status=Status.CLOSED,
                                closed_at__lte=due_by, closed_at__gt=window_from)
                  .values("id", "number", "reporter_id", "area_path", "cell_id", "closed_at"))
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    reporters = {r["reporter_id"] for r in rows if r["reporter_id"] is not None}
    residents = set(await User.filter(id__in=list(reporters), openid__not_isnull=True)
                    .values_list("id", flat=True)) if reporters else set()
    may_rate: dict[int, set[int]] = {r["id"]: ({r["reporter_id"]} & residents) for r in rows}
    for tid, uid in await _followers_who_may_rate(rows):
        may_rate[tid].add(uid)
    for tid, uid in await Rating.filter(ticket_id__in=ids).values_list("ticket_id", "user_id"):
        may_rate[tid].discard(uid)
    available_at = datetime.now(UTC)
    return await enqueue([
        notice(notices.REMIND, recipient_id=uid, ticket_id=r["id"],
               payload={"number": r["number"], "status": Status.CLOSED.value},
               available_at=available_at, dedupe_key=reminder_key(r["id"], uid))
        for r in rows for uid in sorted(may_rate[r["id"]])], once=True)


async def _followers_who_may_rate(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(ticket id, user id) of the followers `service.rate` would let rate, in a fixed number of
    queries: a resident (openid) who followed before the close and lives in the area the
    ticket lies in, or reported in its cell. Anyone else would only be told "you may not".
    """
    tickets = {r["id"]: r for r in rows}
    follows = [f for f in await TicketFollower.filter(ticket_id__in=list(tickets)).values(
        "ticket_id", "user_id", "created_at")
        if tickets[f["ticket_id"]]["area_path"]
        and f["created_at"] <= tickets[f["ticket_id"]]["closed_at"]]
    if not follows:
        return []
    user_ids = list({f["user_id"] for f in follows})
    homes = dict(await User.filter(id__in=user_ids, openid__not_isnull=True, is_active=True)
                 .values_list("id", "home_area_id"))
    paths = dict(await Area.filter(id__in=[h for h in homes.values() if h]).values_list(
        "id", "path"))
    cells = {r["cell_id"] for r in rows if r["cell_id"]}
    reported = set(await Ticket.filter(reporter_id__in=list(homes), cell_id__in=list(cells))
                   .values_list("reporter_id", "cell_id")) if cells and homes else set()
    allowed = []
    for f in follows:
        uid, ticket = f["user_id"], tickets[f["ticket_id"]]
        if uid not in homes:
            continue  # staff, deactivated or deleted: never rates
        home = paths.get(homes[uid]) if homes[uid] else None
        if (home and ticket["area_path"].startswith(home)) or (uid, ticket["cell_id"]) in reported:
            allowed.append((ticket["id"], uid))
    return allowed


async def _remind_to_rate() -> int:
    return await remind_to_rate()


JOBS: tuple[PeriodicJob, ...] = (
    # Due 24 h after closing: a few minutes late is fine, so it runs less often.
    PeriodicJob("ratings.remind_to_rate", 300.0, _remind_to_rate),
)
