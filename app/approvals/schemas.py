"""The register's requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from app.approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from app.core.api import Input
from app.core.paging import PageQuery

KIND_LABELS = {ApprovalKind.SUSPEND: "挂账", ApprovalKind.EXTEND: "延期",
               ApprovalKind.SEND_BACK: "回退", ApprovalKind.VOID: "作废"}
STATUS_LABELS = {ApprovalStatus.PENDING: "待审批", ApprovalStatus.APPROVED: "已批准",
                 ApprovalStatus.DENIED: "已驳回", ApprovalStatus.LAPSED: "已失效"}
ExtraUnit = Literal["work_hours", "work_days", "natural_hours", "natural_days"]


class ApprovalIn(Input):
    kind: ApprovalKind = Field(description="suspend 挂账, extend 延期, send_back 回退, void 作废")
    reason: str = Field(min_length=1, max_length=255, description="申请理由")
    extra_value: int | None = Field(default=None, ge=1, le=1000,
                                    description="延期 only: how much more time")
    extra_unit: ExtraUnit | None = Field(default=None, description="延期 only: in what unit")
    back_to: Literal["dispatch"] | None = Field(
        default=None, description="回退 only: the step to go back to (default dispatch)")


class ApprovalDecisionIn(Input):
    note: str = Field(default="", max_length=500, description="审批意见 (required to deny)")


class ResumeIn(Input):
    note: str = Field(default="", max_length=500, description="恢复办理的说明")


class ApprovalQuery(PageQuery):
    kind: ApprovalKind | None = None
    status: ApprovalStatus | None = None
    unit: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Unit id")
    area: str | None = Field(default=None, max_length=32, description="Area code (subtree)")
    ticket: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Ticket id")
    from_: AwareDatetime | None = Field(default=None, alias="from",
                                        description="Asked at or after (ISO-8601 with offset)")
    to: AwareDatetime | None = Field(default=None, description="Asked before (exclusive)")


class ApprovalRatesQuery(Input):
    area: str | None = Field(default=None, max_length=32, description="Area code (subtree)")
    from_: AwareDatetime = Field(alias="from", description="Period start (ISO-8601, offset)")
    to: AwareDatetime = Field(description="Period end, exclusive")


class ApprovalOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None
    kind: ApprovalKind
    kind_label: str
    status: ApprovalStatus
    status_label: str
    unit_id: int | None
    requested_by: int
    requester_role: str
    reason: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_note: str
    extra_value: int | None
    extra_unit: str | None
    back_to: str | None

    @classmethod
    def from_model(cls, row: ApprovalRequest, number: str | None) -> ApprovalOut:
        return cls(id=row.id, ticket_id=row.ticket_id, ticket_number=number, kind=row.kind,
                   kind_label=KIND_LABELS[row.kind], status=row.status,
                   status_label=STATUS_LABELS[row.status], unit_id=row.unit_id,
                   requested_by=row.requested_by_id, requester_role=row.requester_role,
                   reason=row.reason, created_at=row.created_at, decided_by=row.decided_by_id,
                   decided_at=row.decided_at, decision_note=row.decision_note,
                   extra_value=row.extra_value, extra_unit=row.extra_unit, back_to=row.back_to)


class ApprovalPage(BaseModel):
    items: list[ApprovalOut]
    next: str | None = None


class ApprovalKindRate(BaseModel):
    kind: ApprovalKind
    label: str = Field(description="挂账率, 延期率, 回退率, 作废率")
    requested: int = Field(description="Requests asked in the period")
    approved: int = Field(description="… of them approved")
    denied: int
    lapsed: int
    pending: int
    tickets: int = Field(description="Tickets of the base with an approved request of the kind")
    base: int = Field(description="应处置 (作废: 立案) in the period, the rate's denominator")
    rate: float | None = Field(description="tickets / base; null when base is 0")


class ApprovalRates(BaseModel):
    period_from: datetime
    period_to: datetime
    kinds: list[ApprovalKindRate]
