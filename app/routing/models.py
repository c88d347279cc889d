"""Routing rules: (category subtree, area subtree) → unit, kept with their full history."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RoutingRule(Model):
    id = fields.IntField(primary_key=True)
    # Null category = every category; null area = everywhere. Most specific match wins.
    category: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Category", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    category_id: int | None
    area: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    area_id: int | None
    unit: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Unit", related_name=False, on_delete=fields.RESTRICT
    )
    unit_id: int
    priority = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)
    note = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "routing_rules"


class RuleChangeAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"


class RoutingRuleChange(Model):
    """Append-only history: every change to a rule, with who made it and the rule after it."""

    id = fields.IntField(primary_key=True)
    rule_id = fields.IntField(db_index=True)
    action = fields.CharEnumField(RuleChangeAction, max_length=16)
    snapshot: fields.Field[dict] = fields.JSONField()
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "routing_rule_changes"
