"""The register (申请台账): who sees which requests, filters, keyset paging, CSV; and the rates
(挂账率, 延期率, 回退率, 作废率) equal to a recount of the scenario."""

import csv
import io
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.tickets.models import Ticket
from tests.approvals.helpers import ask, claimed, decide, ok, supervisor
from tests.factories import error_code, make_staff
from tests.tickets.helpers import report

AMOUNT = {"extra_value": 1, "extra_unit": "work_days"}


async def _scenario(client, city):
    """Six reports: one suspended, one extended, a send-back denied, one voided, one left
    waiting for 立案, one at the grid team untouched. Returns the ticket ids."""
    boss = await supervisor()
    ids = [(await report(client, city.resident, code))["id"]
           for code in ("9901", "9901", "9901", "9901", "9902", "9904")]
    await claimed(client, city, ids[0])
    suspend = await ok(await ask(client, ids[0], city.handler, "suspend"), 201)
    await ok(await decide(client, suspend["id"], boss))
    extend = await ok(await ask(client, ids[1], city.handler, "extend", "等配件", **AMOUNT), 201)
    await ok(await decide(client, extend["id"], boss))
    back = await ok(await ask(client, ids[2], city.handler, "send_back"), 201)
    await ok(await decide(client, back["id"], boss, approve=False, note="属本单位职责"))
    void = await ok(await ask(client, ids[3], city.dispatcher, "void", "虚假上报"), 201)
    await ok(await decide(client, void["id"], boss))
    return ids, boss


def _period(hours=1):
    now = datetime.now(UTC)
    return {"from": (now - timedelta(hours=hours)).isoformat(),
            "to": (now + timedelta(hours=hours)).isoformat()}


async def test_the_rates_equal_a_recount(client, city):
    ids, boss = await _scenario(client, city)
    rates = await ok(await client.get("/api/v1/approvals/rates", params=_period(),
                                      headers=city.dispatcher))
    by_kind = {k["kind"]: k for k in rates["kinds"]}
    # Recounted from the tickets: 应处置 is every dispatched ticket but the voided one;
    # 立案 every accepted one, the voided included.
    should_handle = await Ticket.filter(first_dispatched_at__not_isnull=True).exclude(
        status__in=["merged", "voided"]).count()
    accepted = await Ticket.filter(accepted_at__not_isnull=True).exclude(status="merged").count()
    assert (should_handle, accepted) == (4, 5)
    expected = {"suspend": ("挂账率", 1, 1, 0, 1, should_handle),
                "extend": ("延期率", 1, 1, 0, 1, should_handle),
                "send_back": ("回退率", 1, 0, 1, 0, should_handle),
                "void": ("作废率", 1, 1, 0, 1, accepted)}
    for kind, (label, requested, approved, denied, tickets, base) in expected.items():
        got = by_kind[kind]
        assert (got["label"], got["requested"], got["approved"], got["denied"], got["tickets"],
                got["base"]) == (label, requested, approved, denied, tickets, base), kind
        assert got["rate"] == tickets / base
    # A period before anything happened: no base, no rate (not 0 %).
    past = datetime.now(UTC) - timedelta(days=30)
    empty = await ok(await client.get("/api/v1/approvals/rates", headers=boss, params={
        "from": past.isoformat(), "to": (past + timedelta(days=1)).isoformat()}))
    assert all(k["rate"] is None and k["requested"] == 0 for k in empty["kinds"])


