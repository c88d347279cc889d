"""Poll notices: who a `poll.opened` / `poll.closed` broadcast reaches (`BROADCASTS`, which
the composition root registers with notifications), and the periodic job (`JOBS`) that queues
`poll.closed` once a poll has closed.

Both notices are broadcast outbox rows (no recipient). Delivering one (notifications
`_fan_out`) writes a copy per recipient keyed `poll.opened:{poll}:{user}` /
`poll.closed:{poll}:{user}`, batch by batch in user-id order, so a fan-out that dies half-way
and starts again reaches everyone once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.core.paths import under
from app.core.periodic import PeriodicJob
from app.notifications.models import Outbox
from app.notifications.outbox import Broadcast, NoticeKind, enqueue, notice
from app.polls import notices
from app.polls.models import Poll, PollBallot, ResultsVisibility
from app.polls.rules import status_of

ANNOUNCE_BATCH = 50  # closed polls queued per round (each is one row; its fan-out is separate)


def _key(row: Outbox, user_id: int) -> str:
    return f"{row.kind}:{(row.payload or {}).get('poll_id')}:{user_id}"


async def _residents(row: Outbox, after: int, limit: int) -> list[int]:
    """WeChat users living inside the poll's area (home area under its path), by id.

    A poll closed before its opening notice went out reaches nobody.
    """
    poll = await Poll.get_or_none(id=(row.payload or {}).get("poll_id"))
    if poll is None or status_of(poll, datetime.now(UTC)) == "closed":
        return []
    return [r["id"] for r in await (
        User.filter(under("home_area__path", poll.area_path), openid__not_isnull=True,
                    is_active=True, id__gt=after)
        .order_by("id").limit(limit).values("id"))]


async def _voters(row: Outbox, after: int, limit: int) -> list[int]:
    """Who voted (ballots name voters in anonymous polls too; answers stay unlinked)."""
    poll_id = (row.payload or {}).get("poll_id")
    return [r["user_id"] for r in await (PollBallot.filter(poll_id=poll_id, user_id__gt=after)
                                         .order_by("user_id").limit(limit).values("user_id"))]


BROADCASTS: tuple[tuple[NoticeKind, Broadcast], ...] = (
    (notices.OPENED, Broadcast(recipients=_residents, key=_key)),
    (notices.CLOSED, Broadcast(recipients=_voters, key=_key)),
)


def notice_due(poll: Poll) -> bool:
    """Voters hear that a poll closed when they may then see its results (after_close, or
    after_vote: both show results to voters once closed); never for staff-only results."""
    return poll.results_visibility != ResultsVisibility.STAFF_ONLY


async def announce_closed(*, now: datetime | None = None, limit: int = ANNOUNCE_BATCH) -> int:
    """One round of the periodic job: queue one `poll.closed` broadcast per newly closed poll.

    The poll's `closing_announced_at` and the broadcast row are written in one transaction,
    the row only by the instance whose conditional update marked the poll (its key,
    `poll.closed:{poll}`, is the backstop). Returns how many polls this instance announced.
    """
    now = now or datetime.now(UTC)
    polls = await (Poll.filter(closing_announced_at__isnull=True, closes_at__lte=now,
                               is_draft=False)
                   .order_by("closes_at", "id").limit(limit))
    announced = 0
    for poll in polls:
        async with in_transaction("default"):
            marked = await Poll.filter(id=poll.id, closing_announced_at__isnull=True).update(
                closing_announced_at=now)
            if marked and notice_due(poll):
                await enqueue([notice(
                    notices.CLOSED, recipient_id=None, dedupe_key=f"poll.closed:{poll.id}",
                    payload={"poll_id": poll.id, "title": poll.title,
                             "closes_at": poll.closes_at.isoformat()})], once=True)
                announced += 1
    return announced


async def _announce_closed() -> int:
    return await announce_closed()


# Poll opening notices need no job: the `poll.opened` row waits for `opens_at` in the outbox.
JOBS: tuple[PeriodicJob, ...] = (PeriodicJob("polls.announce_closed", 60.0, _announce_closed),)
