"""内容审核 through the API: the queue of held texts nobody decided yet, and release or keep for
each kind, recorded with who and when; a kept text stays hidden from the public and leaves the
queue; staff of another area neither see nor decide."""

from __future__ import annotations

from app.accounts.models import Role
from app.ratings.models import Rating
from app.review.models import Decision, ReviewDecision, ReviewKind
from tests.console.test_review_queue import WORD, held_everything, ok
from tests.factories import error_code, make_staff


def queue_kinds(queue: dict) -> list[str]:
    return sorted(item["kind"] for item in queue["items"])


async def test_a_reviewer_keeps_each_kind_and_it_leaves_the_queue_hidden(client, city):
    held = await held_everything(client, city)
    staff = city.community_staff
    queue = await ok(await client.get("/api/v1/review/queue", headers=staff))
    assert queue_kinds(queue) == ["poll_text", "rating", "ticket"]
    [answer] = [i for i in queue["items"] if i["kind"] == "poll_text"]
    tid, rid = held["ticket"]["id"], held["rating"]["id"]

    kept = await ok(await client.post(f"/api/v1/review/tickets/{tid}/keep", headers=staff))
    assert kept["decision"] == "kept" and kept["target_id"] == str(tid)
    await ok(await client.post(f"/api/v1/review/ratings/{rid}/keep", headers=staff,
                               json={"seen": f"谢谢，{WORD}请找我"}))
    await ok(await client.post(
        f"/api/v1/review/polls/{answer['poll_id']}/texts/{answer['id']}/keep", headers=staff))

    assert (await ok(await client.get("/api/v1/review/queue", headers=staff)))["items"] == []
    assert (await client.get(f"/api/v1/tickets/{tid}",
                             headers=city.other_resident)).status_code == 404
    results = await ok(await client.get(f"/api/v1/polls/{held['poll']['id']}/results",
                                        headers=staff))
    assert all(WORD not in t for q in results["questions"] for t in q.get("texts") or [])
    rows = await ReviewDecision.all().order_by("id")
    assert [(r.kind, r.decision) for r in rows] == [
        (ReviewKind.TICKET, Decision.KEPT), (ReviewKind.RATING, Decision.KEPT),
        (ReviewKind.POLL_TEXT, Decision.KEPT)]
    assert {r.reviewer_id for r in rows} == {(await client.get(
        "/api/v1/me", headers=staff)).json()["id"]}


async def test_a_reviewer_releases_each_kind_through_the_api(client, city):
    held = await held_everything(client, city)
    staff = city.community_staff
    queue = await ok(await client.get("/api/v1/review/queue", headers=staff))
    [answer] = [i for i in queue["items"] if i["kind"] == "poll_text"]
    tid, rid = held["ticket"]["id"], held["rating"]["id"]

    stale = await client.post(f"/api/v1/review/ratings/{rid}/release", headers=staff,
                              json={"seen": "别的内容"})
    assert stale.status_code == 409 and error_code(stale) == "rating_changed"
    released = await ok(await client.post(f"/api/v1/review/ratings/{rid}/release",
                                          headers=staff, json={"seen": f"谢谢，{WORD}请找我"}))
    assert released["decision"] == "released"
    await ok(await client.post(f"/api/v1/review/tickets/{tid}/release", headers=staff))
    await ok(await client.post(
        f"/api/v1/review/polls/{answer['poll_id']}/texts/{answer['id']}/release",
        headers=staff))

    assert (await client.get(f"/api/v1/tickets/{tid}",
                             headers=city.other_resident)).status_code == 200
    assert not (await Rating.get(id=rid)).comment_held
    again = await client.post(f"/api/v1/review/tickets/{tid}/keep", headers=staff)
    assert again.status_code == 409 and error_code(again) == "not_held"
    assert (await ok(await client.get("/api/v1/review/queue", headers=staff)))["items"] == []


async def test_another_areas_staff_and_residents_neither_see_nor_decide(client, city):
    held = await held_everything(client, city)
    tid, rid = held["ticket"]["id"], held["rating"]["id"]
    _, other = await make_staff(Role.COMMUNITY_STAFF, area_code="990100002001")
    assert (await ok(await client.get("/api/v1/review/queue", headers=other)))["items"] == []
    refused = await client.get("/api/v1/review/queue", headers=city.resident)
    assert refused.status_code == 403
    for path in (f"/api/v1/review/tickets/{tid}/keep", f"/api/v1/review/ratings/{rid}/keep"):
        answer = await client.post(path, headers=city.resident, json={})
        assert answer.status_code in (403, 404), answer.text
        assert (await client.post(path, headers=other, json={})).status_code == 404
    assert await ReviewDecision.all().count() == 0