async def test_who_may_read_the_rates(client, city):
    period = _period()
    staff = await client.get("/api/v1/approvals/rates", params=period,
                             headers=city.community_staff)
    assert staff.status_code == 200
    handler = await client.get("/api/v1/approvals/rates", params=period, headers=city.handler)
    assert handler.status_code == 403
    _, far = await make_staff(Role.DISPATCHER, area_code="990100002", name="远派遣")
    outside = await client.get("/api/v1/approvals/rates", headers=far,
                               params={**period, "area": "990100001"})
    assert outside.status_code == 404 and error_code(outside) == "area_not_found"
    backwards = await client.get("/api/v1/approvals/rates", headers=city.dispatcher,
                                 params={"from": period["to"], "to": period["from"]})
    assert backwards.status_code == 422 and error_code(backwards) == "invalid_period"
    ancient = await client.get("/api/v1/approvals/rates", headers=city.dispatcher, params={
        "from": "0001-01-01T00:00:00+14:00", "to": period["to"]})
    assert ancient.status_code == 422 and error_code(ancient) == "invalid_period"
    naive = await client.get("/api/v1/approvals/rates", headers=city.dispatcher,
                             params={"from": "2026-01-01T00:00:00", "to": period["to"]})
    assert naive.status_code == 422


async def test_the_register_filters_pages_and_scopes(client, city):
    ids, boss = await _scenario(client, city)
    everything = await ok(await client.get("/api/v1/approvals", headers=boss))
    assert len(everything["items"]) == 4 and everything["next"] is None
    assert [r["id"] for r in everything["items"]] == sorted(
        (r["id"] for r in everything["items"]), reverse=True)  # newest first

    approved = await ok(await client.get("/api/v1/approvals", headers=boss,
                                         params={"status": "approved"}))
    assert {r["kind"] for r in approved["items"]} == {"suspend", "extend", "void"}
    voids = await ok(await client.get("/api/v1/approvals", headers=boss,
                                      params={"kind": "void", "ticket": ids[3]}))
    assert [(r["ticket_id"], r["requester_role"]) for r in voids["items"]] == [
        (ids[3], "dispatcher")]

    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await ok(await client.get("/api/v1/approvals", headers=boss, params=params))
        seen += [r["id"] for r in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in everything["items"]]

    later = await ok(await client.get("/api/v1/approvals", headers=boss, params={
        "from": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}))
    assert later["items"] == []
    unit = await ok(await client.get("/api/v1/approvals", headers=boss,
                                     params={"unit": city.department.id}))
    assert len(unit["items"]) == 4

    # The department's handler sees its unit's; the grid worker only their own (none).
    assert len((await ok(await client.get("/api/v1/approvals", headers=city.handler)))["items"]
               ) == 4
    assert (await ok(await client.get("/api/v1/approvals", headers=city.worker)))["items"] == []
    far = await supervisor("990100002", name="卫督办")
    assert (await ok(await client.get("/api/v1/approvals", headers=far)))["items"] == []
    outside = await client.get("/api/v1/approvals", headers=far, params={"area": "990100001"})
    assert outside.status_code == 404
    staff = await client.get("/api/v1/approvals", headers=city.community_staff)
    assert staff.status_code == 403 and error_code(staff) == "not_allowed"
    resident = await client.get("/api/v1/approvals", headers=city.resident)
    assert resident.status_code == 403
    bad = await client.get("/api/v1/approvals", headers=boss, params={"kind": "postpone"})
    assert bad.status_code == 422
    ancient = await client.get("/api/v1/approvals", headers=boss,
                               params={"from": "0001-01-01T00:00:00+14:00"})
    assert ancient.status_code == 422 and error_code(ancient) == "invalid_period"
    other = await client.get(f"/api/v1/approvals/{everything['items'][0]['id']}", headers=far)
    assert other.status_code == 404


async def test_the_register_exports_as_csv(client, city):
    ids, boss = await _scenario(client, city)
    response = await client.get("/api/v1/approvals/export.csv", headers=boss,
                                params={"kind": "suspend"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["申请编号", "案件编号", "类型", "状态"]
    assert len(rows) == 2
    number = (await Ticket.get(id=ids[0])).number
    assert rows[1][1:4] == [number, "挂账", "已批准"]
    assert rows[1][7] == "需等待上级协调"
    forbidden = await client.get("/api/v1/approvals/export.csv", headers=city.community_staff)
    assert forbidden.status_code == 403
