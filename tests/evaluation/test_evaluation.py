"""The monthly evaluation (考核): a month of tickets driven through the API, every fate that
matters, and the figures of units, dispatchers and grid workers recounted from the steps the
test itself took (a ledger that imports nothing from app/evaluation)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import Role
from tests.factories import make_staff
from tests.stats.clock import Clock
from tests.tickets.helpers import OTHER_STREET, report_body

LOCAL = ZoneInfo("Asia/Shanghai")
SEPT = (datetime(2026, 9, 1, tzinfo=LOCAL), datetime(2026, 10, 1, tzinfo=LOCAL))
LIMIT = timedelta(minutes=30)  # the documented default of 立案, 派遣 and 核查
UNIT_COUNTS = ("should_handle", "handled", "handled_on_time", "handled_late", "reworked",
               "extended", "should_close", "closed", "closed_on_time")
DISPATCHER_COUNTS = ("accepted", "accepted_on_time", "dispatched", "dispatched_on_time",
                     "wrongly_dispatched")
WORKER_COUNTS = ("reported", "valid_reports", "verified", "verified_on_time", "self_disposed")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@dataclass
class Step:
    ticket: int
    action: str
    who: str  # a key of Month.people, or "system"
    at: datetime
    unit: int | None = None
    on_time: bool | None = None  # handle / closing: against the deadline the API showed


@dataclass
class Month:
    """The test's own ledger of what it did, and when."""

    client: Any
    people: dict[str, dict]
    clock: Clock
    steps: list[Step] = field(default_factory=list)
    reported: dict[int, tuple[datetime, str, str]] = field(default_factory=dict)
    fates: dict[int, str] = field(default_factory=dict)  # accepted / rejected / merged
    queued: dict[int, datetime] = field(default_factory=dict)  # reached the dispatch queue

    async def call(self, method: str, path: str, who: str, body: dict | None = None,
                   status: int = 200, **params: Any) -> Any:
        response = await self.client.request(method, f"/api/v1{path}", json=body,
                                             params=params or None, headers=self.people[who])
        assert response.status_code == status, (method, path, response.text)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def note(self, ticket: int, action: str, who: str, **extra: Any) -> None:
        self.steps.append(Step(ticket, action, who, self.clock.now, **extra))

    def later(self, minutes: float) -> None:
        self.clock.advance(minutes=minutes)

    def _after(self, t: dict) -> dict:
        """Note the steps the system took on its own (auto 立案, routing's dispatch)."""
        if t["status"] in ("accepted", "dispatched") and t["id"] not in self.fates:
            self.fates[t["id"]] = "accepted"
            self.queued[t["id"]] = self.clock.now
        if t["status"] == "dispatched":
            self.note(t["id"], "dispatch", "system", unit=t["unit"]["id"])
        return t

    async def report(self, category: str, who: str = "resident", *, patrol: bool = False,
                     location: dict | None = None) -> dict:
        path = "/tasks/patrol" if patrol else "/tickets"
        t = await self.call("POST", path, who, report_body(category, location=location),
                            status=201)
        self.reported[t["id"]] = (self.clock.now, who, "patrol" if patrol else "resident")
        return self._after(t)

    async def deadline(self, tid: int) -> datetime | None:
        t = await self.call("GET", f"/tickets/{tid}", "dispatcher")
        return datetime.fromisoformat(t["deadline_at"]) if t["deadline_at"] else None

    async def accept(self, tid: int) -> dict:
        t = await self.call("POST", f"/tickets/{tid}/accept", "dispatcher", {})
        self.note(tid, "accept", "dispatcher")
        return self._after(t)

    async def dispatch(self, tid: int, unit: int) -> None:
        await self.call("POST", f"/tickets/{tid}/dispatch", "dispatcher", {"unit_id": unit})
        self.note(tid, "dispatch", "dispatcher", unit=unit)

    async def handle(self, tid: int, who: str) -> None:
        due = await self.deadline(tid)
        await self.call("POST", f"/tasks/{tid}/claim", who, {})
        t = await self.call("POST", f"/tasks/{tid}/handle", who, {"note": "已处理"})
        assert t["status"] == "verifying"
        self.note(tid, "handle", who, on_time=due is None or self.clock.now <= due)
        self.note(tid, "request_verification", "system")

    async def verify(self, tid: int, who: str, *, passed: bool = True) -> None:
        due = await self.deadline(tid)
        t = await self.call("POST", f"/tickets/{tid}/verify", who,
                            {"passed": passed, "note": "现场已核查" if passed else "没修好"})
        if passed:
            self.note(tid, "verify_pass", who, on_time=due is None or self.clock.now <= due)
        else:
            self.note(tid, "verify_fail", who)
            assert t["status"] == "dispatched"  # 返工: straight back to the same unit
            self.note(tid, "dispatch", "system", unit=t["unit"]["id"])

    async def close(self, tid: int) -> None:
        due = await self.deadline(tid)
        await self.call("POST", f"/tickets/{tid}/close", "dispatcher", {})
        self.note(tid, "close", "dispatcher", on_time=due is None or self.clock.now <= due)

    async def give_back(self, tid: int, who: str) -> None:
        await self.call("POST", f"/tasks/{tid}/return", who, {"reason": "不归我们管"})
        self.note(tid, "return", who)
        self.queued[tid] = self.clock.now

    async def extend(self, tid: int, who: str) -> None:
        ext = await self.call("POST", f"/tasks/{tid}/extension", who, {
            "reason": "等材料", "extra_value": 1, "extra_unit": "work_days"}, status=201)
        self.later(5)
        await self.call("POST", f"/tickets/{tid}/extensions/{ext['id']}/approve", "dispatcher",
                        {})
        self.note(tid, "approve_extension", "dispatcher")

    async def reject(self, tid: int) -> None:
        await self.call("POST", f"/tickets/{tid}/reject", "dispatcher", {"reason": "不属实"})
        self.fates[tid] = "rejected"

    async def merge(self, tid: int, into: int) -> None:
        await self.call("POST", f"/tickets/{tid}/merge", "dispatcher", {"duplicate_of": into})
        self.fates[tid] = "merged"

    async def self_dispose(self, who: str) -> None:
        t = await self.call("POST", "/tasks/self-dispose", who,
                            {**report_body("9904"), "note": "已当场清理"}, status=201)
        self.reported[t["id"]] = (self.clock.now, who, "self")


