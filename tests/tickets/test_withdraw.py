"""Residents change their mind or remember more: withdraw a report, add to an open one."""

from app.tickets.models import Ticket
from tests.factories import error_code
from tests.tickets.helpers import report
from tests.tickets.test_repeatable import photo, post


async def test_a_resident_withdraws_a_report_nobody_has_accepted(client, city):
    ticket = await report(client, city.resident, "9902")  # waits for a dispatcher
    tid = ticket["id"]
    withdrawn = await post(client, f"/tickets/{tid}/withdraw", city.resident,
                           reason="已自行解决", version=ticket["version"])
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["status"] == "rejected"
    assert body["timeline"][-1]["action"] == "withdraw"
    assert body["timeline"][-1]["note"] == "居民撤回：已自行解决"
    row = await Ticket.get(id=tid)
    # Not a 不予立案: the statistics read rejected_at, which a withdrawal leaves unset.
    assert row.rejected_at is None and row.reject_reason == "居民撤回：已自行解决"
    queue = (await client.get("/api/v1/tickets/queue", headers=city.dispatcher)).json()
    assert tid not in [t["id"] for t in queue["items"]]
    # The answer was lost: the retry answers with the ticket as it is.
    again = await post(client, f"/tickets/{tid}/withdraw", city.resident,
                       reason="已自行解决", version=ticket["version"])
    assert again.status_code == 200 and again.json()["status"] == "rejected"


async def test_a_withdrawn_report_is_no_rejection_in_the_statistics(client, city):
    withdrawn = (await report(client, city.resident, "9902"))["id"]
    await post(client, f"/tickets/{withdrawn}/withdraw", city.resident)
    rejected = (await report(client, city.resident, "9902"))["id"]
    await post(client, f"/tickets/{rejected}/reject", city.dispatcher, reason="不属实")
    counts = (await client.get("/api/v1/stats/summary", headers=city.dispatcher)).json()["counts"]
    assert counts["reported"] == 2 and counts["rejected"] == 1 and counts["accepted"] == 0


async def test_only_the_reporter_withdraws_and_only_before_acceptance(client, city):
    waiting = (await report(client, city.resident, "9902"))["id"]
    other = await post(client, f"/tickets/{waiting}/withdraw", city.other_resident)
    assert other.status_code == 404  # a private matter: not visible to them
    staff = await post(client, f"/tickets/{waiting}/withdraw", city.dispatcher)
    assert staff.status_code == 403 and error_code(staff) == "role_not_allowed"
    accepted = (await report(client, city.resident, "9904"))["id"]  # auto-accepted
    late = await post(client, f"/tickets/{accepted}/withdraw", city.resident)
    assert late.status_code == 409 and error_code(late) == "invalid_transition"


async def test_the_reporter_adds_a_note_and_photos_to_an_open_report(client, city):
    ticket = await report(client, city.resident, "9904")
    tid = ticket["id"]
    media_id = await photo(client, city.resident)
    added = await post(client, f"/tickets/{tid}/info", city.resident, key="info-1",
                       note="晚上路灯也不亮", media_ids=[media_id])
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["status"] == "dispatched"  # the status stays
    event = body["timeline"][-1]
    assert event["action"] == "add_info" and event["action_label"] == "补充信息"
    assert event["note"] == "晚上路灯也不亮" and [m["id"] for m in event["media"]] == [media_id]
    again = await post(client, f"/tickets/{tid}/info", city.resident, key="info-1",
                       note="晚上路灯也不亮", media_ids=[media_id])
    assert again.json() == body and again.headers["Idempotent-Replayed"] == "true"
    # Staff see it on the timeline too.
    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.worker)).json()
    assert [e["action"] for e in seen["timeline"]].count("add_info") == 1


async def test_adding_information_needs_something_the_reporter_and_an_open_report(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    empty = await post(client, f"/tickets/{tid}/info", city.resident, note="  ")
    assert empty.status_code == 422 and error_code(empty) == "note_required"
    follower = await post(client, f"/tickets/{tid}/follow", city.other_resident)
    assert follower.status_code == 200
    not_mine = await post(client, f"/tickets/{tid}/info", city.other_resident, note="我也看到了")
    assert not_mine.status_code == 404  # the door knows no role for a follower
    worker = await post(client, f"/tickets/{tid}/info", city.worker, note="x")
    assert worker.status_code == 403
    await post(client, f"/tasks/{tid}/claim", city.worker)
    await post(client, f"/tasks/{tid}/handle", city.worker, note="已清理")
    await post(client, f"/tickets/{tid}/verify", city.worker2, passed=True)
    closed = await post(client, f"/tickets/{tid}/info", city.resident, note="还有一处")
    assert closed.status_code == 409 and error_code(closed) == "invalid_transition"


async def test_a_risky_added_note_holds_the_report_for_review(client, city):
    from tests.support import base_settings

    base_settings(content_blocklist="代开发票")
    tid = (await report(client, city.resident, "9904"))["id"]
    held = await post(client, f"/tickets/{tid}/info", city.resident, note="代开发票 138")
    assert held.status_code == 200 and held.json()["content_held"]
    hidden = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    assert hidden.status_code == 404
