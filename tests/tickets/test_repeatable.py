"""Repeatable actions (issue 16): a retry after a lost answer answers as the first did."""

import asyncio
import io

from PIL import Image

from app.tickets.models import Ticket, TicketEvent
from tests.factories import error_code
from tests.tickets.helpers import IN_CELL, report


async def post(client, path, headers, key=None, **body):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return await client.post(f"/api/v1{path}", json=body, headers=headers)


async def photo(client, headers, purpose="report") -> int:
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(image, "JPEG")
    started = await client.post("/api/v1/media/uploads", json={"purpose": purpose},
                                headers=headers)
    media_id = started.json()["media_id"]
    sent = await client.post(f"/api/v1/media/uploads/{media_id}/file", headers=headers,
                             files={"file": ("photo.jpg", image.getvalue(), "image/jpeg")})
    assert sent.status_code < 300, sent.text
    return media_id


def self_disposal(**extra):
    return {"category_code": "9904", "description": "路口堆放的建筑垃圾", "note": "已清运",
            "location": IN_CELL, **extra}


async def test_a_claim_retried_after_a_lost_answer_is_200_not_409(client, city):
    ticket = await report(client, city.resident, "9904")
    tid, version = ticket["id"], ticket["version"]
    first = await post(client, f"/tasks/{tid}/claim", city.worker, version=version)
    assert first.status_code == 200
    # The answer was lost (503 on a dropped connection): the app retries what it sent.
    again = await post(client, f"/tasks/{tid}/claim", city.worker, version=version)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "claimed" and again.json()["version"] == first.json()["version"]
    assert await TicketEvent.filter(ticket_id=tid, action="claim").count() == 1
    # Without a version too: the claimant claims a task they hold.
    assert (await post(client, f"/tasks/{tid}/claim", city.worker)).status_code == 200
    # Another worker still loses, as before.
    other = await post(client, f"/tasks/{tid}/claim", city.worker2, version=version)
    assert other.status_code == 409 and error_code(other) == "already_claimed"


