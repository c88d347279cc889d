"""Display links: a read-only big screen for one area, opened without a staff session."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DisplayLink(Model):
    """A revocable big-screen link for one area: the URL holds a random token, only its hash is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    area: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, on_delete=fields.CASCADE
    )
    area_id: int
    # The screen shows what its creator may see of the area: a link never outlives the
    # creator's own grant (a disabled account or a lost grant ends it too).
    created_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "display_links"
