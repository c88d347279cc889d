"""The grade thresholds a district sets for each kind of evaluated subject."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class EvaluationGrade(Model):
    """Which rate decides a kind's grade, and the lowest value of 优秀, 良好 and 合格."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=16, unique=True)  # unit, dispatcher, worker
    rate = fields.CharField(max_length=32)
    excellent = fields.FloatField()
    good = fields.FloatField()
    passing = fields.FloatField()
    updated_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    updated_by_id: int | None
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "evaluation_grades"
