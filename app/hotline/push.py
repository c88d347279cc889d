"""Status changes of a 12345 order's ticket, sent back to the platform through the outbox.

The door tells `on_ticket_change` of every change (in its transaction); a status change of a
pushed order writes one outbox row. `send` delivers it: a signed POST of JSON to the
integration's `endpoint_url` (app/integrations/outbound.py) with the request id
`gongzhi-outbox-<row id>` on every attempt. Failures are retried with backoff and parked after
the outbox's attempts, where admins see them (GET /api/v1/admin/outbox).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.hotline.models import HotlineCase, HotlineForward
from app.hotline.notices import STATUS_PUSH
from app.integrations.outbound import post_signed
from app.notifications.models import Outbox
from app.notifications.outbox import enqueue, notice
from app.tickets.models import Ticket, TicketSource
from app.tickets.workflow import Status

__all__ = ["STATUS_PUSH", "on_ticket_change", "send"]


async def on_ticket_change(before: Ticket | None, after: Ticket) -> None:
    """Queue a push when a pushed order's ticket changes status (a door listener)."""
    if after.source != TicketSource.HOTLINE or before is None or before.status == after.status:
        return
    case = await HotlineCase.filter(ticket_id=after.id, integration_id__isnull=False).first()
    if case is None:
        return  # filed by a dispatcher: nobody outside to tell
    payload: dict[str, Any] = {"integration_id": case.integration_id, "order_number": case.order_number,
               "number": after.number, "from_status": before.status, "status": after.status,
               "version": after.version, "changed_at": datetime.now(UTC).isoformat()}
    if after.status == Status.FORWARDED:
        # 热线推送: 12345 hears where the case went (written in this transaction, before us).
        row = await HotlineForward.get_or_none(ticket_id=after.id)
        if row is not None:
            payload["forward"] = {"body_name": row.body_name, "body_contact": row.body_contact,
                                  "external_number": row.external_number,
                                  "reason": row.reason}
    await enqueue([notice(STATUS_PUSH, recipient_id=None, ticket_id=after.id, payload=payload)])


async def send(row: Outbox) -> None:
    """Deliver one status change to the platform (raises DeliveryFailed to be retried)."""
    payload = row.payload or {}
    await post_signed(integration_id=payload.get("integration_id"), payload={
        "order_number": payload.get("order_number"), "ticket_number": payload.get("number"),
        "status": payload.get("status"), "from_status": payload.get("from_status"),
        "version": payload.get("version"), "changed_at": payload.get("changed_at"),
        **({"forward": payload["forward"]} if payload.get("forward") else {}),
    }, request_id=f"gongzhi-outbox-{row.id}")
