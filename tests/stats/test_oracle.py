"""An independent recount of the published rates (issue 17): generated scenarios driven through
the HTTP API, a ledger the test keeps while driving (`tests/stats/ledger.py`, no code shared
with `app.stats`), and every figure the API publishes compared with it — the summary, every
breakdown, every filter, the community staff's own scope and the CSV export, first as the
door kept the rollups (folded or not), then again after `stats rebuild`.

Each example builds a fresh small city and drives several tickets, each to a fate hypothesis
chooses: auto-routed and claimed, dispatched by hand, rejected, self-disposed, returned,
recategorised, merged, voided (作废, asked and approved), forwarded to an outside body (热线推送),
extended (approved or refused), handled early, exactly at the deadline
or late, verification passed or failed and reworked, closed by a dispatcher, rated 满意 /
基本满意 / 不满意, replied to, sent back for 重办 — on days around a weekend or a holiday, in
categories with limits as short as an hour, with steps that cross local midnight. A frozen
clock (`tests/stats/clock.py`) makes the door see the moments the ledger records.

Examples: GONGZHI_ORACLE_EXAMPLES (default 50 scenarios of 3–8 tickets, some 250 ticket fates,
about a minute on SQLite). The slow mode, by hand (and with DATABASE_URL for MariaDB):

    GONGZHI_ORACLE_EXAMPLES=500 .venv/bin/python -m pytest tests/stats/test_oracle.py
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.accounts.models import Role
from app.areas import service as areas_service
from app.core import config_cache, ratelimit
from app.stats import service as stats_service
from tests.conftest import _empty_all_tables
from tests.factories import make_category, make_rule, make_staff, small_tree
from tests.stats import ledger
from tests.stats.clock import Clock
from tests.stats.ledger import Case, Rated, Scope
from tests.tickets.helpers import City, build_city, report_body

EXAMPLES = int(os.environ.get("GONGZHI_ORACLE_EXAMPLES", "50"))
LOCAL = ZoneInfo("Asia/Shanghai")

# Where reports are made: a point inside each cell used (the small tree's squares).
CELLS = {
    "990100001001001": (116.505, 35.405),  # community 1 of street 1: the grid team's
    "990100001001002": (116.515, 35.405),
    "990100001002001": (116.505, 35.415),  # community 2: no grid team, no grid worker
    "990100002001002": (116.535, 35.405),  # the other street
}
WORKER_CELLS = ("990100001001001", "990100001001002")  # city.worker's community
# 9901 auto-accepted, a rule routes it to the department; 9902 accepted by hand; 9904
# auto-accepted, to the grid team where there is one; 9905 one natural hour, a rule to the
# other department; 9906 accepted by hand, two working hours.
LEAVES = ("9901", "9902", "9904", "9905", "9906")
AUTO_ACCEPT = {"9901", "9904", "9905"}
# Days around a weekend, the May Day and the National Day holidays, and a plain week.
FIRST_DAYS = (date(2026, 3, 6), date(2026, 4, 30), date(2026, 9, 30), date(2026, 6, 15))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL)


@dataclass
class World:
    """A fresh small city, the clock, and the ledger of what the test did."""

    client: Any
    city: City
    clock: Clock
    holders: dict[int, dict]  # unit id → the headers of someone who works its tasks
    unit_names: dict[int, str]
    cases: dict[int, Case] = field(default_factory=dict)
    supervisor: dict = field(default_factory=dict)  # grants 作废

    async def call(self, method: str, path: str, headers: dict, body: dict | None = None,
                   status: int = 200, **params: Any) -> Any:
        response = await self.client.request(method, f"/api/v1{path}", headers=headers,
                                             json=body, params=params or None)
        assert response.status_code == status, (method, path, body, response.text)
        return response.json() if response.headers.get("content-type", "").startswith(
            "application/json") else response.text


async def fresh_world(client: Any, clock: Clock) -> World:
    """Empty tables, then the small city (at the real time: its logins must not expire)."""
    clock.thaw()
    await _empty_all_tables()
    areas_service.invalidate_index()
    config_cache.invalidate()
    ratelimit.counters.memory = ratelimit.MemoryCounters()
    city = await build_city(client)
    await make_category("9905", "短时限事件", auto_accept=True, limit_value=1,
                        limit_unit="natural_hours")
    await make_category("9906", "人工立案", limit_value=2, limit_unit="work_hours")
    await make_rule(unit=city.other_department, category_code="9905", area_code="990100")
    holders = {city.department.id: city.handler, city.other_department.id: city.other_handler,
               city.team.id: city.worker}
    names = {u.id: u.name for u in (city.department, city.other_department, city.team)}
    _, boss = await make_staff(Role.SUPERVISOR, area_code="990100")
    return World(client, city, clock, holders, names, supervisor=boss)


# --- driving one ticket to its fate, writing the ledger ----------------------------------------

# Minutes between steps: mostly within the hour (short limits are met), often hours, at
# times a day or more.
GAPS = st.one_of(st.integers(1, 59), st.integers(1, 59), st.integers(60, 600),
                 st.integers(600, 2000))


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def observe(case: Case, ticket: dict, now: datetime) -> None:
    """What the API says about the ticket after a step: status, unit, category, deadline;
    a ticket dispatched for the first time is dispatched now."""
    case.status = ticket["status"]
    case.unit = ticket["unit"]["id"] if ticket["unit"] else None
    case.category = ticket["category"]["code"]
    case.deadline_at = _at(ticket["deadline_at"])
    if case.status == "dispatched" and case.first_dispatched_at is None:
        case.first_dispatched_at = now


def on_time(now: datetime, deadline: datetime | None) -> bool:
    return deadline is None or now <= deadline  # at the deadline is on time


async def start_ticket(w: World, draw: Any, first_day: date) -> Case:
    day = draw(st.integers(0, 2), label="day")
    minute = draw(st.one_of(st.integers(0, 1439), st.integers(1320, 1439)), label="minute")
    now = w.clock.at(midnight(first_day + timedelta(days=day)) + timedelta(minutes=minute))
    cell = draw(st.sampled_from(sorted(CELLS)), label="cell")
    lng, lat = CELLS[cell]
    category = draw(st.sampled_from(LEAVES), label="category")
    body = report_body(category, location={"lng": lng, "lat": lat, "crs": "wgs84"},
                       urgency=draw(st.sampled_from(["normal", "normal", "urgent"])))
    if cell in WORKER_CELLS and draw(st.integers(0, 9), label="self-dispose?") == 0:
        ticket = await w.call("POST", "/tasks/self-dispose", w.city.worker,
                              {**body, "note": "当场处理"}, status=201)
        case = Case(id=ticket["id"], cell=cell, category=category, unit=None,
                    reported_at=now, self_disposed=True)
        observe(case, ticket, now)
        event("self-disposed")
        return case
    ticket = await w.call("POST", "/tickets", w.city.resident, body, status=201)
    case = Case(id=ticket["id"], cell=cell, category=category, unit=None, reported_at=now)
    if category in AUTO_ACCEPT:
        case.accepted_at = now
    observe(case, ticket, now)
    return case


def moves(w: World, case: Case) -> list[str]:
    """What may happen next, weighted by repetition; "stop" leaves the ticket as it is."""
    s = case.status
    others = [c for c in w.cases.values()
              if c.id != case.id and c.status not in ("merged", "rejected", "voided")]
    merge = ["merge"] if others else []
    rating = case.ratings[0] if case.ratings else None
    if s == "submitted":
        return ["accept"] * 4 + ["reject", "recategorise", "forward", *merge, "stop"]
    if s in ("accepted", "returned"):
        return ["dispatch"] * 3 + ["recategorise", "forward", "void", *merge, "stop"]
    if s == "dispatched":
        return ["claim"] * 6 + ["return", "extend", "void", *merge, "stop"]
    if s == "claimed":
        return ["handle"] * 6 + ["return", "extend", "release", "void", "stop"]
    if s == "verifying":
        return ["verify_pass"] * 3 + ["verify_fail", "verify_fail", "close", "stop"]
    if s == "closed" and not case.self_disposed:
        options = ["stop", "staff_rework"]
        if rating is None:
            options += ["rate"] * 6
        else:
            if not rating.replied:
                options += ["reply", "reply"]
            if rating.level == "unsatisfied" and not rating.sent_back:
                options += ["rating_rework", "rating_rework"]
        return options
    return ["stop"]


async def step(w: World, case: Case, move: str, draw: Any) -> None:
    """Take `move` at the clock's time and write down what it did."""
    c, tid = w.city, case.id
    holder = w.holders.get(case.unit) if case.unit else None
    now = w.clock.now
    if move == "accept":
        ticket = await w.call("POST", f"/tickets/{tid}/accept", c.dispatcher, {})
        case.accepted_at = now
    elif move == "reject":
        ticket = await w.call("POST", f"/tickets/{tid}/reject", c.dispatcher,
                              {"reason": "不属实"})
        case.rejected_at = now
    elif move == "recategorise":
        code = draw(st.sampled_from([x for x in LEAVES if x != case.category]), label="to")
        ticket = await w.call("POST", f"/tickets/{tid}/recategorise", c.dispatcher,
                              {"category_code": code})
    elif move == "merge":
        into = draw(st.sampled_from(sorted(
            x.id for x in w.cases.values()
            if x.id != tid and x.status not in ("merged", "rejected", "voided"))), label="into")
        ticket = await w.call("POST", f"/tickets/{tid}/merge", c.dispatcher,
                              {"duplicate_of": into})
        case.merged = True
    elif move == "forward":  # 热线推送: not ours, to an outside body
        await w.call("POST", f"/tickets/{tid}/forward", c.dispatcher,
                     {"body_name": "市供电公司", "reason": "不属于本区职责"}, status=201)
        ticket = await w.call("GET", f"/tickets/{tid}", c.dispatcher)
        case.forwarded = True
    elif move == "void":  # 作废: a dispatcher asks, a supervisor grants at once
        asked = await w.call("POST", f"/tickets/{tid}/approvals", c.dispatcher,
                             {"kind": "void", "reason": "重复立案"}, status=201)
        await w.call("POST", f"/approvals/{asked['id']}/approve", w.supervisor, {"note": ""})
        ticket = await w.call("GET", f"/tickets/{tid}", c.dispatcher)
        case.voided = True
    elif move == "dispatch":
        unit = draw(st.sampled_from([c.department.id, c.other_department.id]), label="unit")
        ticket = await w.call("POST", f"/tickets/{tid}/dispatch", c.dispatcher,
                              {"unit_id": unit})
    elif move == "claim":
        assert holder is not None, case
        ticket = await w.call("POST", f"/tasks/{tid}/claim", holder, {})
    elif move == "release":
        ticket = await w.call("POST", f"/tasks/{tid}/release", holder, {})
    elif move == "return":
        ticket = await w.call("POST", f"/tasks/{tid}/return", holder, {"reason": "不归我们"})
        case.returned = True
    elif move == "extend":
        asked = await w.call("POST", f"/tasks/{tid}/extension", holder, {
            "reason": "材料未到", "extra_value": draw(st.integers(1, 3), label="extra"),
            "extra_unit": draw(st.sampled_from(
                ["natural_hours", "work_hours", "work_days", "natural_days"]))}, status=201)
        w.clock.advance(minutes=draw(GAPS, label="gap"))
        if draw(st.booleans(), label="approve?"):
            ticket = await w.call(
                "POST", f"/tickets/{tid}/extensions/{asked['id']}/approve", c.dispatcher, {})
        else:
            ticket = await w.call(
                "POST", f"/tickets/{tid}/extensions/{asked['id']}/refuse", c.dispatcher,
                {"reason": "时间足够"})
    elif move == "handle":
        now = handling_time(w, case, draw)
        ticket = await w.call("POST", f"/tasks/{tid}/handle", holder, {"note": "已处置"})
        if case.first_handled_at is None:
            case.first_handled_at = now
            case.handled_on_time = on_time(now, case.deadline_at)
            event(f"first handling {'on time' if case.handled_on_time else 'late'}")
    elif move in ("verify_pass", "verify_fail", "close"):
        if move == "close":
            ticket = await w.call("POST", f"/tickets/{tid}/close", c.dispatcher, {})
        else:
            ticket = await w.call("POST", f"/tickets/{tid}/verify", c.dispatcher, {
                "passed": move == "verify_pass", "note": "" if move == "verify_pass" else "未整改"})
        if move == "verify_fail":  # 返工: back to the same unit, a fresh deadline
            case.reworked, case.closed_at = True, None
        else:
            case.closed_at, case.closed_on_time = now, on_time(now, case.deadline_at)
    elif move == "rate":
        result = draw(st.sampled_from(sorted(ledger.LEVEL_ORDER)), label="result")
        service = draw(st.sampled_from(sorted(ledger.LEVEL_ORDER)), label="service")
        rated = await w.call("POST", f"/tickets/{tid}/rating", c.resident,
                             {"result": result, "service": service}, status=201)
        case.ratings.append(Rated(id=rated["id"], at=now, level=ledger.worse(result, service),
                                  cell=case.cell, unit=case.unit))
        return
    elif move == "reply":
        await w.call("POST", f"/ratings/{case.ratings[0].id}/replies", c.dispatcher,
                     {"body": "感谢反馈"}, status=201)
        case.ratings[0].replied = True
        return
    elif move in ("rating_rework", "staff_rework"):  # 重办: reopened, back to the unit
        if move == "rating_rework":
            await w.call("POST", f"/ratings/{case.ratings[0].id}/rework", c.dispatcher,
                         {"reason": "群众不满意"})
            case.ratings[0].sent_back = True
            ticket = await w.call("GET", f"/tickets/{tid}", c.dispatcher)
        else:
            ticket = await w.call("POST", f"/tickets/{tid}/rework", c.dispatcher,
                                  {"reason": "复查仍有问题"})
        case.reworked, case.closed_at = True, None
    else:
        raise AssertionError(move)
    observe(case, ticket, now)


