"""Notifications as people and admins see them: my in-app messages, my WeChat consents, the
admins' view of the outbox; and where a sweeping periodic job left off (`JobCursor`).

Delivery is `delivery.py`; writing rows is `outbox.py` (`notice` + `enqueue`, never built by
hand). This module imports no domain but accounts: which outbox rows an area admin may see
comes from the ticket domain through `outbox.tickets()`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.paging import BY_NEWEST, keyset_page
from app.notifications import outbox
from app.notifications.models import (
    JobCursor,
    Message,
    Outbox,
    OutboxStatus,
    SubscriptionQuota,
)
from app.notifications.schemas import (
    MessageOut,
    MessagePage,
    OutboxOut,
    OutboxPage,
    QuotaList,
    QuotaOut,
    ReadAllOut,
)

log = logging.getLogger("gongzhi.notifications")

# Distinct templates a user may hold consents for (template ids are user input).
MAX_TEMPLATES_PER_USER = 50


# --- periodic jobs: where a sweep left off ----------------------------------------------------


async def cursor_position(name: str) -> int | None:
    """The position a sweeping job saved under `name` (None: it never ran)."""
    cursor = await JobCursor.filter(name=name).first().only("id", "position")
    return None if cursor is None else cursor.position


async def save_cursor(name: str, position: int) -> None:
    if await JobCursor.filter(name=name).update(position=position,
                                                updated_at=datetime.now(UTC)):
        return
    try:
        await JobCursor.create(name=name, position=position)
    except IntegrityError:  # another process saved it first: ours is as good
        await JobCursor.filter(name=name).update(position=position)


# --- messages ---------------------------------------------------------------------------------


def message_out(message: Message) -> MessageOut:
    return MessageOut(id=message.id, kind=message.kind, title=message.title, body=message.body,
                      ticket_id=message.ticket_id, read=message.read_at is not None,
                      read_at=message.read_at, created_at=message.created_at)


async def list_messages(*, user: User, limit: int, cursor: str | None) -> MessagePage:
    """My messages, newest first (`BY_NEWEST`: id descending; `next` is the last id)."""
    rows, after = await keyset_page(Message.filter(recipient_id=user.id), ordering=BY_NEWEST,
                                    limit=limit, cursor=cursor)
    return MessagePage(items=[message_out(m) for m in rows], next=after)


async def unread_count(*, user: User) -> int:
    return await Message.filter(recipient_id=user.id, read_at__isnull=True).count()


async def mark_read(*, user: User, message_id: int) -> MessageOut:
    """Mark one of my messages read (again: no change, the first read time stays)."""
    now = datetime.now(UTC)
    await Message.filter(id=message_id, recipient_id=user.id, read_at__isnull=True).update(
        read_at=now)
    message = await Message.get_or_none(id=message_id, recipient_id=user.id)
    if message is None:
        raise NotFound("找不到该消息", code="message_not_found")
    return message_out(message)


async def mark_all_read(*, user: User) -> ReadAllOut:
    marked = await Message.filter(recipient_id=user.id, read_at__isnull=True).update(
        read_at=datetime.now(UTC))
    return ReadAllOut(marked=marked, unread=await unread_count(user=user))


# --- WeChat consents --------------------------------------------------------------------------


async def record_consent(*, user: User, template_ids: list[str], accepted: list[str]) -> QuotaList:
    """One tap of wx.requestSubscribeMessage: +1 send for every accepted template."""
    now = datetime.now(UTC)
    for template_id in dict.fromkeys(accepted):  # each template at most once per tap
        quota = SubscriptionQuota.filter(user_id=user.id, template_id=template_id)
        bump = {"remaining": F("remaining") + 1, "accepted_total": F("accepted_total") + 1,
                "updated_at": now}
        if await quota.update(**bump):
            continue
        if await SubscriptionQuota.filter(user_id=user.id).count() >= MAX_TEMPLATES_PER_USER:
            raise Invalid("订阅的消息模板过多", code="too_many_templates")
        try:
            await SubscriptionQuota.create(user_id=user.id, template_id=template_id, remaining=1,
                                           accepted_total=1)
        except IntegrityError:  # a simultaneous tap created the row first
            await quota.update(**bump)
    return await quotas(user=user, template_ids=list(dict.fromkeys(template_ids)))


async def quotas(*, user: User, template_ids: list[str] | None = None) -> QuotaList:
    """Sends left per template (templates never accepted: 0)."""
    qs = SubscriptionQuota.filter(user_id=user.id)
    if template_ids is not None:
        qs = qs.filter(template_id__in=template_ids)
    found = {q.template_id: q.remaining for q in await qs.order_by("template_id")}
    ids = template_ids if template_ids is not None else list(found)
    return QuotaList(items=[QuotaOut(template_id=t, remaining=found.get(t, 0)) for t in ids])


# --- the admins' view of the outbox ----------------------------------------------------------


def _admin_rows(user: User) -> Any:
    """The outbox rows this admin may see: all for a city-wide admin, else their areas' tickets."""
    scope = scope_of(user)
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员可以查看消息投递队列", code="admin_only")
    paths = scope.paths(Role.ADMIN)
    if "/" in paths:
        return Outbox.all()
    lookup = outbox.tickets()
    if lookup is None:  # no ticket domain wired in: an area admin's rows cannot be told apart
        return Outbox.filter(id__in=[])
    return Outbox.filter(ticket_id__in=lookup.ids_under(paths))


def outbox_out(row: Outbox) -> OutboxOut:
    return OutboxOut(
        id=row.id, kind=row.kind, recipient_id=row.recipient_id, ticket_id=row.ticket_id,
        payload=row.payload or {}, status=row.status, attempts=row.attempts,
        available_at=row.available_at, last_error=row.last_error, push_state=row.push_state,
        locked_by=row.locked_by, locked_until=row.locked_until, created_at=row.created_at,
        sent_at=row.sent_at)


async def list_outbox(*, user: User, status: OutboxStatus | None, limit: int,
                      cursor: str | None) -> OutboxPage:
    qs = _admin_rows(user)
    if status is not None:
        qs = qs.filter(status=status)
    # `BY_NEWEST` (id descending): the rows last written first.
    rows, after = await keyset_page(qs, ordering=BY_NEWEST, limit=limit, cursor=cursor)
    return OutboxPage(items=[outbox_out(r) for r in rows], next=after)


async def retry(*, user: User, outbox_id: int) -> OutboxOut:
    """Re-queue a parked row now, with a fresh set of attempts."""
    row = await _admin_rows(user).filter(id=outbox_id).first()
    if row is None:
        raise NotFound("找不到该投递记录", code="outbox_not_found")
    requeued = await Outbox.filter(id=outbox_id, status=OutboxStatus.PARKED).update(
        status=OutboxStatus.PENDING, attempts=0, available_at=datetime.now(UTC), locked_by="",
        locked_until=None)
    if not requeued:
        raise Conflict("只有已搁置的投递记录可以重新投递", code="not_parked",
                       details={"status": row.status})
    log.info("outbox %s re-queued by user %s", outbox_id, user.id)
    return outbox_out(await Outbox.get(id=outbox_id))
