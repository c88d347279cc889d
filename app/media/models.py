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

    class Meta:
        table = "media"