def handling_time(w: World, case: Case, draw: Any) -> datetime:
    """When the unit reports it handled: as the gap fell, or just before, exactly at or
    after the deadline in force."""
    due, now = case.deadline_at, w.clock.now
    if due is None or due < now:
        return now
    how = draw(st.sampled_from(["gap", "before", "at", "after"]), label="handled when")
    if how == "before":
        return w.clock.at(max(now, due - timedelta(minutes=draw(st.integers(1, 30)))))
    if how == "at":
        return w.clock.at(due)
    if how == "after":
        return w.clock.at(due + timedelta(minutes=draw(st.integers(1, 180), label="late")))
    return now


async def drive(w: World, draw: Any, first_day: date) -> None:
    for _ in range(draw(st.integers(3, 8), label="tickets")):
        case = await start_ticket(w, draw, first_day)
        w.cases[case.id] = case
        for _ in range(16):
            move = draw(st.sampled_from(moves(w, case)), label="move")
            if move == "stop":
                break
            before = w.clock.now.astimezone(LOCAL).date()
            w.clock.advance(minutes=draw(GAPS, label="gap"))
            if w.clock.now.astimezone(LOCAL).date() != before:
                event("a step crossed local midnight")
            event(f"move: {move}")  # --hypothesis-show-statistics shows what was covered
            await step(w, case, move, draw)


