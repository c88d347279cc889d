"""Cameras and sensors in tests: a platform registered through the admin API, devices and
event types set up as an admin does, events signed as the platform sends them."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from PIL import Image

from app.accounts.models import Role
from tests.factories import make_staff
from tests.integrations.helpers import Partner, register, signed
from tests.tickets.helpers import IN_CELL

EVENTS = "/api/v1/hooks/devices/events"
HEARTBEATS = "/api/v1/hooks/devices/heartbeats"
DEVICES = "/api/v1/admin/devices"
TYPES = "/api/v1/admin/device-event-types"
REVIEW = "/api/v1/devices/events/review"
GPS_MARKER = "GONGZHI-CAMERA-GPS-MARKER"


async def platform(client: httpx.AsyncClient, *, code: str = "cam-hk", kind: str = "camera",
                   admin: dict[str, str] | None = None, **extra: Any) -> Partner:
    """A camera platform with the event types the tests use (as an admin sets them)."""
    if admin is None:
        _, admin = await make_staff(Role.ADMIN, area_code="990100", username=f"admin-{code}")
    partner = await register(client, code=code, kind=kind, admin=admin, **extra)
    for event_type, category, urgency, threshold in (("illegal_parking", "9901", "normal", 0.7),
                                                      ("garbage_overflow", "9904", "urgent", 0.6)):
        answer = await client.put(f"{TYPES}/{event_type}", headers=admin, json={
            "label": "乱停车" if event_type == "illegal_parking" else "垃圾满溢",
            "category_code": category, "urgency": urgency, "min_confidence": threshold})
        assert answer.status_code == 200, answer.text
    return partner


async def add_device(client: httpx.AsyncClient, partner: Partner, code: str = "CAM-0001",
                     **extra: Any) -> dict[str, Any]:
    answer = await client.post(DEVICES, headers=partner.admin, json={
        "code": code, "name": f"古槐路口 {code}", "kind": "camera", "vendor": "海康威视",
        "location": IN_CELL, "address": "古槐路与柳园路交叉口", "integration": partner.code,
        **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def event(device: str = "CAM-0001", event_type: str = "illegal_parking", *,
          confidence: float = 0.93, snapshot: bytes | None = None,
          event_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id or uuid.uuid4().hex, "device_code": device,
                            "event_type": event_type, "confidence": confidence,
                            "occurred_at": datetime.now(UTC).isoformat()}
    if snapshot is not None:
        body["snapshot"] = base64.b64encode(snapshot).decode()
    return body


async def send(client: httpx.AsyncClient, partner: Partner, body: dict[str, Any],
               **kwargs: Any) -> httpx.Response:
    return await client.post(EVENTS, **signed(partner, body, **kwargs))


def snapshot_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG as a camera's SDK may store it: EXIF with the camera's GPS position."""
    image = Image.new("RGB", size, "gray")
    exif = Image.Exif()
    exif[0x010F] = "CAMERA-MAKE-MARKER"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (35.0, 24.0, 18.0), "E", (116.0, 30.0, 18.0)
    gps[18] = GPS_MARKER
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    data = out.getvalue()
    assert GPS_MARKER.encode() in data  # the fixture carries what it claims
    return data
