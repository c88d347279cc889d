"""The case taxonomy (部件 components / 事件 events), as editable data — cities differ."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CategoryKind(StrEnum):
    COMPONENT = "component"  # 部件: a thing that is broken (manhole cover, street lamp)
    EVENT = "event"  # 事件: something that happens (illegal parking, garbage, noise)


class LimitUnit(StrEnum):
    WORK_HOURS = "work_hours"  # 工作时
    WORK_DAYS = "work_days"  # 工作日
    NATURAL_HOURS = "natural_hours"  # 自然时
    NATURAL_DAYS = "natural_days"  # 自然日


class Category(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # stable, e.g. "0101" (大类 01, 小类 01)
    name = fields.CharField(max_length=64)  # the standard's name, shown to staff
    resident_label = fields.CharField(max_length=64, default="")  # friendly name for residents
    kind = fields.CharEnumField(CategoryKind, max_length=16)
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    path = fields.CharField(max_length=255, db_index=True)  # "/01/0101/": subtree = prefix
    depth = fields.SmallIntField(default=1)  # 1 = 大类 (major class), 2 = 小类 (minor class)
    standard_ref = fields.CharField(max_length=64, default="")  # which code table, e.g. GB/T 30428.2-2013
    limit_value = fields.IntField(default=5)
    limit_unit = fields.CharEnumField(LimitUnit, max_length=16, default=LimitUnit.WORK_DAYS)
    urgent_limit_value = fields.IntField(default=2)
    urgent_limit_unit = fields.CharEnumField(LimitUnit, max_length=16,
                                             default=LimitUnit.NATURAL_HOURS)
    auto_accept = fields.BooleanField(default=False)  # skip manual 立案
    requires_photo = fields.BooleanField(default=False)
    is_resident_visible = fields.BooleanField(default=True)
    is_active = fields.BooleanField(default=True)
    sort = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "categories"