# --- comparing every published figure with the ledger ------------------------------------------

AREA_NAMES = {f["properties"]["code"]: f["properties"]["name"]
              for f in small_tree()["features"]}


def periods(draw: Any, first_day: date) -> list[tuple[datetime, datetime]]:
    """Whole local days, ragged edges, a stretch inside one day; bounds in either offset."""
    base = midnight(first_day)
    out = []
    for _ in range(draw(st.integers(1, 2), label="periods")):
        kind = draw(st.sampled_from(["whole", "ragged", "ragged", "inside", "all"]))
        if kind == "whole":
            a = draw(st.integers(-1, 4))
            start, end = base + timedelta(days=a), base + timedelta(
                days=a + draw(st.integers(1, 4)))
        elif kind == "all":
            start, end = base - timedelta(days=1), base + timedelta(days=30)
        else:
            start = base + timedelta(minutes=draw(st.integers(-600, 4 * 1440)))
            longest = 1439 if kind == "inside" else 5 * 1440
            end = start + timedelta(minutes=draw(st.integers(1, longest)))
        event(f"period: {kind}")
        if draw(st.booleans(), label="in UTC?"):
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        out.append((start, end))
    return out


def filters(draw: Any, w: World) -> list[Scope]:
    """Every category (each 小类 and the 大类) and every unit; a cell, a community, a street
    and the district; a category with a unit and a category with an area."""
    units = sorted(w.unit_names)
    cell = draw(st.sampled_from(sorted(CELLS)), label="cell filter")
    return [
        *[Scope(category=code) for code in (*LEAVES, "99")],
        *[Scope(unit=unit) for unit in units], Scope(area=cell),
        Scope(area=draw(st.sampled_from(sorted({c[:12] for c in CELLS})))),
        Scope(area=draw(st.sampled_from(["990100001", "990100002"]))), Scope(area="990100"),
        Scope(category=draw(st.sampled_from([*LEAVES, "99"])),
              unit=draw(st.sampled_from(units))),
        Scope(category=draw(st.sampled_from([*LEAVES, "99"])), area=cell[:12]),
    ]


