"""Request and response models of the devices domain (cameras and sensors, 自动识别)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from app.core.api import Input
from app.core.paging import PageQuery
from app.devices.models import Device, DeviceEvent, DeviceEventType, DeviceKind, EventStatus
from app.media.schemas import MediaOut
from app.tickets.schemas import Location

CODE = r"^[A-Za-z0-9._:\-]{1,64}$"
EVENT_TYPE = r"^[a-z][a-z0-9_]{0,31}$"
Urgency = Literal["normal", "urgent"]


class DeviceCreate(Input):
    """A camera or sensor to register (admins of the area it stands in)."""

    code: str = Field(pattern=CODE, description="The device's own code, as its platform sends it")
    name: str = Field(min_length=1, max_length=64)
    kind: DeviceKind
    vendor: str = Field(default="", max_length=64)
    location: Location
    address: str = Field(default="", max_length=255)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="The owning unit (处置单位), if any")
    integration: str = Field(min_length=1, max_length=32,
                             description="Code of the camera/sensor integration that speaks for it")
    is_active: bool = True


class DeviceUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    kind: DeviceKind | None = None
    vendor: str | None = Field(default=None, max_length=64)
    location: Location | None = None
    address: str | None = Field(default=None, max_length=255)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    integration: str | None = Field(default=None, min_length=1, max_length=32)
    is_active: bool | None = None


class DeviceOut(BaseModel):
    code: str
    name: str
    kind: DeviceKind
    vendor: str
    lng: float
    lat: float
    crs: str
    address: str
    cell_code: str = Field(description="The grid cell (网格) it stands in")
    unit_id: int | None
    integration: str
    is_active: bool
    last_seen_at: datetime | None
    is_silent: bool = Field(description="Reported to the admins as silent, not heard since")
    created_at: datetime

    @classmethod
    def from_model(cls, device: Device, *, cell_code: str, integration: str) -> DeviceOut:
        return cls(code=device.code, name=device.name, kind=device.kind, vendor=device.vendor,
                   lng=device.lng, lat=device.lat, crs=device.crs, address=device.address,
                   cell_code=cell_code, unit_id=device.unit_id, integration=integration,
                   is_active=device.is_active, last_seen_at=device.last_seen_at,
                   is_silent=device.is_silent, created_at=device.created_at)


class DevicePage(BaseModel):
    items: list[DeviceOut]
    next: str | None


class DeviceQuery(PageQuery):
    kind: DeviceKind | None = None
    is_active: bool | None = None
    integration: str | None = Field(default=None, max_length=32)


class DeviceImport(Input):
    """A device list as a file's text: CSV with a header row, or a GeoJSON FeatureCollection
    of Points (see docs/integrations.md for the columns and properties)."""

    format: Literal["csv", "geojson"]
    content: str = Field(min_length=1, max_length=4_000_000)


class DeviceImportResult(BaseModel):
    created: int
    updated: int


class EventTypeIn(Input):
    """What an event type means: its 小类, its urgency, the confidence it needs."""

    label: str = Field(min_length=1, max_length=64)
    category_code: str = Field(min_length=1, max_length=32)
    urgency: Urgency = "normal"
    min_confidence: float = Field(ge=0, le=1, allow_inf_nan=False,
                                  description="Below it an event waits in the review list")
    is_active: bool = True


class EventTypeOut(BaseModel):
    event_type: str
    label: str
    category_code: str
    urgency: str
    min_confidence: float
    is_active: bool

    @classmethod
    def from_model(cls, row: DeviceEventType) -> EventTypeOut:
        return cls(event_type=row.event_type, label=row.label, category_code=row.category_code,
                   urgency=row.urgency, min_confidence=row.min_confidence,
                   is_active=row.is_active)


class EventTypeList(BaseModel):
    items: list[EventTypeOut]


class DeviceEventIn(Input):
    """An event from a camera or sensor platform (signed, docs/integrations.md)."""

    event_id: str = Field(pattern=CODE, description="The platform's own event id: the same id "
                          "again is the same event")
    device_code: str = Field(min_length=1, max_length=64)
    event_type: str = Field(min_length=1, max_length=32)
    occurred_at: AwareDatetime
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    snapshot: str | None = Field(default=None, description="The snapshot, a JPEG or PNG in "
                                 "base64 (standard alphabet), at most MEDIA_MAX_BYTES decoded")


class DeviceEventOut(BaseModel):
    event_id: str
    device_code: str
    event_type: str
    status: EventStatus
    ticket_id: int | None
    ticket_number: str | None
    is_new: bool = Field(description="false: this event id was received before; the same answer")


class ReviewItem(BaseModel):
    id: int
    event_id: str
    device_code: str
    device_name: str
    address: str
    event_type: str
    confidence: float
    occurred_at: datetime
    received_at: datetime
    snapshot: MediaOut | None

    @classmethod
    def from_model(cls, event: DeviceEvent, device: Device,
                   snapshot: MediaOut | None) -> ReviewItem:
        return cls(id=event.id, event_id=event.external_id, device_code=device.code,
                   device_name=device.name, address=device.address,
                   event_type=event.event_type, confidence=event.confidence,
                   occurred_at=event.occurred_at, received_at=event.received_at,
                   snapshot=snapshot)


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next: str | None


class DiscardIn(Input):
    reason: str = Field(default="", max_length=255)


class ReviewOut(BaseModel):
    id: int
    status: EventStatus
    ticket_id: int | None
    ticket_number: str | None


class HeartbeatIn(Input):
    """Devices alive now (a platform's periodic heartbeat, signed)."""

    devices: list[str] = Field(min_length=1, max_length=1000)


class HeartbeatOut(BaseModel):
    seen: int
    unknown: list[str] = Field(description="Codes not registered for this integration")
