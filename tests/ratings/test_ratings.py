"""Residents rate closed tickets once; staff reply and send unsatisfied ones back for rework."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.ratings.models import Rating
from app.tickets.models import Ticket
from tests.factories import error_code
from tests.support import base_settings
from tests.tickets.helpers import report


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def closed_ticket(client, city, category="9904"):
    tid = (await report(client, city.resident, category))["id"]
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清理"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))
    return tid


def rating(result="satisfied", service="satisfied", **extra):
    return {"result": result, "service": service, **extra}


async def test_the_reporter_rates_a_closed_ticket_once(client, city):
    tid = await closed_ticket(client, city)
    first = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                       json=rating(stars=5, comment="处理很及时")), 201)
    assert first["overall"] == "satisfied" and first["is_mine"]
    again = await client.post(f"/api/v1/tickets/{tid}/rating", json=rating(),
                              headers=city.resident)
    assert again.status_code == 409 and error_code(again) == "already_rated"
    edited = await ok(await client.patch(f"/api/v1/ratings/{first['id']}", headers=city.resident,
                                         json={"service": "basically_satisfied"}))
    assert edited["overall"] == "basically_satisfied"


async def test_a_double_tap_rates_once(client, city):
    tid = await closed_ticket(client, city)
    responses = await asyncio.gather(*[
        client.post(f"/api/v1/tickets/{tid}/rating", json=rating(), headers=city.resident)
        for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert await Rating.filter(ticket_id=tid).count() == 1


async def test_who_may_rate_and_when(client, city):
    open_ticket = (await report(client, city.resident, "9904"))["id"]
    early = await client.post(f"/api/v1/tickets/{open_ticket}/rating", json=rating(),
                              headers=city.resident)
    assert early.status_code == 409 and error_code(early) == "ticket_not_closed"
    tid = await closed_ticket(client, city)
    stranger = await client.post(f"/api/v1/tickets/{tid}/rating", json=rating(),
                                 headers=city.other_resident)
    assert stranger.status_code == 403 and error_code(stranger) == "not_your_ticket"
    staff = await client.post(f"/api/v1/tickets/{tid}/rating", json=rating(),
                              headers=city.dispatcher)
    assert staff.status_code == 403
    late = await closed_ticket(client, city)
    await Ticket.filter(id=late).update(closed_at=datetime.now(UTC) - timedelta(days=8))
    too_late = await client.post(f"/api/v1/tickets/{late}/rating", json=rating(),
                                 headers=city.resident)
    assert too_late.status_code == 409 and error_code(too_late) == "rating_window_closed"
    bad = await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                            json=rating(result="great", stars=6))
    assert bad.status_code == 422


async def test_a_follower_may_rate_too(client, city):
    # A neighbour: lives in the ticket's community (who may rate: docs/decisions.md).
    await ok(await client.patch("/api/v1/me", json={"home_area_code": "990100001001"},
                                headers=city.other_resident))
    tid = (await report(client, city.resident, "9904"))["id"]
    await ok(await client.post(f"/api/v1/tickets/{tid}/follow", headers=city.other_resident))
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "ok"},
                               headers=city.worker))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))
    await ok(await client.post(f"/api/v1/tickets/{tid}/rating", json=rating(),
                               headers=city.other_resident), 201)


async def test_an_edit_after_24_hours_is_refused(client, city):
    tid = await closed_ticket(client, city)
    created = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", json=rating(),
                                         headers=city.resident), 201)
    await Rating.filter(id=created["id"]).update(created_at=datetime.now(UTC) - timedelta(hours=25))
    late = await client.patch(f"/api/v1/ratings/{created['id']}", json={"stars": 1},
                              headers=city.resident)
    assert late.status_code == 409 and error_code(late) == "rating_edit_window_closed"


async def test_staff_reply_and_send_an_unsatisfied_ticket_back_for_rework(client, city):
    happy = await closed_ticket(client, city)
    await ok(await client.post(f"/api/v1/tickets/{happy}/rating", json=rating(),
                               headers=city.resident), 201)
    tid = await closed_ticket(client, city)
    bad = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                     json=rating(result="unsatisfied", comment="还是很脏")), 201)
    queue = await ok(await client.get("/api/v1/ratings/queue", headers=city.community_staff))
    assert [r["id"] for r in queue["items"]][0] == bad["id"]  # unsatisfied first

    await ok(await client.post(f"/api/v1/ratings/{bad['id']}/replies", headers=city.community_staff,
                               json={"body": "抱歉，已安排重新清理"}), 201)
    seen = await ok(await client.get(f"/api/v1/tickets/{tid}/ratings", headers=city.resident))
    [mine] = seen["items"]
    assert mine["replies"][0]["author_label"] == "社区工作人员 吴"
    assert mine["replies"][0]["body"] == "抱歉，已安排重新清理"

    sent = await ok(await client.post(f"/api/v1/ratings/{bad['id']}/rework",
                                      headers=city.community_staff, json={"reason": "居民不满意"}))
    assert sent["outcome"] == "rework"
    ticket = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert ticket["status"] == "dispatched" and ticket["unit"]["id"] == city.team.id
    assert [e["action"] for e in ticket["timeline"]][-2:] == ["rate_rework", "dispatch"]
    twice = await client.post(f"/api/v1/ratings/{bad['id']}/rework",
                              headers=city.community_staff, json={"reason": "again"})
    assert twice.status_code == 409
    happy_rating = (await Rating.get(ticket_id=happy)).id
    not_bad = await client.post(f"/api/v1/ratings/{happy_rating}/rework",
                                headers=city.community_staff, json={"reason": "x"})
    assert not_bad.status_code == 409 and error_code(not_bad) == "not_unsatisfied"


async def test_staff_of_another_community_cannot_see_or_answer(client, city):
    from app.accounts.models import Role
    from tests.factories import make_staff

    _, other_staff = await make_staff(Role.COMMUNITY_STAFF, area_code="990100002001")
    tid = await closed_ticket(client, city)
    bad = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                     json=rating(result="unsatisfied")), 201)
    assert (await ok(await client.get("/api/v1/ratings/queue", headers=other_staff)))["items"] == []
    reply = await client.post(f"/api/v1/ratings/{bad['id']}/replies", headers=other_staff,
                              json={"body": "x"})
    assert reply.status_code == 404


async def test_a_risky_comment_is_held_for_review_not_dropped(client, city):
    base_settings(content_blocklist="赌博网站")
    tid = await closed_ticket(client, city)
    held = await ok(await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                      json=rating(comment="欢迎访问赌博网站")), 201)
    assert held["comment_held"] and held["comment"] == "欢迎访问赌博网站"  # the author sees it
    staff_view = await ok(await client.get(f"/api/v1/tickets/{tid}/ratings",
                                           headers=city.community_staff))
    assert staff_view["items"][0]["comment"] == "欢迎访问赌博网站"  # staff review it


async def test_ratings_and_replies_feed_the_satisfaction_rate(client, city):
    for result in ("satisfied", "basically_satisfied", "unsatisfied", "unsatisfied"):
        tid = await closed_ticket(client, city)
        created = await ok(await client.post(f"/api/v1/tickets/{tid}/rating",
                                             headers=city.resident, json=rating(result)), 201)
    await ok(await client.post(f"/api/v1/ratings/{created['id']}/replies",
                               headers=city.community_staff, json={"body": "收到"}), 201)
    await closed_ticket(client, city)  # closed but not rated: never counts as satisfied
    summary = await ok(await client.get("/api/v1/stats/summary", headers=city.dispatcher))
    counts = summary["counts"]
    assert (counts["rated"], counts["satisfied"], counts["basically_satisfied"],
            counts["unsatisfied"], counts["replied"]) == (4, 1, 1, 2, 1)
    assert summary["rates"]["satisfaction_rate"]["value"] == 0.5
    assert summary["rates"]["reply_rate"]["display"] == "25.00%"
