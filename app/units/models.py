"""Units (处置单位): departments, property companies, community committees, grid teams."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class UnitKind(StrEnum):
    DEPARTMENT = "department"
    PROPERTY_COMPANY = "property_company"
    COMMUNITY_COMMITTEE = "community_committee"
    GRID_TEAM = "grid_team"


class Unit(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128)
    kind = fields.CharEnumField(UnitKind, max_length=32)
    # The area the unit serves (its jurisdiction); scopes who may manage it.
    area: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    area_id: int | None
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "units"
