"""Open311 client apps (one API key each) and the link of a ticket to the app that filed it."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Open311Client(Model):
    """A client app allowed to POST requests: only a hash of its key is kept."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # a slug, e.g. "fms-liuhang"
    name = fields.CharField(max_length=64)
    key_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex of the key
    key_prefix = fields.CharField(max_length=12)  # the key's first characters, to tell keys apart
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    deactivated_at = fields.DatetimeField(null=True)
    deactivated_reason = fields.CharField(max_length=255, default="")

    class Meta:
        table = "open311_clients"


class Open311Request(Model):
    """A ticket filed through Open311, its token and the contact details (staff only)."""

    id = fields.IntField(primary_key=True)
    ticket: fields.OneToOneRelation = fields.OneToOneField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    client: fields.ForeignKeyRelation[Open311Client] = fields.ForeignKeyField(
        "models.Open311Client", related_name=False, on_delete=fields.RESTRICT)
    client_id: int
    token = fields.CharField(max_length=40, unique=True)
    email = fields.CharField(max_length=255, default="")
    first_name = fields.CharField(max_length=64, default="")
    last_name = fields.CharField(max_length=64, default="")
    phone = fields.CharField(max_length=32, default="")
    device_id = fields.CharField(max_length=64, default="")
    account_id = fields.CharField(max_length=64, default="")
    media_url = fields.CharField(max_length=1024, default="")
    answers: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "open311_requests"
