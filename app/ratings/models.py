"""Satisfaction ratings (一键可评) of closed tickets, staff replies, and what was done about them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Level(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class Outcome(StrEnum):
    REWORK = "rework"  # sent back for 重办
    DECLINED = "declined"  # not reworked, with the reason recorded


class Rating(Model):
    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    result = fields.CharEnumField(Level, max_length=24)  # was the problem solved
    service = fields.CharEnumField(Level, max_length=24)  # how were they treated
    # The headline level for 满意率: the worse of the two, so a bad half is never hidden.
    overall = fields.CharEnumField(Level, max_length=24, db_index=True)
    # Sort keys of the staff queue: unsatisfied (0) first, then unreplied first.
    overall_rank = fields.SmallIntField(default=2)
    has_reply = fields.BooleanField(default=False)
    stars = fields.SmallIntField(null=True)
    comment = fields.TextField(default="")
    # Held comments (content check) are shown to the rater and staff only until reviewed.
    comment_held = fields.BooleanField(default=False)
    media_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    area_path = fields.CharField(max_length=255, default="", db_index=True)  # the ticket's
    unit_id = fields.IntField(null=True)  # the unit that handled it
    replied_at = fields.DatetimeField(null=True)
    outcome = fields.CharEnumField(Outcome, max_length=16, null=True)
    outcome_note = fields.CharField(max_length=255, default="")
    outcome_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    outcome_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "ratings"
        unique_together = (("ticket", "user"),)


class RatingReply(Model):
    id = fields.IntField(primary_key=True)
    rating: fields.ForeignKeyRelation[Rating] = fields.ForeignKeyField(
        "models.Rating", related_name="replies", on_delete=fields.CASCADE)
    rating_id: int
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    author_id: int
    author_role = fields.CharField(max_length=24)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "rating_replies"
