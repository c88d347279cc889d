"""Request and response models of the evaluation domain (考核)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.api import Input


class EvaluationQuery(Input):
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                              description="A local month (Asia/Shanghai), e.g. 2026-11; "
                                          "default the current month")
    from_: datetime | None = Field(default=None, alias="from",
                                   description="Or a period start (ISO-8601, with time zone)")
    to: datetime | None = Field(default=None, description="Period end, exclusive")
    area: str | None = Field(default=None, max_length=32, description="Area code (subtree)")


class EvaluationRateOut(BaseModel):
    value: float | None = Field(description="A fraction; null when the denominator is 0")
    display: str = Field(description='Percent with two decimals, or "—"')
    label: str


class EvaluationRow(BaseModel):
    key: str = Field(description="Unit id or user id")
    name: str
    rank: int | None = Field(description="1 is best; null when the deciding rate is undefined")
    grade: Literal["excellent", "good", "passing", "failing"] | None
    grade_label: str = Field(description="优秀 / 良好 / 合格 / 不合格, or — without data")
    counts: dict[str, int]
    rates: dict[str, EvaluationRateOut]


class EvaluationTable(BaseModel):
    kind: Literal["unit", "dispatcher", "worker"]
    period_from: datetime
    period_to: datetime
    decided_by: str = Field(description="The rate key that decides grade and rank")
    rows: list[EvaluationRow]


class GradeRuleOut(BaseModel):
    kind: Literal["unit", "dispatcher", "worker"]
    kind_label: str
    rate: str
    rate_label: str
    rates: list[str] = Field(description="The rate keys this kind may be graded by")
    excellent: float = Field(description="Lowest value graded 优秀")
    good: float = Field(description="Lowest value graded 良好")
    passing: float = Field(description="Lowest value graded 合格; below it 不合格")
    updated_at: datetime | None = Field(description="null: the documented default applies")


class GradeRuleList(BaseModel):
    items: list[GradeRuleOut]


class GradeRuleIn(Input):
    rate: str = Field(min_length=1, max_length=32)
    excellent: float = Field(ge=0, le=1)
    good: float = Field(ge=0, le=1)
    passing: float = Field(ge=0, le=1)
