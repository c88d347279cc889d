"""Request and response models of the hotline domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.api import Input
from app.hotline.models import CallbackResult, HotlineCase, HotlineForward
from app.tickets.schemas import Location, ReportCreate

PHONE = r"^[0-9+()\- ]{3,32}$"


class HotlineCaseCreate(Input):
    """A call taken by a dispatcher: the problem, and who called."""

    category_code: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=1000)
    location: Location
    address: str = Field(default="", max_length=255)
    urgency: Literal["normal", "urgent"] = "normal"
    is_public: bool = Field(default=False, description="Shown to residents nearby (never the "
                            "caller's details)")
    caller_name: str = Field(default="", max_length=64)
    caller_phone: str = Field(pattern=PHONE)
    wants_callback: bool = Field(default=True, description="The caller asks to be called back")

    def report(self) -> ReportCreate:
        return ReportCreate(category_code=self.category_code, description=self.description,
                            location=self.location, address=self.address, urgency=self.urgency,
                            is_public=self.is_public)


class HotlineOrderIn(HotlineCaseCreate):
    """A 工单 pushed by the 12345 platform (signed, docs/integrations.md)."""

    order_number: str = Field(min_length=1, max_length=64, description="12345's own 工单编号")


class CallbackIn(Input):
    result: CallbackResult
    note: str = Field(default="", max_length=500)


class HotlineCaseOut(BaseModel):
    """A hotline case as staff see it: the caller's details are here and nowhere else."""

    ticket_id: int
    ticket_number: str | None
    status: str
    order_number: str | None
    integration: str | None = Field(description="The code of the platform that pushed it")
    caller_name: str
    caller_phone: str
    wants_callback: bool
    callback_result: CallbackResult | None
    callback_note: str
    callback_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, case: HotlineCase, *, number: str | None, status: str,
                   integration: str | None) -> HotlineCaseOut:
        return cls(ticket_id=case.ticket_id, ticket_number=number, status=status,
                   order_number=case.order_number, integration=integration,
                   caller_name=case.caller_name, caller_phone=case.caller_phone,
                   wants_callback=case.wants_callback, callback_result=case.callback_result,
                   callback_note=case.callback_note, callback_at=case.callback_at,
                   created_at=case.created_at)


class HotlineOrderOut(BaseModel):
    """What the 12345 platform hears back: our ticket for its order."""

    order_number: str
    ticket_id: int
    ticket_number: str | None
    status: str
    is_new: bool = Field(description="false: the order was pushed before; the same ticket")


class ForwardIn(Input):
    """热线推送: where a case outside the district's remit goes, and why."""

    body_name: str = Field(min_length=1, max_length=100, description="The outside body, e.g. "
                           "市供电公司")
    body_contact: str = Field(default="", max_length=100, description="Its phone or mailbox")
    external_number: str = Field(default="", max_length=64,
                                 description="The body's own order number, if it gave one")
    reason: str = Field(min_length=1, max_length=255, description="Why it is not ours "
                        "(the reporter reads it)")
    version: int | None = Field(default=None, ge=1, description="The ticket version read; "
                                "409 stale_version if it changed since")


class ForwardReplyIn(Input):
    """回复: what the outside body answered."""

    reply: str = Field(min_length=1, max_length=1000)


class ForwardOut(BaseModel):
    """A forwarded case: the outside body, why, and its answer once recorded."""

    ticket_id: int
    ticket_number: str | None
    status: str
    body_name: str
    body_contact: str
    external_number: str
    reason: str
    forwarded_at: datetime
    reply: str
    replied_at: datetime | None

    @classmethod
    def from_model(cls, row: HotlineForward, *, number: str | None,
                   status: str) -> ForwardOut:
        return cls(ticket_id=row.ticket_id, ticket_number=number, status=status,
                   body_name=row.body_name, body_contact=row.body_contact,
                   external_number=row.external_number, reason=row.reason,
                   forwarded_at=row.forwarded_at, reply=row.reply, replied_at=row.replied_at)
