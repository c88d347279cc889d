"""Tables the core owns: the configuration revision the per-process caches watch."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ConfigRevision(Model):
    """A counter per cached configuration, bumped in the transaction of every change.

    Each process compares it with the value its caches were loaded at (see
    `app.core.config_cache`) and reloads them when it moved on.
    """

    name = fields.CharField(max_length=32, primary_key=True)
    revision = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "config_revisions"
