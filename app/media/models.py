"""Uploaded photos: who owns them, what for, where they are stored."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MediaPurpose(StrEnum):
    REPORT = "report"
    HANDLING = "handling"
    RATING = "rating"
    VERIFICATION = "verification"
    AVATAR = "avatar"


class MediaStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"


class MediaCheck(StrEnum):
    """The content check of a ready photo: only PASSED photos are shown to other people."""

    CHECKING = "checking"  # sent to WeChat's media_check_async, verdict not back yet
    PASSED = "passed"
    REVIEW = "review"  # WeChat unsure: held until staff release it
    RISKY = "risky"  # WeChat says risky: hidden for good


class ModerationAction(StrEnum):
    HIDE = "hide"
    RESTORE = "restore"
    CHECK_RISKY = "check_risky"
    CHECK_REVIEW = "check_review"


class Media(Model):
    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    owner_id: int
    purpose = fields.CharEnumField(MediaPurpose, max_length=16)
    status = fields.CharEnumField(MediaStatus, max_length=16, default=MediaStatus.PENDING)
    storage = fields.CharField(max_length=8)  # "local" or "qiniu"
    # Server-generated keys (never a user's file name).
    key = fields.CharField(max_length=128, unique=True)
    thumb_key = fields.CharField(max_length=128, null=True)
    mime = fields.CharField(max_length=32, null=True)
    size = fields.IntField(null=True)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    sha256 = fields.CharField(max_length=64, null=True)
    expires_at = fields.DatetimeField()  # a pending upload must complete before this
    created_at = fields.DatetimeField(auto_now_add=True)
    ready_at = fields.DatetimeField(null=True)
    # Content check (app/media/moderation.py). Rows from before the check existed are PASSED.
    check = fields.CharEnumField(MediaCheck, max_length=16, default=MediaCheck.PASSED)
    check_trace_id = fields.CharField(max_length=64, null=True, db_index=True)
    check_sent_at = fields.DatetimeField(null=True)
    check_label = fields.CharField(max_length=16, null=True)
    checked_at = fields.DatetimeField(null=True)
    # Hidden by staff, with the reason the owner is shown (restorable).
    hidden_at = fields.DatetimeField(null=True)
    hidden_reason = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "media"


class MediaModeration(Model):
    """Who hid or restored a photo and why, or the check's verdict: read into the timeline."""

    id = fields.IntField(primary_key=True)
    media_id = fields.IntField(db_index=True)
    ticket_id = fields.IntField(null=True, db_index=True)
    action = fields.CharEnumField(ModerationAction, max_length=16)
    actor_id = fields.IntField(null=True)  # None: the content check
    actor_role = fields.CharField(max_length=32, default="")
    reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media_moderation"
