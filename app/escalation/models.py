"""Escalations (上报/升级) of a case one level up the tree, and its co-handling units (协办)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.tickets.models import TicketLevel


class EscalationStatus(StrEnum):
    PENDING = "pending"  # 待受理: in the level's queue
    ACCEPTED = "accepted"  # 已受理: the level dispatched it to a unit
    PASSED_UP = "passed_up"  # 已再上报: the level escalated it further before accepting


class Escalation(Model):
    """One step of a case up the tree: who asked, why, where to, who accepted it, which unit."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    from_level = fields.CharEnumField(TicketLevel, max_length=16)
    to_level = fields.CharEnumField(TicketLevel, max_length=16, db_index=True)
    # The area at the new level (its path: the queue's scope) and the unit that held the case.
    area_id = fields.IntField()
    area_path = fields.CharField(max_length=255)
    from_unit_id = fields.IntField(null=True)
    status = fields.CharEnumField(EscalationStatus, max_length=16,
                                  default=EscalationStatus.PENDING)
    reason = fields.CharField(max_length=500)
    requested_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    requested_by_id: int
    requester_role = fields.CharField(max_length=24)
    created_at = fields.DatetimeField(auto_now_add=True)
    accepted_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    accepted_by_id: int | None
    accepted_at = fields.DatetimeField(null=True)
    unit_id = fields.IntField(null=True)  # the unit the level dispatched it to
    deadline_at = fields.DatetimeField(null=True)  # the level's deadline, set on acceptance
    # "<ticket>" while pending, NULL after: one pending escalation per ticket, however many race.
    pending_key = fields.CharField(max_length=32, null=True, unique=True)

    class Meta:
        table = "escalations"
        indexes = (("to_level", "status", "id"), ("ticket_id", "id"), ("area_path", "id"))


class CoHandlingStatus(StrEnum):
    PENDING = "pending"  # 待反馈
    REPORTED = "reported"  # 已反馈
    WAIVED = "waived"  # 已免除


class CoHandling(Model):
    """A co-handling unit (协办单位) on a ticket and the part it recorded."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    unit_id = fields.IntField(db_index=True)
    status = fields.CharEnumField(CoHandlingStatus, max_length=16,
                                  default=CoHandlingStatus.PENDING)
    added_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    added_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    note = fields.TextField(default="")  # the co-unit's part, or why it was waived
    media_ids: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    done_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    done_by_id: int | None
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "co_handlings"
        unique_together = (("ticket", "unit_id"),)
