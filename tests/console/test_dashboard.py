"""The dashboard: the stats API's figures for a scope and period, compared, exported as CSV."""

from __future__ import annotations

import json
import re

from app.accounts.models import Role
from tests.console.helpers import dispatcher, sign_in
from tests.factories import make_staff
from tests.tickets.helpers import OTHER_STREET, report


def cell(page: str, attribute: str, key: str) -> str:
    match = re.search(rf'<tr data-{attribute}="{key}">.*?<td class="value">([^<]*)</td>', page, re.S)
    assert match, f"no {key} on the dashboard"
    return match.group(1)


async def test_the_dashboard_shows_the_published_figures_for_the_month(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9902", location=OTHER_STREET)
    await dispatcher(client, username="dash")
    page = await client.get("/console/dashboard", params={"period": "month"})
    assert page.status_code == 200, page.text
    start = re.search(r"统计区间：(\S+ \S+) 至 (\S+ \S+)", page.text)
    assert start
    summary = await client.get("/api/v1/stats/summary", headers=city.dispatcher, params={
        "area": "990100", "from": f"{start.group(1).replace(' ', 'T')}:00+08:00"})
    body = summary.json()
    assert cell(page.text, "count", "reported") == str(body["counts"]["reported"]) == "2"
    assert cell(page.text, "count", "dispatched") == str(body["counts"]["dispatched"])
    assert cell(page.text, "rate", "closed_on_time_rate") == body["rates"]["closed_on_time_rate"]["display"]
    assert "公式：按期结案数 / 应结案数" in page.text
    assert "东门街道" in page.text and "西门街道" in page.text  # the street table


async def test_an_area_narrows_every_figure(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9902", location=OTHER_STREET)
    await dispatcher(client, username="dash-area")
    page = await client.get("/console/dashboard", params={"period": "today", "area": "990100002"})
    assert cell(page.text, "count", "reported") == "1"


async def test_a_breakdown_exports_as_csv_with_a_bom(client, city):
    await report(client, city.resident, "9904")
    await dispatcher(client, username="dash-csv")
    response = await client.get("/console/dashboard/export.csv",
                                params={"by": "street", "period": "month"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    assert "东门街道" in response.text and "按期结案率" in response.text
    bad = await client.get("/console/dashboard/export.csv", params={"by": "nonsense"})
    assert bad.status_code == 400


async def test_bad_periods_and_areas_are_refused_as_pages(client, city):
    await dispatcher(client, username="dash-bad")
    custom = await client.get("/console/dashboard", params={
        "period": "custom", "from": "2026-03-10", "to": "2026-03-01"})
    assert custom.status_code == 422 and "结束日期不能早于开始日期" in custom.text
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west-dash", name="西派遣")
    client.cookies.clear()
    await sign_in(client, "west-dash")
    outside = await client.get("/console/dashboard", params={"area": "990100001"})
    assert outside.status_code == 404


async def test_a_grid_worker_has_no_dashboard(client, city):
    await make_staff(Role.GRID_WORKER, area_code="990100001001", username="gw-dash", name="王网格")
    await sign_in(client, "gw-dash")
    assert (await client.get("/console/dashboard")).status_code == 403
    assert (await client.get("/console/dashboard/ledger.csv")).status_code == 403
    heat = await client.get("/console/dashboard/heat.json")
    assert heat.status_code == 403 and heat.json()["error"]["code"]
    exported = await client.get("/console/dashboard/export.csv", params={"by": "ranking"})
    assert exported.status_code == 403


# --- issue 13: breakdowns, trend, ranking, satisfaction, heat map, ledger ---------------------


def rows_of(page: str, table: str) -> dict[str, list[str]]:
    """A table's rows on the page: key (data-*) → the texts of its cells."""
    body = re.search(rf'<table class="cases" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table}"
    out = {}
    for key, row in re.findall(r'<tr data-\w+="([^"]*)">(.*?)</tr>', body.group(1), re.S):
        out[key] = [re.sub(r"<[^>]+>", "", c).strip()
                    for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    return out


async def api_rows(client, city, **params):
    answer = await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                              params={"area": "990100", **params})
    assert answer.status_code == 200, answer.text
    return {row["key"]: row for row in answer.json()["rows"]}


async def test_category_source_and_urgency_tables_equal_the_stats_api(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9904", urgency="urgent")
    await report(client, city.resident, "9901")
    await dispatcher(client, username="dash-cat")
    page = (await client.get("/console/dashboard", params={"period": "month"})).text
    start = re.search(r"统计区间：(\S+ \S+) 至", page).group(1).replace(" ", "T") + ":00+08:00"
    for by in ("category", "category_major", "source", "urgency", "grid"):
        shown = rows_of(page, f"table-{by}")
        want = await api_rows(client, city, by=by, **{"from": start})
        assert set(shown) == set(want), by
        for key, cells in shown.items():
            assert cells[0] == want[key]["name"]
            assert cells[1] == str(want[key]["counts"]["reported"]), (by, key)
            assert cells[6] == want[key]["rates"]["closed_on_time_rate"]["display"]
    assert rows_of(page, "table-urgency")["urgent"][:2] == ["紧急", "1"]
    assert rows_of(page, "table-category")["9904"][1] == "2"
    assert rows_of(page, "table-category_major")["99"][1] == "3"
    exported = await client.get("/console/dashboard/export.csv",
                                params={"by": "category", "period": "month"})
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    assert "9904" in exported.text


async def test_the_trend_is_one_row_per_day_and_sums_to_the_period(client, city):
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9901")
    await dispatcher(client, username="dash-trend")
    page = (await client.get("/console/dashboard", params={"period": "month"})).text
    trend = re.search(r'<table class="cases" id="trend">.*?<tbody>(.*?)</tbody>', page, re.S)
    reported = [int(n) for n in re.findall(r"</th><td>(\d+)</td>", trend.group(1))]
    day = int(re.search(r"统计区间：\S+-(\d\d) ", page).group(1))
    assert len(reported) >= day  # one point per day of the month so far
    assert sum(reported) == int(cell(page, "count", "reported")) == 2
    exported = await client.get("/console/dashboard/export.csv",
                                params={"by": "day", "period": "month"})
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())


async def test_the_unit_ranking_shows_the_evaluation_grade(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    for path, headers, body in ((f"/api/v1/tasks/{tid}/claim", city.worker, {}),
                                (f"/api/v1/tasks/{tid}/handle", city.worker, {"note": "已清理"})):
        assert (await client.post(path, json=body, headers=headers)).status_code == 200
    await report(client, city.resident, "9901")
    await dispatcher(client, username="dash-rank")
    page = (await client.get("/console/dashboard", params={"period": "month"})).text
    table = await client.get("/api/v1/evaluation/units", headers=city.dispatcher,
                             params={"area": "990100"})
    assert table.status_code == 200, table.text
    want = {row["key"]: row for row in table.json()["rows"]}
    shown = rows_of(page, "table-ranking")
    assert set(shown) == set(want) and len(shown) >= 2
    for key, cells in shown.items():
        assert cells[1] == want[key]["name"]
        assert cells[3] == want[key]["rates"]["handled_on_time_rate"]["display"]
        assert cells[6] == str(want[key]["counts"]["handled_late"])
        assert cells[8] == want[key]["grade_label"]
    assert shown[str(city.team.id)][0] == "1"  # handled on time: first
    exported = await client.get("/console/dashboard/export.csv",
                                params={"by": "ranking", "period": "month"})
    assert exported.status_code == 200 and city.team.name in exported.text


async def test_satisfaction_per_community_counts_the_ratings(client, city):
    from tests.ratings.test_ratings import closed_ticket, rating

    for level in ("satisfied", "unsatisfied"):
        tid = await closed_ticket(client, city)
        given = await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                  json=rating(level))
        assert given.status_code == 201, given.text
    await dispatcher(client, username="dash-sat")
    page = (await client.get("/console/dashboard", params={"period": "month"})).text
    shown = rows_of(page, "table-satisfaction")
    assert list(shown) == ["990100001001"]
    assert shown["990100001001"][1:6] == ["2", "1", "0", "1", "50.00%"]
    assert shown["990100001001"][7] == "0.00%"  # nobody replied yet


async def test_the_heat_map_counts_cases_open_cases_and_the_rate_per_cell(client, city):
    done = await report(client, city.resident, "9904")
    await report(client, city.resident, "9904")
    await report(client, city.resident, "9902", location=OTHER_STREET)
    for path, headers, body in ((f"/api/v1/tasks/{done['id']}/claim", city.worker, {}),
                                (f"/api/v1/tasks/{done['id']}/handle", city.worker,
                                 {"note": "已清理"}),
                                (f"/api/v1/tickets/{done['id']}/verify", city.worker2,
                                 {"passed": True})):
        assert (await client.post(path, json=body, headers=headers)).status_code == 200
    await dispatcher(client, username="dash-heat")
    heat = await client.get("/console/dashboard/heat.json", params={"period": "month"})
    assert heat.status_code == 200, heat.text
    cells = {f["properties"]["code"]: f["properties"] for f in heat.json()["features"]}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon")
               for f in heat.json()["features"])
    east = cells["990100001001001"]
    assert (east["reported"], east["open"], east["rate"]["display"]) == (2, 1, "50.00%")
    assert sum(c["reported"] for c in cells.values()) == 3
    assert sum(c["open"] for c in cells.values()) == 2
    west = await client.get("/console/dashboard/heat.json", params={"area": "990100002"})
    assert "990100001001001" not in {f["properties"]["code"] for f in west.json()["features"]}


async def test_the_case_ledger_streams_every_ticket_of_the_scope_with_its_stage_times(
        client, city, monkeypatch):
    import csv
    import io
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.stats import ledger
    from tests.tickets.helpers import IN_CELL

    monkeypatch.setattr(ledger, "BATCH", 2)  # several keyset batches for a few tickets
    made = [await report(client, city.resident, "9904"),
            await report(client, city.resident, "9901"),
            await report(client, city.resident, "9902", location=OTHER_STREET)]
    filed = await client.post("/api/v1/hotline/cases", headers=city.dispatcher, json={
        "category_code": "9901", "description": "来电反映井盖松动", "location": IN_CELL,
        "caller_name": "刘先生", "caller_phone": "13905371234"})
    assert filed.status_code == 201, filed.text
    made.append({"id": filed.json()["ticket_id"], "number": filed.json()["ticket_number"]})
    await dispatcher(client, username="dash-ledger")
    response = await client.get("/console/dashboard/ledger.csv", params={"period": "month"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    assert "刘先生" not in response.text and "13905371234" not in response.text
    header, *lines = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert header == list(ledger.HEADER)
    rows = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    assert set(rows) == {t["number"] for t in made}  # every ticket, once
    local = ZoneInfo("Asia/Shanghai")
    for ticket in made:
        detail = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
        body = detail.json()
        row = rows[ticket["number"]]
        reported = datetime.fromisoformat(body["created_at"]).astimezone(local)
        assert row["上报时间"] == reported.strftime("%Y-%m-%d %H:%M:%S")
        deadline = body.get("deadline_at")
        assert row["处置时限"] == (datetime.fromisoformat(deadline).astimezone(local).strftime(
            "%Y-%m-%d %H:%M:%S") if deadline else "")
    assert rows[made[3]["number"]]["来源"] == "热线工单"
    assert rows[made[2]["number"]]["街道"] == "西门街道"
    # A dispatcher of the other street exports their own street's tickets only.
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west-ledger", name="西")
    client.cookies.clear()
    await sign_in(client, "west-ledger")
    west = await client.get("/console/dashboard/ledger.csv", params={"period": "month"})
    numbers = [line[0] for line in csv.reader(io.StringIO(west.text.lstrip("\ufeff")))][1:]
    assert numbers == [made[2]["number"]]
    bad = await client.get("/console/dashboard/ledger.csv", params={
        "period": "custom", "from": "2026-03-10", "to": "2026-03-01"})
    assert bad.status_code == 422


async def test_forwarded_reports_have_their_row_and_rates_their_charts(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]  # 噪音: waits for 立案
    forwarded = await client.post(f"/api/v1/tickets/{tid}/forward", headers=city.dispatcher,
                                  json={"body_name": "市供电公司", "reason": "不属于本区职责"})
    assert forwarded.status_code == 201, forwarded.text
    done = (await report(client, city.resident, "9904"))["id"]
    for path, headers, body in ((f"/api/v1/tasks/{done}/claim", city.worker, {}),
                                (f"/api/v1/tasks/{done}/handle", city.worker, {"note": "已清理"})):
        assert (await client.post(path, json=body, headers=headers)).status_code == 200
    await dispatcher(client, username="dash-forward")
    page = (await client.get("/console/dashboard", params={"period": "month"})).text
    assert re.search(r'<tr data-count="forwarded"><th scope="row">推送数</th>', page)
    assert cell(page, "count", "forwarded") == "1"
    # The ranking's chart: the deciding rate in percent per unit, the table's order.
    charts = json.loads(re.search(r'<script type="application/json" id="charts-data">(.*?)'
                                  r"</script>", page, re.S).group(1))
    assert 'data-rate-chart="ranking"' in page
    shown = rows_of(page, "table-ranking")
    assert charts["ranking"]["labels"] == [cells[1] for cells in shown.values()]
    [series] = charts["ranking"]["series"]
    assert series["label"] == "按期处置率" and series["values"][0] == 100.0
    assert charts["satisfaction"] == {"labels": [], "series": [
        {"label": "满意率", "values": []}, {"label": "回复率", "values": []}]}
