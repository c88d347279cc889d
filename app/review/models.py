"""The reviewed state of held content: who released or kept which text, and when."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReviewKind(StrEnum):
    TICKET = "ticket"  # a case's description or note (tickets.content_held)
    RATING = "rating"  # a rating's comment (ratings.comment_held)
    POLL_TEXT = "poll_text"  # a free-text poll answer (poll_answers.text_held)


class Decision(StrEnum):
    RELEASED = "released"  # shown as its author chose
    KEPT = "kept"  # stays hidden from the public, and leaves the review queue


class ReviewDecision(Model):
    """One reviewer's decision on one held text. Rows are only added: the history stays."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ReviewKind, max_length=16)
    # Tickets and ratings have integer ids; poll answers UUIDs.
    target_id = fields.IntField(null=True)
    target_uuid = fields.UUIDField(null=True)
    decision = fields.CharEnumField(Decision, max_length=16)
    reviewer: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    reviewer_id: int | None
    decided_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "review_decisions"
        indexes = (("kind", "target_id"), ("kind", "target_uuid"))
