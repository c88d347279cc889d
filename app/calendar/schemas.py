"""Request and response models of the working calendar."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.core.api import Input


class OverrideIn(Input):
    is_workday: bool
    note: str = Field(default="", max_length=64)


class OverrideOut(BaseModel):
    day: date
    is_workday: bool
    note: str


class CalendarStatus(BaseModel):
    missing_years: list[int] = Field(
        description="Years in the next 400 days without an official holiday schedule: deadlines "
        "there fall back to Monday–Friday until admins enter overrides")
    overrides: list[OverrideOut]
