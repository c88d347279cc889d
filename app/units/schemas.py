"""Request and response models of the units domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.areas.schemas import AreaRef
from app.core.api import Input
from app.core.paging import PageQuery
from app.units.models import UnitKind


class UnitRef(BaseModel):
    """A unit as other domains show it."""

    id: int
    name: str
    kind: UnitKind
    is_active: bool


class UnitOut(UnitRef):
    area: AreaRef | None = Field(default=None, description="The area it serves; none = city-wide")
    created_at: datetime


class UnitMember(BaseModel):
    id: int
    display_name: str
    work_phone: str


class UnitDetail(UnitOut):
    members: list[UnitMember] = Field(description="Active users holding a handler role on it")


class UnitPage(BaseModel):
    items: list[UnitOut]
    next: str | None = None


class UnitQuery(PageQuery):
    area: str | None = Field(default=None, max_length=32,
                             description="Area code: units serving that area or below it")
    kind: UnitKind | None = None
    include_inactive: bool = False
    limit: int = Field(default=100, ge=1, le=500)
    # A non-numeric cursor has always been refused as `invalid_query` here (clients rely on
    # it); core.paging still decides what a numeric one means.
    cursor: str | None = Field(default=None, max_length=19, pattern=r"^[0-9]+$",
                               description="`next` of the previous page")


class UnitCreate(Input):
    name: str = Field(min_length=1, max_length=128)
    kind: UnitKind
    area_code: str | None = Field(default=None, max_length=32,
                                  description="The area it serves; none = city-wide "
                                  "(city-wide admins only)")


class UnitUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    is_active: bool | None = None