async def test_a_handle_retried_by_the_same_worker_answers_with_the_ticket(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    claimed = (await post(client, f"/tasks/{tid}/claim", city.worker)).json()
    first = await post(client, f"/tasks/{tid}/handle", city.worker, note="已清理",
                       version=claimed["version"])
    # handle is followed by the system's request_verification: still the worker's own move.
    again = await post(client, f"/tasks/{tid}/handle", city.worker, note="已清理",
                       version=claimed["version"])
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["status"] == "verifying"
    assert await TicketEvent.filter(ticket_id=tid, action="handle").count() == 1


async def test_someone_elses_move_since_makes_a_retry_stale(client, city):
    ticket = await report(client, city.resident, "9904")
    tid, version = ticket["id"], ticket["version"]
    await post(client, f"/tasks/{tid}/claim", city.worker, version=version)
    released = await post(client, f"/tasks/{tid}/release", city.worker)
    assert released.status_code == 200
    retried = await post(client, f"/tasks/{tid}/claim", city.worker, version=version)
    assert retried.status_code == 409 and error_code(retried) == "stale_version"


async def test_an_action_retried_with_its_key_replays_the_first_answer(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await post(client, f"/tasks/{tid}/claim", city.worker)
    first = await post(client, f"/tasks/{tid}/handle", city.worker, key="handle-1", note="已清理")
    again = await post(client, f"/tasks/{tid}/handle", city.worker, key="handle-1", note="已清理")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await TicketEvent.filter(ticket_id=tid, action="handle").count() == 1


async def test_every_verb_takes_a_key(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]  # waits for a dispatcher
    steps = [
        ("/tickets/{tid}/recategorise", city.dispatcher, {"category_code": "9904"}),
        ("/tickets/{tid}/accept", city.dispatcher, {}),
        ("/tasks/{tid}/claim", city.worker, {}),
        ("/tasks/{tid}/extension", city.worker,
         {"reason": "材料未到", "extra_value": 1, "extra_unit": "work_days"}),
        ("/tasks/{tid}/release", city.worker, {}),
        ("/tickets/{tid}/follow", city.other_resident, {}),
    ]
    for n, (path, headers, body) in enumerate(steps):
        first = await post(client, path.format(tid=tid), headers, key=f"k{n}", **body)
        again = await post(client, path.format(tid=tid), headers, key=f"k{n}", **body)
        assert first.status_code in (200, 201), (path, first.text)
        assert (again.status_code, again.json()) == (first.status_code, first.json()), path
        assert again.headers["Idempotent-Replayed"] == "true"
    ticket = await Ticket.get(id=tid)
    assert ticket.status == "dispatched" and ticket.follower_count == 1
    assert await TicketEvent.filter(ticket_id=tid, action="request_extension").count() == 1


async def test_one_key_for_another_call_or_body_is_refused(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await post(client, f"/tasks/{tid}/claim", city.worker, key="k")
    other_body = await post(client, f"/tasks/{tid}/claim", city.worker, key="k", version=9)
    assert other_body.status_code == 422 and error_code(other_body) == "idempotency_key_reused"
    other_call = await post(client, f"/tasks/{tid}/release", city.worker, key="k")
    assert other_call.status_code == 422 and error_code(other_call) == "idempotency_key_reused"
    bad = await post(client, f"/tasks/{tid}/release", city.worker, key="x" * 200)
    assert bad.status_code == 422 and error_code(bad) == "invalid_idempotency_key"
    assert (await Ticket.get(id=tid)).status == "claimed"


async def test_a_refused_action_keeps_no_key_so_its_retry_runs_again(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    early = await post(client, f"/tasks/{tid}/handle", city.worker, key="h", note="x")
    assert early.status_code == 409
    await post(client, f"/tasks/{tid}/claim", city.worker)
    later = await post(client, f"/tasks/{tid}/handle", city.worker, key="h", note="x")
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers


async def test_concurrent_twins_with_one_key_act_once(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    responses = await asyncio.gather(*[
        post(client, f"/tasks/{tid}/claim", city.worker, key="twin") for _ in range(5)])
    assert {r.status_code for r in responses} <= {200, 409}
    assert [r.status_code for r in responses].count(200) >= 1
    assert len({r.json()["version"] for r in responses if r.status_code == 200}) == 1
    assert await TicketEvent.filter(ticket_id=tid, action="claim").count() == 1


# --- 自行处置 -----------------------------------------------------------------------------------


async def test_a_self_disposal_retried_with_its_key_makes_one_closed_ticket(client, city):
    headers = {**city.worker, "Idempotency-Key": "self-dispose-1"}
    first = await client.post("/api/v1/tasks/self-dispose", json=self_disposal(), headers=headers)
    again = await client.post("/api/v1/tasks/self-dispose", json=self_disposal(), headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "closed"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await Ticket.filter(is_self_disposed=True).count() == 1
    changed = await client.post("/api/v1/tasks/self-dispose",
                                json=self_disposal(note="另一处"), headers=headers)
    assert changed.status_code == 422 and error_code(changed) == "idempotency_key_reused"


async def test_a_self_disposal_follows_the_categorys_photo_rule(client, city):
    body = self_disposal(category_code="9903")  # 违章搭建 requires photos
    refused = await client.post("/api/v1/tasks/self-dispose", json=body, headers=city.worker)
    assert refused.status_code == 422 and error_code(refused) == "photo_required"
    before = await photo(client, city.worker)
    only_before = await client.post("/api/v1/tasks/self-dispose", headers=city.worker,
                                    json={**body, "media_ids": [before]})
    assert only_before.status_code == 422 and error_code(only_before) == "photo_required"
    after = await photo(client, city.worker, purpose="handling")
    done = await client.post("/api/v1/tasks/self-dispose", headers=city.worker,
                             json={**body, "media_ids": [before], "after_media_ids": [after]})
    assert done.status_code == 201, done.text
    assert {m["stage"] for m in done.json()["media"]} == {"report", "handling"}
    assert await Ticket.filter(is_self_disposed=True).count() == 1


async def test_a_risky_self_disposal_is_held_from_the_public(client, city):
    from tests.support import base_settings

    base_settings(content_blocklist="代开发票")
    held = await client.post("/api/v1/tasks/self-dispose", headers=city.worker,
                             json=self_disposal(description="代开发票 联系电话 138"))
    assert held.status_code == 201 and held.json()["content_held"]
    hidden = await client.get(f"/api/v1/tickets/{held.json()['id']}", headers=city.other_resident)
    assert hidden.status_code == 404
    fine = await client.post("/api/v1/tasks/self-dispose", headers=city.worker,
                             json=self_disposal())
    assert not fine.json()["content_held"]
