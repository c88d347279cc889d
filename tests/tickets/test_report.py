"""A resident reports a problem; it is routed by location and category, exactly once."""

import asyncio

from app.tickets.models import Ticket
from tests.factories import error_code
from tests.tickets.helpers import IN_CELL, OTHER_STREET, report, report_body


async def test_a_report_is_auto_accepted_and_dispatched_by_the_routing_rule(client, city):
    ticket = await report(client, city.resident, "9901")
    assert ticket["status"] == "dispatched"
    assert ticket["unit"]["name"] == "市政设施维护中心"
    assert ticket["routed_by"] == "rule"
    assert ticket["cell"]["code"] == "990100001001001"
    assert ticket["deadline_at"] and ticket["deadline_colour"] == "green"
    assert [e["action"] for e in ticket["timeline"]] == ["submit", "auto_accept", "dispatch"]
    assert [e["actor_label"] for e in ticket["timeline"]] == ["居民", "系统", "系统"]
    assert ticket["number"].endswith(f"{ticket['id']:06d}")


async def test_gcj02_reports_are_routed_by_their_true_position(client, city):
    from app.areas.geo import wgs84_to_gcj02

    lng, lat = wgs84_to_gcj02(IN_CELL["lng"], IN_CELL["lat"])
    ticket = await report(client, city.resident, location={"lng": lng, "lat": lat, "crs": "gcj02"})
    assert ticket["cell"]["code"] == "990100001001001"
    assert abs(ticket["location"]["lng"] - IN_CELL["lng"]) < 1e-5


async def test_without_a_rule_the_cells_grid_team_gets_it(client, city):
    ticket = await report(client, city.resident, "9904")
    assert ticket["status"] == "dispatched"
    assert ticket["unit"]["id"] == city.team.id and ticket["routed_by"] == "grid_team"


async def test_without_rule_or_team_it_waits_for_a_dispatcher(client, city):
    ticket = await report(client, city.resident, "9904", location=OTHER_STREET)
    assert ticket["status"] == "accepted" and ticket["unit"] is None
    assert ticket["routed_by"] == "manual"
    queue = (await client.get("/api/v1/tickets/queue", headers=city.dispatcher)).json()
    assert [t["id"] for t in queue["items"]] == [ticket["id"]]
    dispatched = await client.post(f"/api/v1/tickets/{ticket['id']}/dispatch",
                                   json={"unit_id": city.other_department.id},
                                   headers=city.dispatcher)
    assert dispatched.status_code == 200
    assert dispatched.json()["status"] == "dispatched"
    assert dispatched.json()["routed_by"] == "dispatcher"


async def test_categories_needing_acceptance_wait_in_the_queue(client, city):
    ticket = await report(client, city.resident, "9902")
    assert ticket["status"] == "submitted"
    accepted = await client.post(f"/api/v1/tickets/{ticket['id']}/accept", json={},
                                 headers=city.dispatcher)
    assert accepted.status_code == 200
    # accepted, then dispatched at once to the cell's grid team
    assert accepted.json()["status"] == "dispatched"
    assert [e["action"] for e in accepted.json()["timeline"]][-2:] == ["accept", "dispatch"]
    assert accepted.json()["timeline"][-2]["actor_label"] == "派遣员 李"


async def test_a_retried_submit_with_the_same_key_returns_the_same_ticket(client, city):
    headers = {**city.resident, "Idempotency-Key": "report-7f3a"}
    first = await client.post("/api/v1/tickets", json=report_body(), headers=headers)
    second = await client.post("/api/v1/tickets", json=report_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await Ticket.all().count() == 1


async def test_twenty_concurrent_submits_with_one_key_make_one_ticket(client, city):
    headers = {**city.resident, "Idempotency-Key": "weak-network-retry"}
    responses = await asyncio.gather(*[
        client.post("/api/v1/tickets", json=report_body(), headers=headers) for _ in range(20)])
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code >= 400]
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert await Ticket.all().count() == 1


async def test_one_key_with_a_different_report_is_refused(client, city):
    headers = {**city.resident, "Idempotency-Key": "k1"}
    await client.post("/api/v1/tickets", json=report_body(), headers=headers)
    other = await client.post("/api/v1/tickets", json=report_body(description="另一件事"),
                              headers=headers)
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    # another resident may use the same key for their own report
    theirs = await client.post("/api/v1/tickets", json=report_body(),
                               headers={**city.other_resident, "Idempotency-Key": "k1"})
    assert theirs.status_code == 201
    assert await Ticket.all().count() == 2


async def assert_refused(client, city, body, status, code, headers=None):
    response = await client.post("/api/v1/tickets", json=body, headers=headers or city.resident)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert await Ticket.all().count() == 0


