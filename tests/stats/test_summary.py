"""Command-centre staff read the city's rates for their area; the SQL agrees with the formulas."""

from datetime import UTC, datetime, timedelta

from app.stats import metrics
from app.tickets.models import Ticket
from tests.factories import error_code
from tests.tickets.helpers import OTHER_STREET, report


async def post(client, path, headers, **body):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def summary(client, headers, **params):
    response = await client.get("/api/v1/stats/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_rates_follow_the_tickets(client, city):
    closed = (await report(client, city.resident, "9904"))["id"]
    await post(client, f"/api/v1/tasks/{closed}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{closed}/handle", city.worker, note="ok")
    await post(client, f"/api/v1/tickets/{closed}/verify", city.worker2, passed=True)
    await report(client, city.resident, "9904")  # dispatched, not handled yet
    rejected = (await report(client, city.resident, "9902"))["id"]
    await post(client, f"/api/v1/tickets/{rejected}/reject", city.dispatcher, reason="不属实")
    await client.post("/api/v1/tasks/self-dispose", headers=city.worker, json={
        "category_code": "9904", "description": "垃圾", "note": "已处理",
        "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}})

    body = await summary(client, city.dispatcher)
    counts = body["counts"]
    assert counts["reported"] == 4 and counts["self_disposed"] == 1
    assert counts["accepted"] == 2 and counts["rejected"] == 1
    assert counts["dispatched"] == counts["should_handle"] == 2
    assert counts["handled"] == counts["handled_on_time"] == 1
    assert counts["should_close"] == 2 and counts["closed"] == counts["closed_on_time"] == 1
    assert body["rates"]["handling_rate"] == {"value": 0.5, "display": "50.00%", "label": "处置率"}
    assert body["rates"]["closing_rate"]["value"] == 0.5
    # nobody rated: the satisfaction rate is undefined, never 100 %
    assert body["rates"]["satisfaction_rate"]["value"] is None
    assert body["rates"]["satisfaction_rate"]["display"] == "—"


async def test_the_sql_agrees_with_the_reference_formulas(client, city):
    for category in ("9904", "9901", "9902"):
        await report(client, city.resident, category)
    tid = (await report(client, city.resident, "9901"))["id"]
    await post(client, f"/api/v1/tasks/{tid}/return", city.handler, reason="不归我们")
    now = datetime.now(UTC)
    period = metrics.Period(now - timedelta(days=1), now + timedelta(minutes=1))
    facts = [metrics.TicketFacts(
        reported_at=t.created_at, self_disposed=t.is_self_disposed, accepted_at=t.accepted_at,
        rejected_at=t.rejected_at, first_dispatched_at=t.first_dispatched_at,
        first_handled_at=t.first_handled_at, deadline_at=t.deadline_at, closed_at=t.closed_at,
        merged=t.status == "merged", returned=t.return_count > 0, reworked=t.rework_count > 0,
    ) for t in await Ticket.all()]
    expected = metrics.tally(facts, period=period)
    body = await summary(client, city.dispatcher, **{
        "from": period.start.isoformat(), "to": period.end.isoformat()})
    for name, value in body["counts"].items():
        assert value == getattr(expected, name), name
    assert body["counts"]["returned"] == 1


async def test_auto_accepted_tickets_count_as_accepted(client, city):
    await report(client, city.resident, "9904")
    counts = (await summary(client, city.dispatcher))["counts"]
    assert counts["accepted"] == 1


async def test_scope_and_filters(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9904", location=OTHER_STREET)
    mine = await summary(client, city.community_staff)
    assert mine["counts"]["reported"] == 1
    foreign = await client.get("/api/v1/stats/summary", params={"area": "990100002"},
                               headers=city.community_staff)
    assert foreign.status_code == 404
    resident = await client.get("/api/v1/stats/summary", headers=city.resident)
    assert resident.status_code == 403 and error_code(resident) == "forbidden"
    by_street = await summary(client, city.dispatcher, area="990100002")
    assert by_street["counts"]["reported"] == 1
    by_category = await summary(client, city.dispatcher, category="9901")
    assert by_category["counts"]["reported"] == 0


async def test_bad_periods_are_refused(client, city):
    for params in ({"from": "2026-01-02T00:00:00+08:00", "to": "2026-01-01T00:00:00+08:00"},
                   {"from": "2026-01-01T00:00:00"}, {"from": "yesterday"}):
        response = await client.get("/api/v1/stats/summary", params=params,
                                    headers=city.dispatcher)
        assert response.status_code == 422, params


async def test_breakdowns_and_csv_export(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9901")
    by_unit = (await client.get("/api/v1/stats/breakdown", params={"by": "unit"},
                                headers=city.dispatcher)).json()
    assert {r["name"] for r in by_unit["rows"]} == {"市政设施维护中心", city.team.name}
    by_grid = (await client.get("/api/v1/stats/breakdown", params={"by": "grid"},
                                headers=city.dispatcher)).json()
    assert [(r["key"], r["counts"]["reported"]) for r in by_grid["rows"]] == [
        ("990100001001001", 2)]
    csv_response = await client.get("/api/v1/stats/export.csv", params={"by": "community"},
                                     headers=city.dispatcher)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    lines = csv_response.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("编码,名称,reported") and "处置率" in lines[0]
    assert lines[1].startswith("990100001001,")
