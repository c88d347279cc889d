"""Cameras and sensors (自动识别): the device registry, what each event type means, every event
received, and the open case of each device and event type (the dedupe key)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DeviceKind(StrEnum):
    CAMERA = "camera"
    SENSOR = "sensor"


class EventStatus(StrEnum):
    """What became of a device event."""

    OPENED = "opened"  # it opened a new case
    ATTACHED = "attached"  # it joined the open case of its device and type
    REVIEW = "review"  # below its type's confidence threshold: waits for a dispatcher
    CONFIRMED = "confirmed"  # a dispatcher confirmed it from the review list (then a case)
    DISCARDED = "discarded"  # a dispatcher discarded it from the review list


class Device(Model):
    """A camera or sensor: where it stands (its grid cell), who owns it, who speaks for it."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    kind = fields.CharEnumField(DeviceKind, max_length=8)
    vendor = fields.CharField(max_length=64, default="")
    # The point exactly as registered (crs says which), and its grid cell.
    lng = fields.FloatField()
    lat = fields.FloatField()
    crs = fields.CharField(max_length=8)
    address = fields.CharField(max_length=255, default="")
    cell: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, on_delete=fields.RESTRICT)
    cell_id: int
    area_path = fields.CharField(max_length=255, db_index=True)
    unit: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Unit", related_name=False, null=True, on_delete=fields.SET_NULL)
    unit_id: int | None
    # The camera platform or sensor vendor whose signed events speak for this device.
    integration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Integration", related_name=False, on_delete=fields.RESTRICT)
    integration_id: int
    is_active = fields.BooleanField(default=True)
    last_seen_at = fields.DatetimeField(null=True)
    # Reported silent to the admins (once per silence; cleared when it is heard again).
    is_silent = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "devices"
        indexes = (("is_active", "is_silent", "last_seen_at"),)


class DeviceEventType(Model):
    """What an event type means: its category, urgency and the confidence it needs."""

    id = fields.IntField(primary_key=True)
    event_type = fields.CharField(max_length=32, unique=True)
    label = fields.CharField(max_length=64)
    category_code = fields.CharField(max_length=32)
    urgency = fields.CharField(max_length=8, default="normal")
    # At or above it an event opens (or joins) a case, below it waits for review.
    min_confidence = fields.FloatField(default=0.8)
    is_active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "device_event_types"


class DeviceEvent(Model):
    """One event a device or its platform reported, recorded once per platform event id."""

    id = fields.IntField(primary_key=True)
    integration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Integration", related_name=False, on_delete=fields.CASCADE)
    integration_id: int
    external_id = fields.CharField(max_length=64)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, on_delete=fields.CASCADE)
    device_id: int
    event_type = fields.CharField(max_length=32)
    occurred_at = fields.DatetimeField()
    confidence = fields.FloatField()
    media_id = fields.IntField(null=True)
    status = fields.CharEnumField(EventStatus, max_length=16)
    ticket_id = fields.IntField(null=True, db_index=True)
    reviewed_by_id = fields.IntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    review_note = fields.CharField(max_length=255, default="")
    area_path = fields.CharField(max_length=255)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "device_events"
        unique_together = (("integration", "external_id"),)
        indexes = (("status", "area_path"),)


class DeviceCase(Model):
    """The case a device's events of one type attach to while they keep coming.

    One row per (device, event type), unique: the first event inserts it, a later one outside
    the window (or after the case ended) takes it over with a conditional update on
    `generation`, so of two concurrent events exactly one opens a case.
    """

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, on_delete=fields.CASCADE)
    device_id: int
    event_type = fields.CharField(max_length=32)
    ticket_id = fields.IntField(null=True)  # null only inside the transaction that opens it
    generation = fields.IntField(default=1)
    event_count = fields.IntField(default=1)
    opened_at = fields.DatetimeField()
    last_event_at = fields.DatetimeField()

    class Meta:
        table = "device_cases"
        unique_together = (("device", "event_type"),)
