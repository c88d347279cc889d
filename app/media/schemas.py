"""Request and response models of the media domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.api import Input
from app.media.models import MediaCheck, MediaPurpose, MediaStatus


class UploadStart(Input):
    purpose: MediaPurpose


class UploadTicket(BaseModel):
    media_id: int
    method: Literal["local", "qiniu"] = Field(
        description="local: POST the file to upload_url; qiniu: upload to Qiniu with the token"
    )
    upload_url: str
    key: str
    token: str | None = Field(default=None, description="Qiniu upload token (qiniu only)")
    form: dict[str, str] = Field(default_factory=dict,
                                 description="Extra multipart fields to send with the file")
    max_bytes: int
    expires_at: datetime


class MediaOut(BaseModel):
    id: int
    purpose: MediaPurpose
    status: MediaStatus
    mime: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = Field(default=None, description="Short-lived signed URL")
    thumb_url: str | None = None
    created_at: datetime
    check: MediaCheck = Field(default=MediaCheck.PASSED, description=(
        "Content check: only passed photos that are not hidden are shown to other people"))
    hidden: bool = Field(default=False, description="Hidden by staff (with held_reason)")
    held_reason: str | None = Field(default=None, description=(
        "Why other people do not see this photo (shown to its owner); null when they do"))


class MediaHideIn(Input):
    reason: str = Field(min_length=1, max_length=200, description="隐藏原因（图片上传者可见）")


class MediaRestoreIn(Input):
    reason: str = Field(default="", max_length=200)


class QiniuCallbackOut(BaseModel):
    media_id: int
    status: MediaStatus