def query(start: datetime, end: datetime, scope: Scope = Scope(), **more: Any) -> dict:
    params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat(), **more}
    if scope.area:
        params["area"] = scope.area
    if scope.category:
        params["category"] = scope.category
    if scope.unit:
        params["unit"] = scope.unit
    return params


def row_name(w: World, by: str, key: str) -> str:
    if by == "unit":
        return w.unit_names[int(key)] if key else "未派遣"
    return AREA_NAMES.get(key, "未定位")


async def compare(w: World, draw: Any, spans: list[tuple[datetime, datetime]],
                  when: str) -> None:
    cases = list(w.cases.values())
    for start, end in spans:
        where = (when, start.isoformat(), end.isoformat())
        scopes = [Scope(), *filters(draw, w)]
        for scope in scopes:
            got = await w.call("GET", "/stats/summary", w.city.dispatcher,
                               **query(start, end, scope))
            want = ledger.counts(cases, start, end, scope)
            assert got["counts"] == want, (*where, scope, _diff(got["counts"], want))
            assert got["rates"] == ledger.rates(want), (*where, scope)
        # The community staff's own scope, no area asked for.
        mine = Scope(area="990100001001")
        got = await w.call("GET", "/stats/summary", w.city.community_staff, **query(start, end))
        want = ledger.counts(cases, start, end, mine)
        assert got["counts"] == want, (*where, "community staff", _diff(got["counts"], want))
        # Every breakdown, unfiltered and under one of the filters, and its CSV.
        under = draw(st.sampled_from(scopes), label="breakdown filter")
        for scope in {Scope(), under}:
            for by in ledger.BY:
                await compare_breakdown(w, cases, start, end, scope, by, where)


