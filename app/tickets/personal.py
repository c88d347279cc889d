"""What tickets hold about a person, for the export and 注销 (app/accounts/personal.py)."""

from __future__ import annotations

from typing import Any

from app.accounts.personal import Holder
from app.tickets.models import IdempotencyRecord, Ticket, TicketFollower


async def _reports(user_id: int) -> list[dict[str, Any]]:
    rows = await Ticket.filter(reporter_id=user_id).order_by("id").values(
        "id", "number", "source", "description", "address", "lng", "lat", "status",
        "is_public", "created_at", "closed_at")
    return [dict(r) for r in rows]


async def _follows(user_id: int) -> list[dict[str, Any]]:
    rows = await TicketFollower.filter(user_id=user_id).order_by("id").values(
        "ticket_id", "created_at")
    return [dict(r) for r in rows]


async def _erase(user_id: int) -> None:
    # Reports and follows stay for the record (the follow count is public), pointing at the
    # tombstone; the replay cache of the person's requests served only them.
    await IdempotencyRecord.filter(user_id=user_id).delete()


HOLDERS = (
    Holder("reports", _reports, _erase,
           retention="上报的问题作为城市管理记录长期保存；注销后不再关联到您"),
    Holder("follows", _follows, retention="随所关注的问题保存；注销后不再关联到您"),
)
