"""Request and response models of the catalog domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.catalog.models import CategoryKind, LimitUnit
from app.core.api import Input

Audience = Literal["resident", "staff"]
CODE_PATTERN = r"^[0-9]+$"


class CategoryRef(BaseModel):
    """A category as other domains show it."""

    code: str
    name: str
    path: str


class CategoryOut(BaseModel):
    code: str
    name: str
    resident_label: str
    kind: CategoryKind
    parent_code: str | None = None
    depth: int = Field(description="1 = 大类 (major class), 2 = 小类 (minor class)")
    path: str
    standard_ref: str
    limit_value: int
    limit_unit: LimitUnit
    urgent_limit_value: int
    urgent_limit_unit: LimitUnit
    auto_accept: bool
    requires_photo: bool
    is_resident_visible: bool
    is_active: bool
    sort: int


class CategoryNode(CategoryOut):
    children: list[CategoryOut] = Field(default_factory=list)


class ResidentCategory(BaseModel):
    code: str
    label: str
    requires_photo: bool


class ResidentGroup(BaseModel):
    code: str
    label: str
    kind: CategoryKind
    children: list[ResidentCategory]


class CategoryList(BaseModel):
    """Residents get friendly groups of reportable 小类; staff the full tree with limits."""

    audience: Audience
    items: list[ResidentGroup] | list[CategoryNode]


class CategoryQuery(Input):
    audience: Audience | None = Field(
        default=None, description="resident (short friendly list) or staff (full tree); "
        "default: staff for staff accounts, resident otherwise")
    include_inactive: bool = Field(default=False, description="Staff only: list retired ones too")


class CategoryCreate(Input):
    code: str = Field(min_length=2, max_length=4, pattern=CODE_PATTERN,
                      description="大类: 2 digits (部件 01–09, 事件 10–99); 小类: 大类 + 2 digits")
    name: str = Field(min_length=1, max_length=64)
    resident_label: str = Field(default="", max_length=64)
    kind: CategoryKind | None = Field(default=None,
                                      description="Required for a 大类; a 小类 takes its parent's")
    parent_code: str | None = Field(default=None, max_length=32)
    standard_ref: str = Field(default="local", max_length=64)
    limit_value: int = Field(default=5, ge=1, le=10_000)
    limit_unit: LimitUnit = LimitUnit.WORK_DAYS
    urgent_limit_value: int = Field(default=2, ge=1, le=10_000)
    urgent_limit_unit: LimitUnit = LimitUnit.NATURAL_HOURS
    auto_accept: bool = False
    requires_photo: bool = False
    is_resident_visible: bool = True
    sort: int = Field(default=0, ge=-10_000, le=10_000)


class CategoryUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    resident_label: str | None = Field(default=None, max_length=64)
    standard_ref: str | None = Field(default=None, max_length=64)
    limit_value: int | None = Field(default=None, ge=1, le=10_000)
    limit_unit: LimitUnit | None = None
    urgent_limit_value: int | None = Field(default=None, ge=1, le=10_000)
    urgent_limit_unit: LimitUnit | None = None
    auto_accept: bool | None = None
    requires_photo: bool | None = None
    is_resident_visible: bool | None = None
    is_active: bool | None = None
    sort: int | None = Field(default=None, ge=-10_000, le=10_000)