# --- the independent recount ---------------------------------------------------------------

def _in(period: tuple[datetime, datetime], moment: datetime) -> bool:
    return period[0] <= moment < period[1]


def _by_ticket(steps: list[Step]) -> dict[int, list[Step]]:
    out: dict[int, list[Step]] = {}
    for s in steps:
        out.setdefault(s.ticket, []).append(s)
    return out


def expected_units(m: Month, period: tuple[datetime, datetime]) -> dict[int, Counter]:
    out: dict[int, Counter] = {}
    for tid, steps in _by_ticket(m.steps).items():
        if m.fates.get(tid) == "merged":
            continue
        stints: dict[int, dict] = {}
        current = None
        first_on_time = None
        closed = None  # the on-time verdict of the closing that stands
        for s in steps:
            stint = stints.get(current) if current is not None else None
            if s.action == "dispatch":
                current = s.unit
                stints.setdefault(s.unit, {"first": s.at, "handled": False, "reworked": False,
                                           "extended": False})["returned"] = False
            elif s.action == "return":
                if stint is not None and not stint["handled"]:
                    stint["returned"] = True
                current = None
            elif s.action == "handle":
                stint["handled"] = True
                first_on_time = s.on_time if first_on_time is None else first_on_time
            elif s.action in ("verify_fail", "rate_rework"):
                stint["reworked"] = stint["reworked"] or stint["handled"]
                closed = None
            elif s.action == "approve_extension":
                stint["extended"] = True
            elif s.action in ("verify_pass", "close"):
                closed = s.on_time
        for unit, st in stints.items():
            if not _in(period, st["first"]) or st["returned"]:
                continue
            c = out.setdefault(unit, Counter())
            c["should_handle"] += 1
            c["should_close"] += 1
            c["extended"] += st["extended"]
            if st["handled"]:
                c["handled"] += 1
                c["handled_on_time" if first_on_time else "handled_late"] += 1
                c["reworked"] += st["reworked"]
            if closed is not None and unit == current:
                c["closed"] += 1
                c["closed_on_time"] += closed
    return out


