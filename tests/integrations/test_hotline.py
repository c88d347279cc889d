"""热线工单: a dispatcher files a caller's case; 12345 pushes orders (one ticket per order);
every status change goes back to 12345 once, through the outbox; 回访 is recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app import jobs as app_jobs
from app.accounts.models import Role
from app.integrations import signing
from app.notifications.delivery import DeliveryConfig
from app.notifications.models import Outbox, OutboxStatus
from app.tickets.models import Ticket, TicketEvent
from tests.factories import error_code, make_staff
from tests.integrations.fake12345 import fake_12345
from tests.integrations.helpers import register, signed
from tests.tickets.helpers import IN_CELL

PHONE = "13905371234"
ORDERS = "/api/v1/hooks/hotline12345/orders"


def call(**extra):
    return {"category_code": "9901", "description": "来电反映：古槐路井盖松动",
            "location": IN_CELL, "address": "古槐路 12 号", "caller_name": "刘先生",
            "caller_phone": PHONE, "wants_callback": True, **extra}


def order(number: str = "JN20261205-0001", **extra):
    return {**call(**extra), "order_number": number}


async def file(client, city, **extra) -> dict:
    answer = await client.post("/api/v1/hotline/cases", headers=city.dispatcher,
                               json=call(**extra))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def close(client, city, ticket_id: int) -> None:
    for path, headers, body in (
            (f"/api/v1/tasks/{ticket_id}/claim", city.handler, {}),
            (f"/api/v1/tasks/{ticket_id}/handle", city.handler, {"note": "已更换井盖"}),
            (f"/api/v1/tickets/{ticket_id}/verify", city.worker, {"passed": True})):
        answer = await client.post(path, headers=headers, json=body)
        assert answer.status_code == 200, answer.text


async def test_a_dispatcher_files_a_call_as_a_hotline_case_routed_at_once(client, city):
    case = await file(client, city)
    assert case["caller_phone"] == PHONE and case["caller_name"] == "刘先生"
    assert case["status"] == "dispatched"  # 立案 by the dispatcher, then routed by the rule
    ticket = await client.get(f"/api/v1/tickets/{case['ticket_id']}", headers=city.dispatcher)
    assert ticket.status_code == 200
    assert ticket.json()["source"] == "hotline"
    row = await Ticket.get(id=case["ticket_id"])
    assert row.reporter_id is None  # not stored as a resident's report
    first = await TicketEvent.filter(ticket_id=row.id).order_by("id").first()
    assert first is not None and first.actor_role == "dispatcher"


async def test_only_dispatchers_file_hotline_cases(client, city):
    for headers in (city.resident, city.handler, city.community_staff):
        answer = await client.post("/api/v1/hotline/cases", headers=headers, json=call())
        assert answer.status_code == 403, answer.text


async def test_the_callers_details_are_for_staff_only(client, city):
    case = await file(client, city, is_public=True)
    ticket_id = case["ticket_id"]
    for headers in (city.dispatcher, city.community_staff):
        seen = await client.get(f"/api/v1/hotline/cases/{ticket_id}", headers=headers)
        assert seen.status_code == 200 and seen.json()["caller_phone"] == PHONE
    assert (await client.get(f"/api/v1/hotline/cases/{ticket_id}",
                             headers=city.handler)).status_code == 403
    assert (await client.get(f"/api/v1/hotline/cases/{ticket_id}",
                             headers=city.resident)).status_code == 404
    # Nowhere else: the ticket itself, the public map, the statistics export.
    views = [
        await client.get(f"/api/v1/tickets/{ticket_id}", headers=city.dispatcher),
        await client.get(f"/api/v1/tickets/{ticket_id}", headers=city.handler),
        await client.get("/api/v1/tickets/public", headers=city.resident, params=IN_CELL),
        await client.get("/api/v1/tickets", headers=city.dispatcher,
                         params={"area": "990100"}),
        await client.get("/api/v1/stats/export.csv", headers=city.dispatcher,
                         params={"area": "990100"}),
    ]
    for view in views:
        assert view.status_code == 200, view.text
        assert PHONE not in view.text and "刘先生" not in view.text


async def test_the_same_12345_order_pushed_twice_is_one_ticket(client, city):
    partner = await register(client, admin=(await make_staff(Role.ADMIN, area_code="990100"))[1])
    first = await client.post(ORDERS, **signed(partner, order()))
    assert first.status_code == 200, first.text
    assert first.json()["is_new"] is True
    again = await client.post(ORDERS, **signed(partner, order()))
    assert again.status_code == 200
    assert again.json()["is_new"] is False
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert await Ticket.filter(source="hotline").count() == 1
    case = await client.get(f"/api/v1/hotline/cases/{first.json()['ticket_id']}",
                            headers=city.dispatcher)
    assert case.json()["order_number"] == "JN20261205-0001"
    assert case.json()["integration"] == "hotline-jn"


async def test_simultaneous_pushes_of_one_order_make_one_ticket(client, city):
    partner = await register(client, admin=(await make_staff(Role.ADMIN, area_code="990100"))[1])
    answers = await asyncio.gather(*(client.post(ORDERS, **signed(partner, order("RACE-1")))
                                     for _ in range(6)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["ticket_id"] for a in answers}) == 1
    assert sum(a.json()["is_new"] for a in answers) == 1
    assert await Ticket.filter(source="hotline").count() == 1


async def test_a_replayed_push_is_refused_and_a_camera_may_not_push_orders(client, city):
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    partner = await register(client, admin=admin)
    request = signed(partner, order("REPLAY-1"))
    assert (await client.post(ORDERS, **request)).status_code == 200
    replay = await client.post(ORDERS, **request)
    assert replay.status_code == 409 and error_code(replay) == "replayed_request"
    camera = await register(client, code="cam-platform", kind="camera", admin=admin)
    refused = await client.post(ORDERS, **signed(camera, order("CAM-1")))
    assert refused.status_code == 403 and error_code(refused) == "wrong_integration_kind"
    bad = await client.post(ORDERS, **signed(partner, {"order_number": "X"}))
    assert bad.status_code == 422


async def _deliver_until(now: datetime, rounds: list[timedelta],
                         config: DeliveryConfig) -> None:
    for later in rounds:
        await app_jobs.deliver_batch(worker_id="test", limit=100, now=now + later,
                                     config=config)


async def test_each_status_change_reaches_12345_once_even_after_two_failures(client, city):
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    with fake_12345(failures=2) as fake:
        partner = await register(client, admin=admin, endpoint_url=fake.url)
        pushed = await client.post(ORDERS, **signed(partner, order("LOOP-1")))
        ticket_id = pushed.json()["ticket_id"]
        opened = await TicketEvent.filter(ticket_id=ticket_id).order_by("-id").first()
        assert opened is not None  # the events of its opening are answered, not pushed
        claimed = await client.post(f"/api/v1/tasks/{ticket_id}/claim", headers=city.handler,
                                    json={})
        assert claimed.status_code == 200
        config = DeliveryConfig(backoff_base_s=30)
        now = datetime.now(UTC)
        # Fails, fails (backing off 30 s, then 60 s), then accepted; later rounds send nothing.
        await _deliver_until(now, [timedelta(0), timedelta(seconds=31),
                                   timedelta(seconds=95), timedelta(minutes=10),
                                   timedelta(minutes=30)], config)
        assert fake.seen == 3
        assert [p["body"]["status"] for p in fake.accepted] == ["claimed"]
        push = fake.accepted[0]
        assert push["body"]["order_number"] == "LOOP-1"
        assert push["body"]["from_status"] == "dispatched"
        headers = {k.lower(): v for k, v in push["headers"].items()}
        assert headers["x-gongzhi-signature"] == signing.sign(
            partner.secret, timestamp=headers["x-gongzhi-timestamp"],
            request_id=headers["x-gongzhi-request-id"], body=push["raw"])
        handled = await client.post(f"/api/v1/tasks/{ticket_id}/handle", headers=city.handler,
                                    json={"note": "已更换井盖"})
        assert handled.status_code == 200
        await _deliver_until(datetime.now(UTC), [timedelta(0), timedelta(minutes=5)], config)
        # Rows are delivered side by side: the platform orders them by the ticket's version.
        pushes = sorted(fake.accepted, key=lambda p: p["body"]["version"])
        assert len({p["body"]["version"] for p in pushes}) == len(pushes)
        statuses = [p["body"]["status"] for p in pushes]
        changes = await TicketEvent.filter(ticket_id=ticket_id, id__gt=opened.id).order_by(
            "id").values_list("from_status", "to_status")
        # One push per status change since it opened, in order (claim, handle, and the
        # verification the handling asks for).
        assert statuses == [to for frm, to in changes if frm != to]
        assert statuses[:2] == ["claimed", "handled"]
        assert len({p["headers"]["X-Gongzhi-Request-Id"] for p in fake.accepted}) == len(statuses)


async def test_a_push_that_keeps_failing_is_parked_and_shown_to_admins(client, city):
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    with fake_12345(failures=1000) as fake:
        partner = await register(client, admin=admin, endpoint_url=fake.url)
        pushed = await client.post(ORDERS, **signed(partner, order("PARK-1")))
        ticket_id = pushed.json()["ticket_id"]
        await client.post(f"/api/v1/tasks/{ticket_id}/claim", headers=city.handler, json={})
        config = DeliveryConfig(max_attempts=3, backoff_base_s=1, backoff_cap_s=1)
        await _deliver_until(datetime.now(UTC), [timedelta(seconds=s) for s in (0, 5, 10, 15)],
                             config)
        assert fake.seen == 3
    parked = await client.get("/api/v1/admin/outbox", headers=admin,
                              params={"status": "parked"})
    assert parked.status_code == 200
    rows = [r for r in parked.json()["items"] if r["kind"] == "hotline.status_push"]
    assert len(rows) == 1 and "HTTP 500" in rows[0]["last_error"]
    assert await Outbox.filter(kind="hotline.status_push", status=OutboxStatus.PARKED).count() == 1


async def test_a_dispatchers_case_is_not_pushed_anywhere(client, city):
    case = await file(client, city)
    await client.post(f"/api/v1/tasks/{case['ticket_id']}/claim", headers=city.handler, json={})
    assert await Outbox.filter(kind="hotline.status_push").count() == 0


async def test_the_callback_is_recorded_once_after_the_case_closed(client, city):
    case = await file(client, city)
    ticket_id = case["ticket_id"]
    path = f"/api/v1/hotline/cases/{ticket_id}/callback"
    early = await client.post(path, headers=city.dispatcher, json={"result": "satisfied"})
    assert early.status_code == 409 and error_code(early) == "not_closed"
    await close(client, city, ticket_id)
    assert (await client.post(path, headers=city.community_staff,
                              json={"result": "satisfied"})).status_code == 403
    done = await client.post(path, headers=city.dispatcher,
                             json={"result": "basically_satisfied", "note": "希望再快一点"})
    assert done.status_code == 200, done.text
    assert done.json()["callback_result"] == "basically_satisfied"
    assert done.json()["callback_at"]
    twice = await client.post(path, headers=city.dispatcher, json={"result": "unsatisfied"})
    assert twice.status_code == 409 and error_code(twice) == "callback_recorded"


async def test_a_call_filed_twice_with_one_key_is_one_case(client, city):
    headers = {**city.dispatcher, "Idempotency-Key": "call-2026-12-05-0001"}
    first, twin = await asyncio.gather(
        client.post("/api/v1/hotline/cases", headers=headers, json=call()),
        client.post("/api/v1/hotline/cases", headers=headers, json=call()))
    answers = sorted([first, twin], key=lambda a: a.headers.get("Idempotent-Replayed", ""))
    # The twin waits for the first and replays it, or hears "in progress" and may retry.
    assert answers[0].status_code == 201, answers[0].text
    assert answers[1].status_code in (201, 409), answers[1].text
    retry = await client.post("/api/v1/hotline/cases", headers=headers, json=call())
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["ticket_id"] == answers[0].json()["ticket_id"]
    assert await Ticket.filter(source="hotline").count() == 1
    other = await client.post("/api/v1/hotline/cases", headers=headers,
                              json=call(description="另一通来电：路灯不亮"))
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
