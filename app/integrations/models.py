"""Integrations, their signing keys, and the request ids they have used."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class IntegrationKind(StrEnum):
    HOTLINE12345 = "hotline12345"  # the city's 12345 hotline platform
    CAMERA = "camera"
    SENSOR = "sensor"
    FEED = "feed"  # a city or provincial platform reading the case-event feed


class Integration(Model):
    """An outside system that calls us with signed requests, with its own limit and endpoint."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=64)
    kind = fields.CharEnumField(IntegrationKind, max_length=16)
    is_active = fields.BooleanField(default=True)
    rate_per_minute = fields.IntField(default=600)
    # Where status changes are sent back (12345), empty when nothing is sent.
    endpoint_url = fields.CharField(max_length=512, default="")
    # A feed integration with an endpoint: the feed cursor pushed up to, and the outbox row of
    # the last page (the next page waits until it is delivered, so pages arrive in order).
    feed_cursor = fields.CharField(max_length=80, default="")
    feed_outbox_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "integrations"


class IntegrationKey(Model):
    """A signing secret of an integration, valid until `expires_at` (null: until rotated)."""

    id = fields.IntField(primary_key=True)
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name="keys", on_delete=fields.CASCADE)
    integration_id: int
    # HMAC needs the secret itself on our side, so it is kept (shown once, when made).
    secret = fields.CharField(max_length=64)
    prefix = fields.CharField(max_length=8)  # shown in lists to tell keys apart
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "integration_keys"


class IntegrationRequest(Model):
    """A request id an integration has used: the unique constraint refuses a replay."""

    id = fields.IntField(primary_key=True)
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name=False, on_delete=fields.CASCADE)
    integration_id: int
    request_id = fields.CharField(max_length=64)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "integration_requests"
        unique_together = (("integration", "request_id"),)
        indexes = (("received_at",),)
