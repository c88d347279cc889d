"""Request and response models of the content review (内容审核)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.core.api import Input
from app.review.models import Decision, ReviewKind


class RatingSeen(Input):
    seen: str | None = Field(default=None, max_length=2000, description=(
        "The comment the reviewer read: if the resident changed it since, 409 rating_changed"))


class DecisionOut(BaseModel):
    kind: ReviewKind
    target_id: str
    decision: Decision
    reviewer_id: int | None
    decided_at: datetime


class HeldItem(BaseModel):
    kind: ReviewKind
    id: str = Field(description="The ticket's, rating's or poll answer's id")
    poll_id: int | None = None
    title: str = Field(description="The case number, or the poll's title and question")
    text: str


class ReviewQueue(BaseModel):
    """What the content check held in my areas, not yet released or kept (100 of each)."""

    items: list[HeldItem]
