"""督办 records: one per press on a ticket, open until the ticket closes."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class SupervisionLevel(StrEnum):
    NORMAL = "normal"  # 一般督办
    KEY = "key"  # 重点督办
    LISTED = "listed"  # 挂牌督办


class SupervisionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the ticket closed (or ended otherwise)


class Supervision(Model):
    """A 督办 on a ticket: who raised it (none: the overdue job), level, note, its own deadline."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    # The unit holding the ticket when it was raised (the ledger's key) and its area path
    # (the ledger's scope), copied so that the ledger is one indexed range.
    unit_id = fields.IntField(null=True)
    area_path = fields.CharField(max_length=255, default="")
    level = fields.CharEnumField(SupervisionLevel, max_length=16)
    note = fields.CharField(max_length=500)
    deadline_at = fields.DatetimeField()
    raised_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    raised_by_id: int | None
    # Set for the automatic 督办 of an overdue ticket: one per ticket and deadline, however
    # many job processes race for it.
    auto_key = fields.CharField(max_length=64, null=True, unique=True)
    status = fields.CharEnumField(SupervisionStatus, max_length=16,
                                  default=SupervisionStatus.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "supervisions"
        indexes = (("unit_id", "id"), ("ticket_id", "status"), ("area_path", "id"))