async def compare_breakdown(w: World, cases: list[Case], start: datetime, end: datetime,
                            scope: Scope, by: str, where: tuple) -> None:
    params = query(start, end, scope, by=by)
    table = await w.call("GET", "/stats/breakdown", w.city.dispatcher, **params)
    want = ledger.breakdown(cases, start, end, scope, ledger.BY[by])
    rows = table["rows"]
    keys = [r["key"] for r in rows]
    assert keys == sorted(keys), (*where, by)
    got = {r["key"]: r["counts"] for r in rows if any(r["counts"].values())}
    assert got == want, (*where, scope, by, {k: _diff(got.get(k, {}), want.get(k, {}))
                                               for k in got.keys() | want.keys()})
    for r in rows:
        assert r["rates"] == ledger.rates(r["counts"]), (*where, by, r["key"])
        assert r["name"] == row_name(w, by, r["key"]), (*where, by, r["key"])
    exported = await w.call("GET", "/stats/export.csv", w.city.dispatcher, **params)
    header, lines = ledger.parse_csv(exported)
    assert header == ledger.csv_header()
    assert lines == [ledger.csv_row(r["key"], r["name"], r["counts"]) for r in rows], (
        *where, by)


def _diff(got: dict, want: dict) -> dict:
    return {k: (got.get(k), want.get(k)) for k in ledger.COUNTS if got.get(k) != want.get(k)}


# --- the test -----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_every_published_figure_agrees_with_an_independent_recount(client, clock, data):
    draw = data.draw
    w = await fresh_world(client, clock)
    first_day = draw(st.sampled_from(FIRST_DAYS), label="first day")
    await drive(w, draw, first_day)
    clock.thaw()
    spans = periods(draw, first_day)
    fold = draw(st.sampled_from(["pending", "some folded", "all folded"]), label="fold")
    if fold == "some folded":
        await stats_service.compact(batch=3, max_batches=1)
    elif fold == "all folded":
        await stats_service.compact()
    await compare(w, draw, spans, f"kept by the door, {fold}")
    await stats_service.rebuild()  # what `python -m app stats rebuild` runs
    await compare(w, draw, spans, "after stats rebuild")
