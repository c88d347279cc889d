"""Request and response models of the stats domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.api import Input


class StatsQuery(Input):
    area: str | None = Field(default=None, max_length=32, description="Area code (subtree)")
    from_: datetime | None = Field(default=None, alias="from",
                                   description="Period start (ISO-8601), default 30 days ago")
    to: datetime | None = Field(default=None, description="Period end, exclusive; default now")
    category: str | None = Field(default=None, max_length=32, description="Category code (subtree)")
    unit: int | None = Field(default=None, ge=1, le=2**31 - 1)


class BreakdownQuery(StatsQuery):
    by: Literal["unit", "grid", "community", "street", "source", "category_major", "category",
                "urgency", "day", "week", "month"] = Field(
        default="unit", description=(
            "source: by intake channel (群众上报, 热线工单 …); category_major / category: by "
            "大类 / 小类; urgency; day / week / month: the trend, one row per local "
            "(Asia/Shanghai) day, week (from Monday) or month of the period, empty ones "
            "included (at most 400)"))


class RateOut(BaseModel):
    value: float | None = Field(description="A fraction; null when the denominator is 0")
    display: str = Field(description='Percent with two decimals, or "—"')
    label: str


class Summary(BaseModel):
    period_from: datetime
    period_to: datetime
    counts: dict[str, int]
    rates: dict[str, RateOut]


class BreakdownRow(Summary):
    key: str
    name: str


class Breakdown(BaseModel):
    by: str
    rows: list[BreakdownRow]
