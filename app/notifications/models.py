"""The transactional outbox and what it delivers: in-app messages and WeChat subscribe messages.

An `Outbox` row is written in the same transaction as the change that causes it, always
through `outbox.notice` + `outbox.enqueue` (never built by hand). The job process (`app.jobs`)
claims rows with a lease, writes the in-app `Message` (unique per outbox row, so a
redelivered row never shows twice) and, when the recipient has a WeChat consent left
(`SubscriptionQuota`), sends one subscribe message. A row without a recipient is a broadcast
(`poll.opened`, `poll.closed`): delivering it writes one row per recipient (each with a
`dedupe_key`), batch by batch, then finishes the parent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

# The claim query is forced onto this index (MySQL/MariaDB): read in index order, it stops after
# LIMIT rows, so SKIP LOCKED locks one batch, not every pending row (a filesort would).
CLAIM_INDEX = "outbox_claim"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"  # gave up after repeated failures; visible to admins


class PushState(StrEnum):
    """Where the WeChat half of a row stands (the in-app half is the `Message` row)."""

    UNDECIDED = "undecided"  # not looked at yet
    SKIPPED = "skipped"  # no template for this kind, no openid, or WeChat not configured
    NO_QUOTA = "no_quota"  # the recipient has no consent left for the template: in-app only
    RESERVED = "reserved"  # one consent taken for this row; the send is (still) to be made
    SENT = "sent"  # WeChat accepted it (msgid kept)
    REFUSED = "refused"  # 43101: the user refused or has no consent left at WeChat
    REJECTED = "rejected"  # 47003 / 40037 / 40003: bad parameters, template or openid


class Outbox(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=48)  # e.g. "ticket.dispatch"
    recipient: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.CASCADE)
    recipient_id: int | None
    ticket_id = fields.IntField(null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)  # claims so far (a claim that dies counts too)
    available_at = fields.DatetimeField()
    last_error = fields.CharField(max_length=255, default="")
    # The lease of the worker delivering it: no other worker claims the row before it expires.
    locked_by = fields.CharField(max_length=64, default="")
    locked_until = fields.DatetimeField(null=True)
    push_state = fields.CharEnumField(PushState, max_length=16, default=PushState.UNDECIDED)
    # "At most once" for rows a periodic job or a fan-out writes (e.g. `rate:{ticket}:{user}`):
    # inserted with conflicts ignored, so a job that runs twice, or two at once, writes one row.
    # NULL (every row written by a transaction) never conflicts.
    dedupe_key = fields.CharField(max_length=96, null=True, unique=True)
    wechat_msgid = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        # The claim query: status = pending AND available_at <= now ORDER BY available_at, id
        # (InnoDB secondary indexes end with the primary key, so this index serves the order).
        indexes = (Index(fields=("status", "available_at"), name=CLAIM_INDEX),)


class JobCursor(Model):
    """Where a sweeping periodic job left off (the last id it looked at), shared by processes."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    position = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "job_cursors"


class Message(Model):
    """One in-app message (站内消息) for one user, made from one outbox row."""

    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    recipient_id: int
    kind = fields.CharField(max_length=48)
    title = fields.CharField(max_length=64)
    body = fields.CharField(max_length=255)
    ticket_id = fields.IntField(null=True)
    # Not a foreign key: sent outbox rows may be pruned, their messages stay.
    outbox_id = fields.IntField(unique=True)
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "messages"
        indexes = (("recipient_id", "read_at"),)


class SubscriptionQuota(Model):
    """WeChat one-time subscriptions left for (user, template): +1 per acceptance, -1 per send.

    WeChat has no API to read the count, so we keep it: each tap on "允许" in
    wx.requestSubscribeMessage buys exactly one send of that template.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)
    accepted_total = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscription_quotas"
        unique_together = (("user", "template_id"),)
