"""Request and response models of the ratings domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.core.api import Input
from app.core.paging import PageQuery
from app.ratings.models import Level, Outcome


class RatingIn(Input):
    result: Level = Field(description="Was the problem solved: 满意 / 基本满意 / 不满意")
    service: Level = Field(description="How were you treated")
    stars: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=500)
    media_ids: list[int] = Field(default_factory=list, max_length=6)


class RatingUpdate(Input):
    result: Level | None = None
    service: Level | None = None
    stars: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)


class ReplyIn(Input):
    body: str = Field(min_length=1, max_length=500)


class OutcomeIn(Input):
    reason: str = Field(min_length=1, max_length=255)


class ReplyOut(BaseModel):
    author_label: str = Field(description="Role + surname, e.g. 社区工作人员 吴")
    body: str
    created_at: datetime


class RatingOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None
    result: Level
    service: Level
    overall: Level
    stars: int | None
    comment: str
    comment_held: bool = Field(description="Held for staff review; others do not see it yet")
    is_mine: bool
    editable_until: datetime
    replies: list[ReplyOut]
    outcome: Outcome | None
    outcome_note: str
    created_at: datetime


class RatingPage(BaseModel):
    items: list[RatingOut]
    next: str | None = None


class QueueQuery(PageQuery):
    """Keyset-paged in `service.QUEUE_ORDER`: `next` is "<overall_rank>.<has_reply>.<id>"."""

    only_open: bool = Field(default=False,
                            description="Only ratings without a reply or an outcome yet")
