"""What notifications hold about a person, for the export and 注销 (app/accounts/personal.py)."""

from __future__ import annotations

from typing import Any

from app.accounts.personal import Holder
from app.notifications.jobs import MESSAGE_RETENTION_DAYS
from app.notifications.models import Message, Outbox, OutboxStatus, SubscriptionQuota


async def _messages(user_id: int) -> list[dict[str, Any]]:
    rows = await Message.filter(recipient_id=user_id).order_by("id").values(
        "kind", "title", "body", "ticket_id", "read_at", "created_at")
    return [dict(r) for r in rows]


async def _erase(user_id: int) -> None:
    # Messages and consents served only the person; notices not yet delivered have no one to
    # reach. Sent outbox rows stay until the retention job prunes them (their dedupe keys).
    await Message.filter(recipient_id=user_id).delete()
    await SubscriptionQuota.filter(user_id=user_id).delete()
    await Outbox.filter(recipient_id=user_id).exclude(status=OutboxStatus.SENT).delete()


HOLDERS = (Holder("messages", _messages, _erase,
                  retention=f"站内消息保留 {MESSAGE_RETENTION_DAYS} 天；注销时立即删除"),)
