"""督办 in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from app.core.api import Input
from app.core.paging import PageQuery
from app.supervision.models import Supervision, SupervisionLevel, SupervisionStatus

LEVEL_LABELS = {SupervisionLevel.NORMAL: "一般督办", SupervisionLevel.KEY: "重点督办",
                SupervisionLevel.LISTED: "挂牌督办"}


class SupervisionIn(Input):
    level: SupervisionLevel = Field(description="normal 一般督办, key 重点督办, listed 挂牌督办")
    note: str = Field(min_length=1, max_length=500, description="督办意见")
    deadline_at: AwareDatetime = Field(description="The 督办's own deadline, in the future")


class SupervisionLedgerQuery(PageQuery):
    unit: int | None = Field(default=None, ge=1, le=2**31 - 1,
                             description="A unit's ledger (omitted: every unit in my scope)")
    status: Literal["open", "closed", "all"] = "all"


class SupervisionOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None
    unit_id: int | None
    level: SupervisionLevel
    level_label: str
    note: str
    deadline_at: datetime
    is_automatic: bool = Field(description="Raised by the overdue job, not a person")
    status: SupervisionStatus
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_model(cls, row: Supervision, number: str | None) -> SupervisionOut:
        return cls(id=row.id, ticket_id=row.ticket_id, ticket_number=number,
                   unit_id=row.unit_id, level=row.level, level_label=LEVEL_LABELS[row.level],
                   note=row.note, deadline_at=row.deadline_at,
                   is_automatic=row.raised_by_id is None, status=row.status,
                   created_at=row.created_at, closed_at=row.closed_at)


class SupervisionPage(BaseModel):
    items: list[SupervisionOut]
    next: str | None = None
