"""The case-event feed upward: read from any cursor, every event exactly once, in order, by an
admin's token or a feed integration's signature, and with nobody's identity in it."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

from app.accounts.models import Role
from app.integrations import signing
from app.tickets.models import TicketEvent
from tests.factories import error_code, make_staff
from tests.integrations.helpers import Partner, register
from tests.support import base_settings
from tests.tickets.helpers import IN_CELL, report

FEED = "/api/v1/feed/events"
PHONE = "13905371234"


def signed_get(partner: Partner, params: dict) -> tuple[str, dict]:
    """The URL and headers of a signed GET: the signed body is the query string as sent."""
    query = urlencode(params)
    stamp, request_id = str(int(time.time())), uuid.uuid4().hex
    return f"{FEED}?{query}", {
        signing.HEADER_INTEGRATION: partner.code, signing.HEADER_TIMESTAMP: stamp,
        signing.HEADER_REQUEST_ID: request_id,
        signing.HEADER_SIGNATURE: signing.sign(partner.secret, timestamp=stamp,
                                               request_id=request_id, body=query.encode())}


async def read_all(client, headers, *, limit: int, cursor: str | None = None) -> tuple[list, str]:
    seen: list[dict] = []
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await client.get(FEED, headers=headers, params=params)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["cursor"]
        if page.json()["next"] is None:
            return seen, cursor


async def some_cases(client, city) -> list[int]:
    ids = [(await report(client, city.resident, "9901"))["id"] for _ in range(3)]
    filed = await client.post("/api/v1/hotline/cases", headers=city.dispatcher, json={
        "category_code": "9901", "description": "来电反映井盖松动", "location": IN_CELL,
        "caller_name": "刘先生", "caller_phone": PHONE})
    assert filed.status_code == 201
    return [*ids, filed.json()["ticket_id"]]


async def test_two_readers_from_two_cursors_see_every_event_once(client, city):
    base_settings(feed_settle_s=0)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    tickets = await some_cases(client, city)
    first = await client.get(FEED, headers=admin, params={"limit": 5})
    assert first.status_code == 200 and len(first.json()["items"]) == 5
    middle = first.json()["next"]
    # While they read, the case moves on: its new events arrive after the cursor, once.
    claimed = await client.post(f"/api/v1/tasks/{tickets[0]}/claim", headers=city.handler,
                                json={})
    assert claimed.status_code == 200
    reader_a, _ = await read_all(client, admin, limit=3)
    reader_b, _ = await read_all(client, admin, limit=4, cursor=middle)
    every = list(await TicketEvent.all().order_by("id").values_list("id", flat=True))
    ids_a = [e["event_id"] for e in reader_a]
    assert ids_a == every  # all of them, in order, none twice
    assert [e["event_id"] for e in first.json()["items"]] + \
        [e["event_id"] for e in reader_b] == every
    claim = [e for e in reader_a if e["action"] == "claim"]
    assert len(claim) == 1 and claim[0]["to_status"] == "claimed"
    assert claim[0]["actor_role"] == "handler" and claim[0]["grid_code"] == "990100001001001"
    hotline = [e for e in reader_a if e["source"] == "hotline"]
    assert hotline and hotline[0]["action"] == "submit" and hotline[0]["category_code"] == "9901"


async def test_a_reader_resumes_from_its_last_cursor_when_nothing_was_left(client, city):
    base_settings(feed_settle_s=0)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    tickets = await some_cases(client, city)
    seen, cursor = await read_all(client, admin, limit=50)
    again = await client.get(FEED, headers=admin, params={"cursor": cursor})
    assert again.json()["items"] == [] and again.json()["cursor"] == cursor
    await client.post(f"/api/v1/tasks/{tickets[1]}/claim", headers=city.handler, json={})
    more, _ = await read_all(client, admin, limit=50, cursor=cursor)
    assert [e["action"] for e in more] == ["claim"]


async def test_the_feed_names_nobody(client, city):
    base_settings(feed_settle_s=0)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    await some_cases(client, city)
    page = await client.get(FEED, headers=admin, params={"limit": 100})
    assert page.status_code == 200
    for secret in (PHONE, "刘先生", "李派遣", "人行道上的井盖松动了"):
        assert secret not in page.text
    assert not any(k in page.json()["items"][0] for k in ("reporter", "actor", "note"))


async def test_events_are_served_once_they_have_settled(client, city):
    base_settings(feed_settle_s=60)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    await some_cases(client, city)
    page = await client.get(FEED, headers=admin)
    assert page.json()["items"] == [] and page.json()["cursor"] is None


async def test_a_feed_integration_reads_by_signature_and_others_may_not(client, city):
    base_settings(feed_settle_s=0)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    await some_cases(client, city)
    platform = await register(client, code="city-platform", kind="feed", admin=admin)
    url, headers = signed_get(platform, {"limit": 100})
    page = await client.get(url, headers=headers)
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == await TicketEvent.all().count()
    replay = await client.get(url, headers=headers)
    assert replay.status_code == 409 and error_code(replay) == "replayed_request"
    # The query string is signed: another cursor under the same signature is refused.
    forged_url, forged = signed_get(platform, {"limit": 1})
    refused = await client.get(forged_url.replace("limit=1", "limit=2"), headers=forged)
    assert refused.status_code == 401 and error_code(refused) == "bad_signature"
    hotline = await register(client, code="hotline-jn", kind="hotline12345", admin=admin)
    url, headers = signed_get(hotline, {"limit": 1})
    assert error_code(await client.get(url, headers=headers)) == "wrong_integration_kind"
    assert (await client.get(FEED)).status_code == 401
    assert (await client.get(FEED, headers=city.dispatcher)).status_code == 403


async def test_an_area_admin_reads_only_their_areas_events(client, city):
    base_settings(feed_settle_s=0)
    await some_cases(client, city)
    _, elsewhere = await make_staff(Role.ADMIN, area_code="990100002")
    page = await client.get(FEED, headers=elsewhere)
    assert page.status_code == 200 and page.json()["items"] == []
    _, here = await make_staff(Role.ADMIN, area_code="990100001")
    assert len((await client.get(FEED, headers=here, params={"limit": 100})).json()["items"]) \
        == await TicketEvent.all().count()


async def test_the_feed_is_pushed_page_by_page_in_order_despite_failures(client, city):
    from datetime import UTC, datetime, timedelta

    from app import jobs as app_jobs
    from app.integrations import feed
    from app.notifications.delivery import DeliveryConfig
    from tests.integrations.fake12345 import fake_12345

    base_settings(feed_settle_s=0)
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    tickets = await some_cases(client, city)
    config = DeliveryConfig(backoff_base_s=30)
    with fake_12345(failures=2) as fake:
        await register(client, code="city-platform", kind="feed", admin=admin,
                       endpoint_url=fake.url)
        assert await feed.push_round(limit=5) == 1
        now = datetime.now(UTC)
        await app_jobs.deliver_batch(worker_id="t", now=now, config=config)  # fails
        assert await feed.push_round(limit=5) == 0  # the next page waits for this one
        await client.post(f"/api/v1/tasks/{tickets[0]}/claim", headers=city.handler, json={})
        for later in (31, 95):  # fails again, then accepted
            await app_jobs.deliver_batch(worker_id="t", now=now + timedelta(seconds=later),
                                         config=config)
        while await feed.push_round(limit=5):
            await app_jobs.deliver_batch(worker_id="t", config=config)
        assert await feed.push_round(limit=5) == 0
    pushed = [e["event_id"] for page in fake.accepted for e in page["body"]["items"]]
    every = list(await TicketEvent.all().order_by("id").values_list("id", flat=True))
    assert pushed == every
    assert fake.seen == len(fake.accepted) + 2
    headers = {k.lower(): v for k, v in fake.accepted[0]["headers"].items()}
    assert headers["x-gongzhi-integration"] == "city-platform"
