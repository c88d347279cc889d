"""The dashboard: the stats API's figures for a scope and period, compared, exported as CSV."""

from __future__ import annotations

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
