"""Reply templates (常用语): texts staff pick for a progress note or a request for information."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class TemplatePurpose(StrEnum):
    PROGRESS_NOTE = "progress_note"  # 进展说明, shown to the reporter and followers
    ASK_INFO = "ask_info"  # 请求补充信息, to the reporter


class ReplyTemplate(Model):
    """One text for a purpose, for a category subtree and a status (empty: any)."""

    id = fields.IntField(primary_key=True)
    purpose = fields.CharEnumField(TemplatePurpose, max_length=16)
    # A category path ("/01/" a 大类, "/01/0102/" a 小类, "" any) and a ticket status ("" any).
    category_path = fields.CharField(max_length=255, default="")
    status = fields.CharField(max_length=16, default="")
    text = fields.CharField(max_length=500)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reply_templates"
        indexes = (("purpose", "is_active"),)
