"""The transactional outbox: rows written with the change that causes them, delivered later."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"  # gave up after repeated failures; visible to admins


class Outbox(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=48)  # e.g. "ticket.dispatched"
    recipient: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.CASCADE)
    ticket_id = fields.IntField(null=True)
    payload = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    last_error = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        indexes = (("status", "available_at"),)
