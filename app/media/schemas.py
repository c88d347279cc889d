"""Request and response models of the media domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.api import Input
from app.media.models import MediaPurpose, MediaStatus


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


class QiniuCallbackOut(BaseModel):
    media_id: int
    status: MediaStatus
