"""Escalation and co-handling requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.api import Input
from app.core.paging import PageQuery
from app.escalation.models import CoHandling, CoHandlingStatus, Escalation, EscalationStatus
from app.tickets.models import TicketLevel
from app.tickets.schemas import MAX_PHOTOS, VersionIn

LEVEL_LABELS = {TicketLevel.GRID: "网格", TicketLevel.COMMUNITY: "社区", TicketLevel.STREET: "街道",
                TicketLevel.DISTRICT: "区"}
STATUS_LABELS = {EscalationStatus.PENDING: "待受理", EscalationStatus.ACCEPTED: "已受理",
                 EscalationStatus.PASSED_UP: "已再上报"}
CO_STATUS_LABELS = {CoHandlingStatus.PENDING: "待反馈", CoHandlingStatus.REPORTED: "已反馈",
                    CoHandlingStatus.WAIVED: "已免除"}
UpperLevel = Literal["community", "street", "district"]


class EscalateIn(VersionIn):
    reason: str = Field(min_length=1, max_length=500, description="上报理由: why this level "
                        "cannot solve it")


class EscalationAcceptIn(Input):
    unit_id: int = Field(ge=1, le=2**31 - 1, description="The unit this level dispatches to")
    note: str = Field(default="", max_length=500)


class EscalationQueueQuery(PageQuery):
    level: UpperLevel = Field(description="The level whose queue: community, street, district")


class EscalationOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None
    from_level: TicketLevel
    to_level: TicketLevel
    to_level_label: str
    area_code: str = Field(description="The area at the new level")
    status: EscalationStatus
    status_label: str
    reason: str
    requested_by: int
    requester_role: str
    created_at: datetime
    accepted_by: int | None
    accepted_at: datetime | None
    unit_id: int | None
    deadline_at: datetime | None = Field(description="The level's deadline, once accepted")

    @classmethod
    def from_model(cls, row: Escalation, number: str | None) -> EscalationOut:
        return cls(id=row.id, ticket_id=row.ticket_id, ticket_number=number,
                   from_level=row.from_level, to_level=row.to_level,
                   to_level_label=LEVEL_LABELS[row.to_level],
                   area_code=row.area_path.rstrip("/").rsplit("/", 1)[-1], status=row.status,
                   status_label=STATUS_LABELS[row.status], reason=row.reason,
                   requested_by=row.requested_by_id, requester_role=row.requester_role,
                   created_at=row.created_at, accepted_by=row.accepted_by_id,
                   accepted_at=row.accepted_at, unit_id=row.unit_id, deadline_at=row.deadline_at)


class EscalationPage(BaseModel):
    items: list[EscalationOut]
    next: str | None = None


class CoUnitIn(Input):
    unit_id: int = Field(ge=1, le=2**31 - 1, description="The co-handling unit (协办单位)")


class CoReportIn(Input):
    note: str = Field(min_length=1, max_length=1000, description="协办情况")
    media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)


class CoWaiveIn(Input):
    reason: str = Field(min_length=1, max_length=500, description="免除协办的原因")


class CoHandlingOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None
    unit_id: int
    status: CoHandlingStatus
    status_label: str
    note: str
    media_ids: list[int]
    added_by: int | None
    created_at: datetime
    done_by: int | None
    done_at: datetime | None

    @classmethod
    def from_model(cls, row: CoHandling, number: str | None) -> CoHandlingOut:
        media: list[Any] = list(row.media_ids or [])
        return cls(id=row.id, ticket_id=row.ticket_id, ticket_number=number, unit_id=row.unit_id,
                   status=row.status, status_label=CO_STATUS_LABELS[row.status], note=row.note,
                   media_ids=[int(m) for m in media], added_by=row.added_by_id,
                   created_at=row.created_at, done_by=row.done_by_id, done_at=row.done_at)


class CoHandlingPage(BaseModel):
    items: list[CoHandlingOut]
    next: str | None = None