def expected_dispatchers(m: Month, period: tuple[datetime, datetime]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for tid, steps in _by_ticket(m.steps).items():
        queued = m.reported[tid][0]
        for i, s in enumerate(steps):
            if s.who != "dispatcher" or not _in(period, s.at):
                pass
            elif s.action == "accept":
                c = out.setdefault(s.who, Counter())
                c["accepted"] += 1
                c["accepted_on_time"] += s.at - m.reported[tid][0] <= LIMIT
            elif s.action == "dispatch":
                c = out.setdefault(s.who, Counter())
                c["dispatched"] += 1
                c["dispatched_on_time"] += s.at - queued <= LIMIT
                after = [x.action for x in steps[i + 1:] if x.action in ("return", "dispatch")]
                c["wrongly_dispatched"] += bool(after) and after[0] == "return"
            if s.action in ("accept", "return"):
                queued = s.at
    return out


def expected_workers(m: Month, period: tuple[datetime, datetime]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for tid, (at, who, how) in m.reported.items():
        if not _in(period, at) or how == "resident":
            continue
        c = out.setdefault(who, Counter())
        if how == "self":
            c["self_disposed"] += 1
        else:
            c["reported"] += 1
            c["valid_reports"] += m.fates.get(tid) == "accepted"
    for steps in _by_ticket(m.steps).values():
        asked = None
        for s in steps:
            if s.action == "request_verification":
                asked = s.at
            elif s.action in ("verify_pass", "verify_fail") and s.who.startswith("worker") \
                    and _in(period, s.at):
                c = out.setdefault(s.who, Counter())
                c["verified"] += 1
                c["verified_on_time"] += s.at - asked <= LIMIT
    return out


# --- the month -----------------------------------------------------------------------------

async def drive_september(client: Any, city: Any, clock: Clock) -> Month:
    people = {"resident": city.resident, "dispatcher": city.dispatcher, "worker": city.worker,
              "worker2": city.worker2, "handler": city.handler,
              "other_handler": city.other_handler}
    m = Month(client, people, clock)
    dept, other = city.department.id, city.other_department.id
    clock.at(datetime(2026, 9, 7, 9, 0, tzinfo=LOCAL))  # a Monday

    on_time = (await m.report("9901"))["id"]  # routed to the department, dispatched at once
    m.later(10)
    await m.handle(on_time, "handler")
    m.later(20)
    await m.verify(on_time, "worker2")  # 核查 within 30 min

    late = (await m.report("9901"))["id"]
    clock.at(await m.deadline(late) + timedelta(hours=1))
    await m.handle(late, "handler")
    m.later(45)
    await m.verify(late, "worker2")  # a late 核查, and a late closing

    # Returned by the department; the dispatcher sends it to the wrong unit (returned again),
    # then, late, back to the department, which handles it.
    clock.at(datetime(2026, 9, 8, 9, 0, tzinfo=LOCAL))
    bounced = (await m.report("9901"))["id"]
    m.later(5)
    await m.give_back(bounced, "handler")
    m.later(15)
    await m.dispatch(bounced, other)
    m.later(10)
    await m.give_back(bounced, "other_handler")
    m.later(120)
    await m.dispatch(bounced, dept)
    m.later(10)
    await m.handle(bounced, "handler")
    m.later(5)
    await m.close(bounced)

    # 返工: failed 核查, back to the same unit, handled again.
    clock.at(datetime(2026, 9, 9, 9, 0, tzinfo=LOCAL))
    reworked = (await m.report("9901"))["id"]
    m.later(30)
    await m.handle(reworked, "handler")
    m.later(10)
    await m.verify(reworked, "worker2", passed=False)
    m.later(30)
    await m.handle(reworked, "handler")
    m.later(10)
    await m.verify(reworked, "dispatcher")

    # 延期: approved, then handled after the first deadline but before the extended one.
    clock.at(datetime(2026, 9, 10, 9, 0, tzinfo=LOCAL))
    extended = (await m.report("9901"))["id"]
    first_due = await m.deadline(extended)
    m.later(10)
    await m.extend(extended, "handler")
    assert await m.deadline(extended) > first_due
    clock.at(first_due + timedelta(minutes=30))
    await m.handle(extended, "handler")
    m.later(10)
    await m.verify(extended, "dispatcher")

    # The dispatcher's 立案 (residents' reports of a category without auto 立案): on time,
    # late, rejected; a patrol report (accepted at once) and its duplicate, merged.
    clock.at(datetime(2026, 9, 14, 9, 0, tzinfo=LOCAL))
    accepted = (await m.report("9902"))["id"]
    m.later(10)
    t = await m.accept(accepted)
    if t["status"] == "accepted":  # no unit found: the dispatcher dispatches by hand
        m.later(10)
        await m.dispatch(accepted, dept)
    accepted_late = (await m.report("9902"))["id"]
    m.later(45)
    t = await m.accept(accepted_late)
    manual = t["status"] == "accepted"
    if manual:
        m.later(50)
        await m.dispatch(accepted_late, other)  # a late dispatch, then handled by the unit
    m.later(10)
    await m.handle(accepted_late, "other_handler" if manual else "worker")
    m.later(10)
    await m.verify(accepted_late, "worker2")
    rejected = (await m.report("9902"))["id"]
    m.later(5)
    await m.reject(rejected)
    patrolled = (await m.report("9902", "worker", patrol=True))["id"]
    duplicate = (await m.report("9902", "worker", patrol=True))["id"]
    m.later(5)
    await m.merge(duplicate, patrolled)
    merged_after_dispatch = (await m.report("9901"))["id"]
    m.later(5)
    await m.merge(merged_after_dispatch, on_time)
    await m.self_dispose("worker")
    await m.self_dispose("worker2")

    # Grid team work: a patrol report handled by one grid worker, checked by the reporter.
    team_case = (await m.report("9904", "worker", patrol=True))["id"]
    m.later(15)
    await m.handle(team_case, "worker2")
    m.later(25)
    await m.verify(team_case, "worker")

    # Another street (outside the community staff's cell), still the district's.
    elsewhere = (await m.report("9901", location=OTHER_STREET))["id"]
    m.later(10)
    await m.handle(elsewhere, "handler")

    # Dispatched on the last evening of September, handled in October: September's case.
    clock.at(datetime(2026, 9, 30, 23, 50, tzinfo=LOCAL))
    straddling = (await m.report("9901"))["id"]
    clock.at(datetime(2026, 10, 8, 9, 30, tzinfo=LOCAL))
    await m.handle(straddling, "handler")
    m.later(5)
    await m.verify(straddling, "worker2")
    # October's own: not in September.
    october = (await m.report("9901"))["id"]
    m.later(10)
    await m.give_back(october, "handler")
    clock.thaw()
    return m


def _counts(rows: list[dict], names: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {row["key"]: {n: row["counts"][n] for n in names} for row in rows}


def _want(expected: dict, names: tuple[str, ...], key: Any = str) -> dict[str, dict[str, int]]:
    return {key(k): {n: int(c[n]) for n in names} for k, c in expected.items()}


async def _ids(m: Month) -> dict[str, str]:
    return {who: str((await m.call("GET", "/me", who))["id"])
            for who in ("dispatcher", "worker", "worker2")}


async def test_a_month_of_tickets_is_evaluated_as_the_steps_recount_it(client, city, clock):
    m = await drive_september(client, city, clock)
    ids = await _ids(m)

    units = await m.call("GET", "/evaluation/units", "dispatcher", month="2026-09")
    want_units = _want(expected_units(m, SEPT), UNIT_COUNTS)
    assert _counts(units["rows"], UNIT_COUNTS) == want_units
    dept = want_units[str(city.department.id)]
    # The fates the scenario means to cover are really in it.
    assert dept["handled_late"] >= 1 and dept["reworked"] == 1 and dept["extended"] == 1
    assert str(city.other_department.id) not in want_units  # it returned its only case

    dispatchers = await m.call("GET", "/evaluation/dispatchers", "dispatcher", month="2026-09")
    want_dispatchers = _want(expected_dispatchers(m, SEPT), DISPATCHER_COUNTS,
                             key=lambda who: ids[who])
    assert _counts(dispatchers["rows"], DISPATCHER_COUNTS) == want_dispatchers
    mine = want_dispatchers[ids["dispatcher"]]
    assert mine["wrongly_dispatched"] == 1 and 0 < mine["dispatched_on_time"] < mine["dispatched"]
    assert 0 < mine["accepted_on_time"] < mine["accepted"]

    workers = await m.call("GET", "/evaluation/workers", "dispatcher", month="2026-09")
    want_workers = _want(expected_workers(m, SEPT), WORKER_COUNTS, key=lambda who: ids[who])
    assert _counts(workers["rows"], WORKER_COUNTS) == want_workers
    collector = want_workers[ids["worker"]]
    assert collector["reported"] == 3 and collector["valid_reports"] == 2
    assert collector["self_disposed"] == 1
    assert want_workers[ids["worker2"]]["verified"] > want_workers[ids["worker2"]][
        "verified_on_time"] > 0

    # The rates are the counts' fractions; ranks follow the deciding rate.
    row = next(r for r in units["rows"] if r["key"] == str(city.department.id))
    assert row["rates"]["handled_on_time_rate"]["value"] == pytest.approx(
        dept["handled_on_time"] / dept["should_handle"])
    assert row["rates"]["rework_rate"]["value"] == pytest.approx(1 / dept["handled"])
    assert units["decided_by"] == "handled_on_time_rate"
    decided = [r["rates"][units["decided_by"]]["value"] for r in units["rows"]]
    assert decided == sorted(decided, reverse=True) and units["rows"][0]["rank"] == 1

    # October holds only October's steps.
    october = await m.call("GET", "/evaluation/units", "dispatcher", month="2026-10")
    assert _counts(october["rows"], UNIT_COUNTS) == _want(
        expected_units(m, (SEPT[1], datetime(2026, 11, 1, tzinfo=LOCAL))), UNIT_COUNTS)


async def test_community_staff_see_their_cells_only(client, city, clock):
    m = await drive_september(client, city, clock)
    m.people["community_staff"] = city.community_staff
    everything = await m.call("GET", "/evaluation/units", "dispatcher", month="2026-09")
    theirs = await m.call("GET", "/evaluation/units", "community_staff", month="2026-09")
    dept = str(city.department.id)
    whole = _counts(everything["rows"], UNIT_COUNTS)[dept]["should_handle"]
    assert _counts(theirs["rows"], UNIT_COUNTS)[dept]["should_handle"] == whole - 1
    assert (await client.get("/api/v1/evaluation/units", headers=city.community_staff,
                             params={"area": "990100002"})).status_code == 404


async def test_grades_follow_the_thresholds_an_admin_sets(client, city, clock):
    m = await drive_september(client, city, clock)
    _, admin = await make_staff(Role.ADMIN, area_code="990100", name="钱管理")
    m.people["admin"] = admin
    rules = await m.call("GET", "/evaluation/grades", "dispatcher")
    assert {r["kind"]: r["rate"] for r in rules["items"]} == {
        "unit": "handled_on_time_rate", "dispatcher": "dispatch_accuracy_rate",
        "worker": "valid_report_rate"}
    assert all(r["updated_at"] is None for r in rules["items"])  # the documented defaults

    dept = str(city.department.id)
    before = await m.call("GET", "/evaluation/units", "dispatcher", month="2026-09")
    rate = next(r for r in before["rows"] if r["key"] == dept)["rates"]["closing_rate"]["value"]
    assert rate is not None
    changed = await m.call("PUT", "/evaluation/grades/unit", "admin", {
        "rate": "closing_rate", "excellent": 1.0, "good": rate, "passing": 0.1})
    assert changed["rate_label"] == "结案率" and changed["updated_at"] is not None
    after = await m.call("GET", "/evaluation/units", "dispatcher", month="2026-09")
    row = next(r for r in after["rows"] if r["key"] == dept)
    assert after["decided_by"] == "closing_rate"
    assert (row["grade"], row["grade_label"]) == (("excellent", "优秀") if rate == 1.0
                                                  else ("good", "良好"))

    # A dispatcher may read but not set; bad thresholds are refused in words.
    await m.call("PUT", "/evaluation/grades/unit", "dispatcher",
                 {"rate": "closing_rate", "excellent": 0.9, "good": 0.8, "passing": 0.7},
                 status=403)
    bad = await m.call("PUT", "/evaluation/grades/unit", "admin",
                       {"rate": "closing_rate", "excellent": 0.5, "good": 0.8, "passing": 0.7},
                       status=422)
    assert bad["error"]["code"] == "invalid_grade_rule"
    wrong_rate = await m.call("PUT", "/evaluation/grades/worker", "admin",
                              {"rate": "closing_rate", "excellent": 0.9, "good": 0.8,
                               "passing": 0.7}, status=422)
    assert "不适用" in wrong_rate["error"]["message"]
    await m.call("PUT", "/evaluation/grades/nobody", "admin",
                 {"rate": "closing_rate", "excellent": 0.9, "good": 0.8, "passing": 0.7},
                 status=404)


async def test_the_csv_is_the_table_in_chinese_for_excel(client, city, clock):
    m = await drive_september(client, city, clock)
    table = await m.call("GET", "/evaluation/workers", "dispatcher", month="2026-09")
    response = await client.get("/api/v1/evaluation/workers.csv", headers=city.dispatcher,
                                params={"month": "2026-09"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["排名", "编号", "名称", "等级"] and "有效上报率" in rows[0]
    assert [r[1] for r in rows[1:]] == [r["key"] for r in table["rows"]]
    assert [r[2] for r in rows[1:]] == [r["name"] for r in table["rows"]]


async def test_bad_periods_and_outsiders_are_refused(client, city):
    for params in ({"month": "2026-13"}, {"month": "2026-9"},
                   {"month": "2026-09", "from": "2026-09-01T00:00:00+08:00"},
                   {"from": "2026-09-01T00:00:00+08:00"},
                   {"from": "2026-09-02T00:00:00+08:00", "to": "2026-09-01T00:00:00+08:00"},
                   {"from": "0001-01-01T00:00:00+08:00", "to": "2026-09-01T00:00:00+08:00"},
                   {"from": "2026-09-01T00:00:00", "to": "2026-09-02T00:00:00"}):
        response = await client.get("/api/v1/evaluation/units", headers=city.dispatcher,
                                    params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["code"] in ("invalid_query", "invalid_period",
                                                    "naive_datetime")
    for headers in (city.worker, city.handler, city.resident):
        response = await client.get("/api/v1/evaluation/dispatchers", headers=headers)
        assert response.status_code == 403
    empty = await client.get("/api/v1/evaluation/units", headers=city.dispatcher, params={
        "from": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        "to": datetime(2026, 1, 2, tzinfo=UTC).isoformat()})
    assert empty.status_code == 200 and empty.json()["rows"] == []
