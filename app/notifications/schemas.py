"""Request and response models of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.core.api import Input
from app.core.paging import PageQuery
from app.notifications.models import OutboxStatus, PushState

# WeChat template ids are URL-safe base64-like strings (43 characters today).
TemplateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# wx.requestSubscribeMessage takes at most 5 template ids per tap (older docs: 3).
MAX_TEMPLATES_PER_TAP = 5


class MessageOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    ticket_id: int | None
    read: bool
    read_at: datetime | None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    next: str | None = None


class UnreadCount(BaseModel):
    unread: int


class ReadAllOut(BaseModel):
    marked: int = Field(description="How many messages were unread and are now read")
    unread: int


class SubscriptionIn(Input):
    """The result of one wx.requestSubscribeMessage tap: what was asked, what was accepted."""

    template_ids: list[TemplateId] = Field(min_length=1, max_length=MAX_TEMPLATES_PER_TAP)
    accepted: list[TemplateId] = Field(default_factory=list, max_length=MAX_TEMPLATES_PER_TAP)

    @model_validator(mode="after")
    def _accepted_were_asked(self) -> SubscriptionIn:
        unknown = sorted(set(self.accepted) - set(self.template_ids))
        if unknown:
            raise ValueError(f"accepted ids must be among template_ids: {unknown}")
        return self


class QuotaOut(BaseModel):
    template_id: str
    remaining: int = Field(description="Sends left: each acceptance buys exactly one")


class QuotaList(BaseModel):
    items: list[QuotaOut]


class OutboxQuery(PageQuery):
    status: OutboxStatus | None = None


class OutboxOut(BaseModel):
    id: int
    kind: str
    recipient_id: int | None
    ticket_id: int | None
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    available_at: datetime
    last_error: str
    push_state: PushState
    locked_by: str
    locked_until: datetime | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    next: str | None = None
