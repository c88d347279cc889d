"""Admins' corrections to the official holiday schedule."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CalendarOverride(Model):
    """An admin's correction to the official calendar (a holiday or an adjusted working day)."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_workday = fields.BooleanField()
    note = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        # Moved here from app.tickets.models: same table, same app label ("models"), so the
        # migrations do not change.
        table = "calendar_overrides"
