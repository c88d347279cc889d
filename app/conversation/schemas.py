"""Request and response bodies of the conversation API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.conversation.models import TemplatePurpose
from app.core.api import Input
from app.tickets.schemas import VersionIn
from app.tickets.workflow import Status


class StaffNoteIn(VersionIn):
    note: str = Field(min_length=1, max_length=1000, description="What the reporter reads")


class ReplyTemplateIn(Input):
    purpose: TemplatePurpose
    category_code: str | None = Field(default=None, max_length=32,
                                      description="A 大类 or 小类 (omitted: every category)")
    status: Status | None = Field(default=None, description="Only for tickets in this status")
    text: str = Field(min_length=1, max_length=500)


class ReplyTemplatePatch(Input):
    text: str | None = Field(default=None, min_length=1, max_length=500)
    is_active: bool | None = None


class ReplyTemplateQuery(Input):
    ticket_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description=(
        "The templates that fit this ticket's category and status, most specific first"))
    purpose: TemplatePurpose | None = None


class ReplyTemplateOut(BaseModel):
    id: int
    purpose: TemplatePurpose
    category_path: str = Field(description='"" for every category')
    status: str = Field(description='"" for every status')
    text: str
    is_active: bool
    created_at: datetime


class ReplyTemplateList(BaseModel):
    items: list[ReplyTemplateOut]
