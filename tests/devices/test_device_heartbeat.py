"""A device that falls silent is reported to the admins of its area, once per silence; an
event or a heartbeat from its platform ends the silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import jobs as app_jobs
from app.accounts.models import Role
from app.devices.jobs import report_silent
from app.notifications.models import Outbox
from tests.devices.helpers import DEVICES, HEARTBEATS, add_device, event, platform, send
from tests.factories import make_staff
from tests.integrations.helpers import signed


async def test_a_silent_device_is_reported_to_its_admins_once_per_silence(client, city):
    partner = await platform(client)
    await add_device(client, partner, code="CAM-0001")
    await add_device(client, partner, code="CAM-OFF", is_active=False)
    city_admin, city_admin_headers = await make_staff(Role.ADMIN)
    far_admin, _ = await make_staff(Role.ADMIN, area_code="990100002")
    now = datetime.now(UTC)
    assert await report_silent(now=now + timedelta(hours=23)) == 0  # not silent long enough
    assert await report_silent(now=now + timedelta(hours=25)) == 1  # the inactive one is not
    assert await report_silent(now=now + timedelta(hours=26)) == 0  # once per silence
    rows = await Outbox.filter(kind="device.silent").values_list("recipient_id", flat=True)
    assert far_admin.id not in rows and city_admin.id in rows and len(rows) == 2
    shown = await client.get(f"{DEVICES}/CAM-0001", headers=partner.admin)
    assert shown.json()["is_silent"] is True
    await app_jobs.drain(worker_id="test")
    messages = await client.get("/api/v1/messages", headers=city_admin_headers)
    assert messages.status_code == 200
    assert [m["title"] for m in messages.json()["items"]] == ["设备长时间未上报"]
    assert "CAM-0001" in messages.json()["items"][0]["body"]

    # Its platform says it is alive: the silence ends, and a later one is reported again.
    beat = await client.post(HEARTBEATS, **signed(partner, {"devices": ["CAM-0001",
                                                                        "CAM-9999"]}))
    assert beat.status_code == 200, beat.text
    assert beat.json() == {"seen": 1, "unknown": ["CAM-9999"]}
    shown = await client.get(f"{DEVICES}/CAM-0001", headers=partner.admin)
    assert shown.json()["is_silent"] is False and shown.json()["last_seen_at"]
    assert await report_silent(now=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert await report_silent(now=datetime.now(UTC) + timedelta(hours=48)) == 1
    assert await Outbox.filter(kind="device.silent").count() == 4


async def test_an_event_counts_as_a_sign_of_life(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    assert await report_silent(now=datetime.now(UTC) + timedelta(days=2)) == 1
    answer = await send(client, partner, event(confidence=0.2))  # even one left for review
    assert answer.status_code == 200
    shown = await client.get(f"{DEVICES}/CAM-0001", headers=partner.admin)
    assert shown.json()["is_silent"] is False


async def test_a_heartbeat_is_signed_like_any_hook(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    forged = await client.post(HEARTBEATS, **signed(partner, {"devices": ["CAM-0001"]},
                                                    secret="forged"))
    assert forged.status_code == 401
    empty = await client.post(HEARTBEATS, **signed(partner, {"devices": []}))
    assert empty.status_code == 422
