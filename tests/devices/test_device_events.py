"""A camera platform posts signed events: each is recorded once, its snapshot stripped of
metadata, and it opens a case, joins the open case of its device and type, or waits for a
dispatcher's review; anything wrong is refused in the one envelope."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from datetime import UTC, datetime, timedelta

from PIL import Image

from app.accounts.models import Role
from app.core.storage import local_path
from app.devices.models import Device, DeviceCase, DeviceEvent
from app.media.models import Media
from app.tickets.models import Ticket, TicketEvent, TicketMedia
from tests.devices.helpers import (
    GPS_MARKER,
    REVIEW,
    add_device,
    event,
    platform,
    send,
    snapshot_with_gps,
)
from tests.factories import error_code, make_staff
from tests.integrations.helpers import register, signed
from tests.support import base_settings


async def test_a_confident_event_opens_a_camera_case_accepted_and_routed(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    answer = await send(client, partner, event(snapshot=snapshot_with_gps()))
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["status"] == "opened" and out["is_new"] is True and out["ticket_number"]
    ticket = await client.get(f"/api/v1/tickets/{out['ticket_id']}", headers=city.dispatcher)
    assert ticket.status_code == 200, ticket.text
    detail = ticket.json()
    assert detail["source"] == "camera" and detail["status"] == "dispatched"
    assert detail["category"]["code"] == "9901" and detail["address"] == "古槐路与柳园路交叉口"
    assert len(detail["media"]) == 1 and detail["media"][0]["stage"] == "report"
    assert [e["action"] for e in detail["timeline"]][:3] == ["submit", "auto_accept", "dispatch"]
    row = await Ticket.get(id=out["ticket_id"])
    assert row.reporter_id is None and row.is_public is False and row.unit_id == city.department.id
    first = await TicketEvent.filter(ticket_id=row.id).order_by("id").first()
    assert first is not None and first.actor_role == "system" and first.actor_id is None
    assert (await Device.get(code="CAM-0001")).last_seen_at is not None
    # The handlers of the department hear of the new task, as for any dispatched case.
    task = await client.get("/api/v1/tasks", headers=city.handler)
    assert row.id in [t["id"] for t in task.json()["items"]]


async def test_the_snapshot_loses_its_gps_and_every_other_metadata(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    answer = await send(client, partner, event(snapshot=snapshot_with_gps()))
    assert answer.status_code == 200, answer.text
    detail = (await client.get(f"/api/v1/tickets/{answer.json()['ticket_id']}",
                               headers=city.dispatcher)).json()
    url = detail["media"][0]["url"]
    served = await client.get(url.removeprefix(str(client.base_url)))
    assert served.status_code == 200
    stored = served.content
    assert GPS_MARKER.encode() not in stored and b"CAMERA-MAKE-MARKER" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert not image.getexif() and "exif" not in image.info
    media = await Media.get(id=detail["media"][0]["id"])
    assert local_path(media.key).read_bytes() == stored


async def test_a_storm_from_one_device_joins_the_open_case_until_the_window_passes(client, city):
    partner = await platform(client)
    await add_device(client, partner, code="CAM-0001")
    await add_device(client, partner, code="CAM-0002")
    answers = [await send(client, partner, event(snapshot=snapshot_with_gps()))
               for _ in range(3)]
    assert [a.json()["status"] for a in answers] == ["opened", "attached", "attached"]
    assert len({a.json()["ticket_id"] for a in answers}) == 1
    ticket_id = answers[0].json()["ticket_id"]
    # Every snapshot is on the case.
    assert await TicketMedia.filter(ticket_id=ticket_id).count() == 3
    detail = await client.get(f"/api/v1/tickets/{ticket_id}", headers=city.dispatcher)
    assert len(detail.json()["media"]) == 3
    # Another type, another device: each its own case.
    other_type = await send(client, partner, event(event_type="garbage_overflow"))
    other_device = await send(client, partner, event(device="CAM-0002"))
    assert {other_type.json()["status"], other_device.json()["status"]} == {"opened"}
    assert len({ticket_id, other_type.json()["ticket_id"],
                other_device.json()["ticket_id"]}) == 3
    urgent = await Ticket.get(id=other_type.json()["ticket_id"])
    assert urgent.urgency == "urgent"
    # Thirty-one minutes later the same device and type is a new case.
    await DeviceCase.filter(ticket_id=ticket_id).update(
        last_event_at=datetime.now(UTC) - timedelta(seconds=1860))
    later = await send(client, partner, event())
    assert later.json()["status"] == "opened" and later.json()["ticket_id"] != ticket_id
    assert await Ticket.filter(source="camera").count() == 4


async def test_the_window_is_a_setting(client, city):
    base_settings(device_event_window_s=0)
    partner = await platform(client)
    await add_device(client, partner)
    first = await send(client, partner, event())
    await asyncio.sleep(0.01)
    second = await send(client, partner, event())
    assert [first.json()["status"], second.json()["status"]] == ["opened", "opened"]


async def test_simultaneous_events_of_one_device_and_type_make_one_case(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    answers = await asyncio.gather(*(send(client, partner, event()) for _ in range(12)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["status"] for a in answers) == ["attached"] * 11 + ["opened"]
    assert len({a.json()["ticket_id"] for a in answers}) == 1
    assert await Ticket.filter(source="camera").count() == 1
    assert await DeviceEvent.all().count() == 12


async def test_an_event_id_sent_again_is_the_same_event(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    body = event(event_id="HK-20261205-0001", snapshot=snapshot_with_gps())
    first = await send(client, partner, body)
    again = await send(client, partner, body)  # a retry with a fresh request id
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "is_new": False}
    twins = await asyncio.gather(*(send(client, partner, event(event_id="HK-TWIN-0001"))
                                   for _ in range(5)))
    assert sum(t.json()["is_new"] for t in twins) == 1
    assert await DeviceEvent.all().count() == 2
    assert await Media.all().count() == 1  # the retry's copy of the snapshot is not kept
    replay = await send(client, partner, body, request_id="replayed-request-0001")
    assert replay.status_code == 200
    replayed = await send(client, partner, body, request_id="replayed-request-0001")
    assert replayed.status_code == 409 and error_code(replayed) == "replayed_request"


async def test_a_doubtful_event_waits_for_a_dispatcher_who_confirms_or_discards(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    doubtful = await send(client, partner, event(confidence=0.4, snapshot=snapshot_with_gps()))
    assert doubtful.status_code == 200
    assert doubtful.json()["status"] == "review" and doubtful.json()["ticket_id"] is None
    false_alarm = await send(client, partner, event(event_type="garbage_overflow",
                                                    confidence=0.3))
    assert await Ticket.all().count() == 0
    listed = await client.get(REVIEW, headers=city.dispatcher)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [i["event_id"] for i in items] == [doubtful.json()["event_id"],
                                             false_alarm.json()["event_id"]]
    assert items[0]["snapshot"]["url"] and items[0]["device_code"] == "CAM-0001"
    assert (await client.get(REVIEW, headers=city.handler)).status_code == 403
    _, far = await make_staff(Role.DISPATCHER, area_code="990100002")
    assert (await client.get(REVIEW, headers=far)).json()["items"] == []
    first_id, second_id = items[0]["id"], items[1]["id"]
    assert (await client.post(f"/api/v1/devices/events/{first_id}/confirm",
                              headers=far)).status_code == 404
    confirmed = await client.post(f"/api/v1/devices/events/{first_id}/confirm",
                                  headers=city.dispatcher)
    assert confirmed.status_code == 200, confirmed.text
    ticket = await Ticket.get(id=confirmed.json()["ticket_id"])
    assert ticket.source == "camera" and ticket.status == "dispatched"
    accept = await TicketEvent.get(ticket_id=ticket.id, action="accept")
    assert accept.actor_role == "dispatcher"
    assert await TicketMedia.filter(ticket_id=ticket.id).count() == 1
    twice = await client.post(f"/api/v1/devices/events/{first_id}/confirm",
                              headers=city.dispatcher)
    assert twice.status_code == 409 and error_code(twice) == "event_reviewed"
    discarded = await client.post(f"/api/v1/devices/events/{second_id}/discard",
                                  headers=city.dispatcher, json={"reason": "树影误报"})
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    late = await client.post(f"/api/v1/devices/events/{second_id}/confirm",
                             headers=city.dispatcher)
    assert late.status_code == 409
    assert (await client.get(REVIEW, headers=city.dispatcher)).json()["items"] == []
    assert await Ticket.all().count() == 1


async def test_refusals_say_what_is_wrong(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    await add_device(client, partner, code="CAM-OFF", is_active=False)
    hotline = await register(client, code="hotline-jn", kind="hotline12345",
                             admin=partner.admin)
    other = await register(client, code="cam-dh", kind="camera", admin=partner.admin)
    cases = [
        (await send(client, partner, event(), secret="not-the-secret"), 401, "bad_signature"),
        (await send(client, partner, event(), timestamp=int(time.time()) - 600), 401,
         "stale_timestamp"),
        (await client.post("/api/v1/hooks/devices/events", **signed(hotline, event())), 403,
         "wrong_integration_kind"),
        (await client.post("/api/v1/hooks/devices/events", **signed(other, event())), 422,
         "unknown_device"),
        (await send(client, partner, event(device="CAM-9999")), 422, "unknown_device"),
        (await send(client, partner, event(device="CAM-OFF")), 409, "device_inactive"),
        (await send(client, partner, event(event_type="smoke")), 422, "unknown_event_type"),
        (await send(client, partner, {**event(), "snapshot": "not base64!"}), 422,
         "invalid_snapshot"),
        (await send(client, partner, {**event(), "snapshot": base64.b64encode(
            b"GIF89a" + b"\0" * 64).decode()}), 415, "unsupported_media_type"),
        (await send(client, partner, {**event(), "confidence": 1.5}), 422, None),
        (await send(client, partner, {**event(), "occurred_at": "2026-12-05T10:00:00"}), 422,
         None),
        (await send(client, partner, {k: v for k, v in event().items() if k != "device_code"}),
         422, None),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        if code is not None:
            assert error_code(answer) == code
    base_settings(media_max_bytes=1000)
    too_big = await send(client, partner, event(snapshot=snapshot_with_gps((400, 300))))
    assert too_big.status_code == 413, too_big.text
    assert await DeviceEvent.all().count() == 0 and await Ticket.all().count() == 0


async def test_an_event_after_its_case_was_closed_opens_a_new_one(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    first = (await send(client, partner, event())).json()
    ticket_id = first["ticket_id"]
    for path, headers, body in (
            (f"/api/v1/tasks/{ticket_id}/claim", city.handler, {}),
            (f"/api/v1/tasks/{ticket_id}/handle", city.handler, {"note": "已拖走车辆"}),
            (f"/api/v1/tickets/{ticket_id}/verify", city.worker, {"passed": True})):
        answer = await client.post(path, headers=headers, json=body)
        assert answer.status_code == 200, answer.text
    assert (await Ticket.get(id=ticket_id)).status == "closed"
    again = (await send(client, partner, event())).json()  # within the window
    assert again["status"] == "opened" and again["ticket_id"] != ticket_id
    joined = (await send(client, partner, event())).json()
    assert joined["status"] == "attached" and joined["ticket_id"] == again["ticket_id"]