async def test_bad_reports_are_refused_and_nothing_is_written(client, city):
    await assert_refused(client, city, report_body("0000"), 404, "category_not_found")
    await assert_refused(client, city, report_body(location={"lng": 117.5, "lat": 36.5,
                                                             "crs": "wgs84"}),
                         422, "outside_service_area")
    await assert_refused(client, city, report_body("9903"), 422, "photo_required")
    await assert_refused(client, city, report_body(description="长" * 1001), 422, "invalid")
    await assert_refused(client, city, report_body(description=""), 422, "invalid")
    await assert_refused(client, city, report_body(media_ids=[999]), 422, "invalid_media")
    await assert_refused(client, city, report_body(media_ids=list(range(1, 8))), 422, "invalid")
    await assert_refused(client, city, report_body(location={"lng": 116.5, "lat": 95,
                                                             "crs": "wgs84"}), 422, "invalid")
    await assert_refused(client, city, report_body(), 422, "invalid_idempotency_key",
                         headers={**city.resident, "Idempotency-Key": "x" * 200})
    await assert_refused(client, city, report_body(**{"unknown": 1}), 422, "invalid")


async def test_someone_elses_photo_cannot_be_attached(client, city):
    ticket = await client.post("/api/v1/media/uploads", json={"purpose": "report"},
                               headers=city.other_resident)
    media_id = ticket.json()["media_id"]
    await assert_refused(client, city, report_body(media_ids=[media_id]), 422, "invalid_media")


async def test_same_problem_nearby_offers_me_too_instead_of_a_duplicate(client, city):
    first = await report(client, city.resident, "9901")
    near = await client.get("/api/v1/tickets/nearby", headers=city.other_resident, params={
        "lng": IN_CELL["lng"] + 0.0002, "lat": IN_CELL["lat"], "crs": "wgs84", "category": "9901"})
    assert near.status_code == 200
    [candidate] = near.json()["items"]
    assert candidate["id"] == first["id"] and 10 < candidate["distance_m"] < 30
    assert "reporter" not in near.text and "alice" not in near.text
    far = await client.get("/api/v1/tickets/nearby", headers=city.other_resident, params={
        "lng": IN_CELL["lng"] + 0.002, "lat": IN_CELL["lat"], "crs": "wgs84", "category": "9901"})
    assert far.json()["items"] == []
    for _ in range(2):  # a double tap follows once
        followed = await client.post(f"/api/v1/tickets/{first['id']}/follow",
                                     headers=city.other_resident)
        assert followed.status_code == 200
    assert followed.json()["follower_count"] == 1 and followed.json()["is_mine"]
    mine = (await client.get("/api/v1/tickets/mine", headers=city.other_resident)).json()
    assert [t["id"] for t in mine["items"]] == [first["id"]]


async def test_private_reports_are_not_offered_to_others(client, city):
    private = await report(client, city.resident, "9901", is_public=False)
    near = await client.get("/api/v1/tickets/nearby", headers=city.other_resident, params={
        **IN_CELL, "category": "9901"})
    assert near.json()["items"] == []
    hidden = await client.get(f"/api/v1/tickets/{private['id']}", headers=city.other_resident)
    assert hidden.status_code == 404


async def test_my_reports_page_newest_first(client, city):
    ids = [(await report(client, city.resident, "9904"))["id"] for _ in range(3)]
    page = (await client.get("/api/v1/tickets/mine", params={"limit": 2},
                             headers=city.resident)).json()
    assert [t["id"] for t in page["items"]] == ids[::-1][:2]
    rest = (await client.get("/api/v1/tickets/mine", params={"limit": 2, "cursor": page["next"]},
                             headers=city.resident)).json()
    assert [t["id"] for t in rest["items"]] == [ids[0]] and rest["next"] is None


async def test_a_risky_description_is_held_from_the_public_until_reviewed(client, city):
    from tests.support import base_settings

    base_settings(content_blocklist="代开发票")
    ticket = await report(client, city.resident, "9901", description="代开发票 联系电话 138")
    assert ticket["content_held"] and ticket["status"] == "dispatched"  # still handled
    near = await client.get("/api/v1/tickets/nearby", headers=city.other_resident,
                            params={**IN_CELL, "category": "9901"})
    assert near.json()["items"] == []
    hidden = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.other_resident)
    assert hidden.status_code == 404
    released = await client.post(f"/api/v1/tickets/{ticket['id']}/release-content",
                                  headers=city.dispatcher)
    assert released.status_code == 200 and not released.json()["content_held"]
    shown = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.other_resident)
    assert shown.status_code == 200
