"""A camera storm (issue 14): 1,000 events from 100 devices, sent concurrently and partly twice,
make exactly the right cases; every event is recorded once, none is dropped, and every
snapshot is on its case without its metadata."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from app.core.storage import local_path
from app.devices.models import DeviceCase, DeviceEvent
from app.media.models import Media
from app.tickets.models import Ticket, TicketMedia
from tests.devices.helpers import DEVICES, GPS_MARKER, event, platform, send, snapshot_with_gps
from tests.tickets.helpers import IN_CELL

DEVICE_COUNT, PER_DEVICE, BATCH = 100, 10, 50
busy: Counter[str] = Counter()


async def deliver(client, partner, body: dict):
    """Send as a platform should: a 503 (our photo workers are full) is sent again shortly,
    with the same event id; anything else is the answer."""
    for _ in range(50):
        answer = await send(client, partner, body)
        if answer.status_code != 503:
            return answer
        busy[answer.json()["error"]["code"]] += 1
        await asyncio.sleep(0.05)
    return answer


def storm() -> list[dict]:
    """Per device: six parking events (one doubtful), four garbage events (all doubtful on
    every tenth device). So 100 parking cases + 90 garbage cases, 140 events for review."""
    photo = snapshot_with_gps((16, 16))
    events = []
    for i in range(DEVICE_COUNT):
        for j in range(PER_DEVICE):
            kind = "illegal_parking" if j < 6 else "garbage_overflow"
            doubtful = j == 5 or (kind == "garbage_overflow" and i % 10 == 0)
            events.append(event(f"CAM-{i:04d}", kind, confidence=0.3 if doubtful else 0.95,
                                snapshot=photo, event_id=f"EV-{i:04d}-{j:02d}"))
    random.Random(14).shuffle(events)
    return events


async def test_a_storm_of_1000_events_from_100_devices_makes_the_right_cases(client, city):
    partner = await platform(client, rate_per_minute=100_000)
    imported = await client.post(f"{DEVICES}/import", headers=partner.admin, json={
        "format": "csv", "content": "code,name,kind,lng,lat,crs,integration\n" + "".join(
            f"CAM-{i:04d},路口 {i},camera,{IN_CELL['lng']},{IN_CELL['lat']},wgs84,cam-hk\n"
            for i in range(DEVICE_COUNT))})
    assert imported.status_code == 200 and imported.json()["created"] == DEVICE_COUNT
    events = storm()
    # A hundred of them sent twice, as a platform retrying after a lost answer does.
    sends = events + random.Random(5).sample(events, 100)
    answers = []
    for start in range(0, len(sends), BATCH):
        answers += await asyncio.gather(*(deliver(client, partner, body)
                                          for body in sends[start:start + BATCH]))
    assert [a.status_code for a in answers] == [200] * len(sends), \
        [a.text for a in answers if a.status_code != 200][:3]
    assert sum(a.json()["is_new"] for a in answers) == len(events)  # repeats answered as such
    assert set(busy) <= {"image_workers_busy"}  # the only refusal, and it was retried

    # Every event once, none dropped.
    recorded = await DeviceEvent.all().values_list("external_id", flat=True)
    assert sorted(recorded) == sorted(e["event_id"] for e in events)
    statuses = Counter(await DeviceEvent.all().values_list("status", flat=True))
    assert statuses == {"opened": 190, "attached": 670, "review": 140}

    # One case per device and type with a confident event, each event on its own case.
    assert await Ticket.filter(source="camera").count() == 190
    cases = {(c.device_id, c.event_type): c.ticket_id for c in await DeviceCase.all()}
    assert len(cases) == 190 and len(set(cases.values())) == 190
    for row in await DeviceEvent.exclude(status="review"):
        assert row.ticket_id == cases[(row.device_id, row.event_type)]
    assert await DeviceEvent.filter(status="review", ticket_id__isnull=False).count() == 0

    # Every confident snapshot is on its case, re-encoded without the camera's GPS.
    assert await TicketMedia.filter(ticket_id__in=list(cases.values())).count() == 860
    assert await Media.all().count() == 1000  # the repeats' copies were not kept
    for media in await Media.all():
        assert GPS_MARKER.encode() not in local_path(media.key).read_bytes()
