"""Request and response models of the routing domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.areas.schemas import AreaRef, LocateOut, LocateQuery
from app.catalog.schemas import CategoryRef
from app.core.api import MAX_ID, Input
from app.core.paging import PageQuery
from app.routing.models import RuleChangeAction
from app.units.schemas import UnitRef

RoutedBy = Literal["rule", "grid_team", "manual"]


class RuleOut(BaseModel):
    id: int
    category: CategoryRef | None = Field(description="None = every category")
    area: AreaRef | None = Field(description="None = everywhere")
    unit: UnitRef
    priority: int
    is_active: bool
    note: str
    created_at: datetime
    updated_at: datetime


class RulePage(BaseModel):
    items: list[RuleOut]
    next: str | None = None


class RuleQuery(PageQuery):
    area: str | None = Field(default=None, max_length=32,
                             description="Area code: rules set on that area or below it")
    category: str | None = Field(default=None, max_length=32,
                                 description="Category code: rules on that category or below it")
    include_inactive: bool = False
    limit: int = Field(default=100, ge=1, le=500)


class RuleCreate(Input):
    category_code: str | None = Field(default=None, max_length=32,
                                      description="A 大类 or 小类; null = every category")
    area_code: str | None = Field(default=None, max_length=32,
                                  description="Any area; null = everywhere (city-wide admins)")
    unit_id: int = Field(ge=1, le=MAX_ID)
    priority: int = Field(default=0, ge=-1000, le=1000,
                          description="Breaks ties between equally specific rules; higher wins")
    note: str = Field(default="", max_length=255)


class RuleUpdate(Input):
    unit_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    note: str | None = Field(default=None, max_length=255)
    is_active: bool | None = None


class Actor(BaseModel):
    id: int
    display_name: str


class RuleChangeOut(BaseModel):
    id: int
    rule_id: int
    action: RuleChangeAction
    snapshot: dict[str, Any] = Field(description="The rule after the change")
    actor: Actor | None = None
    created_at: datetime


class HistoryQuery(PageQuery):
    limit: int = Field(default=100, ge=1, le=500)


class RuleHistory(BaseModel):
    items: list[RuleChangeOut]
    next: str | None = None


class PreviewQuery(LocateQuery):
    category: str = Field(min_length=1, max_length=32, description="小类 code")


class PreviewOut(BaseModel):
    location: LocateOut
    category: CategoryRef
    routed_by: RoutedBy
    unit: UnitRef | None = None
    rule: RuleOut | None = None
    explanation: str
