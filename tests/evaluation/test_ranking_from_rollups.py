"""The units' ranking that `/evaluation/units` and the dashboard show is counted from the
stats rollups; the 考核 export (`/evaluation/units.csv`) still reads every ticket's timeline.
Driven through the API with every fate a unit's case can have, the two agree figure for
figure, rank for rank and grade for grade, over months and over periods with ragged ends,
before and after the deltas are folded and after `stats rebuild`."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest

from app.accounts.models import Role
from app.stats import service as stats
from tests.approvals.helpers import ask, claimed, decide, ok, supervisor
from tests.evaluation.test_evaluation import LOCAL, drive_september
from tests.factories import make_staff
from tests.stats.clock import Clock
from tests.tickets.helpers import OTHER_STREET, report


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def both(client: Any, who: dict, **params: Any) -> tuple[list[list[str]], list[list[str]]]:
    """(the ranking from the rollups, the event-level export) as rows of the export."""
    fast = await client.get("/api/v1/evaluation/units", headers=who, params=params)
    assert fast.status_code == 200, fast.text
    exact = await client.get("/api/v1/evaluation/units.csv", headers=who, params=params)
    assert exact.status_code == 200, exact.text
    shown = [[str(r["rank"]) if r["rank"] is not None else "—", r["key"], r["name"],
              r["grade_label"], *[str(v) for v in r["counts"].values()],
              *[rate["display"] for rate in r["rates"].values()]]
             for r in fast.json()["rows"]]
    exported = list(csv.reader(io.StringIO(exact.text.lstrip("\ufeff"))))[1:]
    return shown, exported


PERIODS = (
    {"month": "2026-09"},
    {"month": "2026-10"},
    {},  # this month
    # Ragged ends: from the middle of a day to ten minutes before September ends (the
    # straddling case, dispatched at 23:50, falls after it).
    {"from": datetime(2026, 9, 8, 10, 30, tzinfo=LOCAL).isoformat(),
     "to": datetime(2026, 9, 30, 23, 40, tzinfo=LOCAL).isoformat()},
    {"from": datetime(2026, 9, 7, 9, 5, tzinfo=LOCAL).isoformat(),
     "to": datetime(2026, 10, 8, 9, 0, tzinfo=LOCAL).isoformat()},
)


async def test_the_ranking_from_the_rollups_equals_the_timeline_count(client, city, clock):
    await drive_september(client, city, clock)  # on time, late, bounced, reworked, extended …
    # Accepted on September's last evening, dispatched by hand in October and closed: the
    # units' 应结案/结案 follow the dispatch (October), the published ones the 立案.
    clock.at(datetime(2026, 9, 30, 22, 0, tzinfo=LOCAL))
    tid = (await report(client, city.resident, "9902", location=OTHER_STREET))["id"]
    clock.at(datetime(2026, 9, 30, 23, 0, tzinfo=LOCAL))
    accepted = await ok(await client.post(f"/api/v1/tickets/{tid}/accept", json={},
                                          headers=city.dispatcher))
    assert accepted["status"] == "accepted"  # no rule, no grid team there: the queue
    clock.at(datetime(2026, 10, 1, 9, 0, tzinfo=LOCAL))
    await ok(await client.post(f"/api/v1/tickets/{tid}/dispatch", headers=city.dispatcher,
                               json={"unit_id": city.department.id}))
    clock.advance(minutes=30)
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.handler))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已处理"},
                               headers=city.handler))
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", headers=city.dispatcher,
                               json={"passed": True, "note": "已核查"}))
    clock.thaw()
    # This month: a 挂账, a void (no case of the unit's), a case still open.
    boss = await supervisor()
    suspended, voided, _open = [(await report(client, city.resident, "9901"))["id"]
                                for _ in range(3)]
    await claimed(client, city, suspended)
    await ok(await decide(client, (await ok(await ask(
        client, suspended, city.handler, "suspend"), 201))["id"], boss))
    await ok(await decide(client, (await ok(await ask(
        client, voided, city.dispatcher, "void", reason="重复立案"), 201))["id"], boss))
    # Graded by a rate only the new cohort counts give (结案率 of the dispatched cases).
    _, admin = await make_staff(Role.ADMIN, area_code="990100", name="钱管理")
    grades = await client.put("/api/v1/evaluation/grades/unit", headers=admin, json={
        "rate": "closing_rate", "excellent": 0.9, "good": 0.6, "passing": 0.4})
    assert grades.status_code == 200, grades.text

    for stage in ("pending", "folded", "rebuilt"):
        if stage == "folded":
            await stats.compact()
        elif stage == "rebuilt":
            await stats.rebuild()
        for params in PERIODS:
            shown, exported = await both(client, city.dispatcher, **params)
            assert shown == exported, (stage, params)
        september, _ = await both(client, city.dispatcher, month="2026-09")
        assert {row[1] for row in september} == {str(city.department.id), str(city.team.id)}
        now, _ = await both(client, city.dispatcher)
        assert {row[1] for row in now} == {str(city.department.id)}
        october, _ = await both(client, city.dispatcher, month="2026-10")
        assert [row[1] for row in october] == [str(city.department.id)]
    # The scenario holds what it means to compare: several grades' inputs, a 挂账, a closing.
    table = (await client.get("/api/v1/evaluation/units", headers=city.dispatcher,
                              params={"month": "2026-09"})).json()
    [dept] = [r for r in table["rows"] if r["key"] == str(city.department.id)]
    counts = dept["counts"]
    assert counts["handled_late"] >= 1 and counts["reworked"] == 1 and counts["extended"] == 1
    assert 0 < counts["closed"] < counts["should_close"]
    assert table["decided_by"] == "closing_rate" and dept["grade"] is not None
    current = (await client.get("/api/v1/evaluation/units", headers=city.dispatcher)).json()
    assert current["rows"][0]["counts"]["suspended"] == 1
    # Community staff (a scope of cells, below the per-unit rollup) get the same as the export.
    shown, exported = await both(client, city.community_staff, month="2026-09")
    assert shown == exported
