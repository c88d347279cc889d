"""The monthly rollups: whole months of a period are read from them, the days at their edges
from the daily rollups and the hours from the tickets. Tickets whose stages fall on either
side of month boundaries, driven through the API under a frozen clock; every summary,
breakdown, trend and the units' ranking over periods of whole months with ragged days and
hours equal a recount (`metrics.tally`, the timeline export), with the deltas pending, folded,
moved again after folding, and after `stats rebuild`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.catalog.models import Category
from app.stats import metrics
from app.stats import service as stats
from app.stats.models import (
    StatsDaily,
    StatsDailyCategory,
    StatsDailySource,
    StatsDailyUnit,
    StatsDelta,
    StatsMonthly,
    StatsMonthlyCategory,
    StatsMonthlySource,
    StatsMonthlyUnit,
)
from app.stats.reads import split_months
from app.tickets.models import Ticket
from tests.evaluation.test_ranking_from_rollups import both
from tests.stats.clock import Clock
from tests.stats.test_summary import post
from tests.tickets.helpers import OTHER_STREET, report, report_body

LOCAL = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


PERIODS = (
    (at(2026, 8, 20, 10, 30), at(2026, 11, 3, 15, 0)),  # Sep, Oct; days and hours either side
    (at(2026, 9, 1), at(2026, 11, 1)),  # whole months only
    (at(2026, 9, 1), at(2026, 10, 20)),  # a month and the days after it
    (at(2026, 8, 31, 23, 0), at(2026, 10, 1)),  # an hour, then September
    (at(2026, 9, 10), at(2026, 10, 10)),  # no whole month: the daily rollups alone
    (at(2026, 1, 1), at(2027, 1, 1)),  # the year
)


def test_a_range_is_cut_into_whole_months_and_the_days_around_them():
    cut = split_months(date(2026, 8, 21), date(2026, 11, 3))
    assert cut.months == (date(2026, 9, 1), date(2026, 11, 1))
    assert cut.days == [(date(2026, 8, 21), date(2026, 9, 1)),
                        (date(2026, 11, 1), date(2026, 11, 3))]
    december = split_months(date(2026, 12, 1), date(2027, 1, 1))
    assert december.months == (date(2026, 12, 1), date(2027, 1, 1)) and december.days == []
    none = split_months(date(2026, 9, 10), date(2026, 10, 10))
    assert none.months is None and none.days == [(date(2026, 9, 10), date(2026, 10, 10))]


async def drive(client: Any, city: Any, clock: Clock) -> dict[str, int]:
    """Cases with stages on both sides of the ends of August, September and October."""
    ids: dict[str, int] = {}
    clock.at(at(2026, 8, 31, 23, 30))  # reported and dispatched on August's last evening,
    ids["straddles"] = (await report(client, city.resident, "9901"))["id"]
    clock.at(at(2026, 9, 1, 0, 40))  # handled and closed on September's first night
    tid = ids["straddles"]
    await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="已处理")
    await post(client, f"/api/v1/tickets/{tid}/verify", city.dispatcher, passed=True)

    clock.at(at(2026, 9, 15, 10, 0))
    ids["september"] = (await report(client, city.resident, "9904"))["id"]  # the grid team
    ids["to_move"] = (await report(client, city.resident, "9901"))["id"]  # the department
    ids["urgent"] = (await report(client, city.resident, "9904", urgency="urgent"))["id"]
    clock.at(at(2026, 10, 8, 11, 0))  # handled in October, late
    tid = ids["september"]
    await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="已清理")
    await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=True)

    clock.at(at(2026, 9, 30, 22, 0))  # reported in September, 立案 and dispatched in October
    ids["late_accept"] = (await report(client, city.resident, "9902",
                                       location=OTHER_STREET))["id"]
    clock.at(at(2026, 10, 1, 9, 0))
    tid = ids["late_accept"]
    await post(client, f"/api/v1/tickets/{tid}/accept", city.dispatcher)
    await post(client, f"/api/v1/tickets/{tid}/dispatch", city.dispatcher,
               unit_id=city.department.id)

    clock.at(at(2026, 10, 20, 9, 0))
    patrol = await client.post("/api/v1/tasks/patrol", headers=city.worker,
                               json=report_body("9904"))
    assert patrol.status_code == 201, patrol.text
    ids["patrol"] = patrol.json()["id"]
    clock.at(at(2026, 10, 31, 23, 50))  # reported in October, rejected in November
    ids["rejected"] = (await report(client, city.resident, "9902"))["id"]
    clock.at(at(2026, 11, 1, 8, 0))
    await post(client, f"/api/v1/tickets/{ids['rejected']}/reject", city.dispatcher,
               reason="不属实")
    clock.at(at(2026, 11, 2, 9, 0))
    ids["november"] = (await report(client, city.resident, "9901"))["id"]
    return ids


async def move_folded_counts(client: Any, city: Any, clock: Clock, ids: dict[str, int]) -> None:
    """In November, a September case goes back and into another category and unit, and an
    October one is merged: counts of folded months leave their rows (negative deltas)."""
    clock.at(at(2026, 11, 2, 10, 0))
    tid = ids["to_move"]
    await post(client, f"/api/v1/tasks/{tid}/return", city.handler, reason="不归我们")
    await post(client, f"/api/v1/tickets/{tid}/recategorise", city.dispatcher,
               category_code="9904")
    await post(client, f"/api/v1/tickets/{ids['patrol']}/merge", city.dispatcher,
               duplicate_of=ids["september"])


def _same(got: dict[str, int], want: metrics.TicketCounts) -> bool:
    return all(got[name] == getattr(want, name) for name in metrics.TICKET_COUNTS)


ZERO = dict.fromkeys(metrics.TICKET_COUNTS, 0)
RANKED = ("should_handle", "handled", "handled_on_time", "reworked")  # the ranking's, as published


async def check(client: Any, city: Any, stage: str) -> None:
    """Every figure over every period equals the recount of the tickets as they are now."""
    tickets = await Ticket.all()
    paths = dict(await Category.all().values_list("id", "path"))

    def tally(start: datetime, end: datetime, keep: Callable[[Ticket], bool] = bool
              ) -> metrics.TicketCounts:
        return metrics.tally([stats.facts_of(t) for t in tickets if keep(t)],
                             period=metrics.Period(start, end))

    async def get(path: str, who: dict, **params: Any) -> Any:
        response = await client.get(f"/api/v1/stats/{path}", headers=who, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    keys: dict[str, Callable[[Ticket], str]] = {
        "grid": lambda t: t.area_path.strip("/").rsplit("/", 1)[1],
        "street": lambda t: t.area_path.strip("/").split("/")[1],
        "unit": lambda t: str(t.unit_id or ""),
        "category": lambda t: paths[t.category_id].strip("/").rsplit("/", 1)[1],
        "category_major": lambda t: paths[t.category_id].strip("/").split("/")[0],
        "source": lambda t: str(t.source),
        "urgency": lambda t: str(t.urgency),
    }
    for start, end in PERIODS:
        span = {"from": start.isoformat(), "to": end.isoformat()}
        where = (stage, start, end)
        body = await get("summary", city.dispatcher, **span)
        assert _same(body["counts"], tally(start, end)), where
        for params, keep in (
                ({"category": "9901"}, lambda t: paths[t.category_id] == "/99/9901/"),
                ({"category": "99"}, lambda t: paths[t.category_id].startswith("/99/")),
                ({"unit": city.department.id}, lambda t: t.unit_id == city.department.id),
                ({"area": "990100001001001"}, lambda t: "/990100001001001/" in t.area_path)):
            body = await get("summary", city.dispatcher, **span, **params)
            assert _same(body["counts"], tally(start, end, keep)), (where, params)
        for by, key in keys.items():
            rows = (await get("breakdown", city.dispatcher, by=by, **span))["rows"]
            shown = {row["key"]: row["counts"] for row in rows}
            for value in {key(t) for t in tickets}:
                want = tally(start, end, lambda t, v=value, k=key: k(t) == v)
                assert _same(shown.get(value, ZERO), want), (where, by, value)
        for by in ("month", "week"):
            for row in (await get("breakdown", city.dispatcher, by=by, **span))["rows"]:
                a = datetime.fromisoformat(row["period_from"])
                b = datetime.fromisoformat(row["period_to"])
                assert _same(row["counts"], tally(a, b)), (where, by, row["key"])
        # The units' ranking (the per-unit rollup's cohort counts): its published counts per
        # unit holding the case, and, until a case has passed through two units (where the
        # two countings differ by design, docs/metrics.md), the timeline export row for row.
        ranking = await client.get("/api/v1/evaluation/units", headers=city.dispatcher,
                                   params=span)
        assert ranking.status_code == 200, ranking.text
        ranked = {row["key"]: row["counts"] for row in ranking.json()["rows"]}
        for unit in (city.department, city.team):
            want = tally(start, end, lambda t, u=unit.id: t.unit_id == u)
            got = ranked.get(str(unit.id), {})
            assert [got.get(n, 0) for n in RANKED] == [getattr(want, n) for n in RANKED], (
                where, unit.name)
        if "moved" not in stage:
            shown, exported = await both(client, city.dispatcher, **span)
            assert shown == exported, where
    # The trend by day over the first period: every day's own figures.
    start, end = PERIODS[0]
    for row in (await get("breakdown", city.dispatcher, by="day",
                          **{"from": start.isoformat(), "to": end.isoformat()}))["rows"]:
        a, b = datetime.fromisoformat(row["period_from"]), datetime.fromisoformat(row["period_to"])
        assert _same(row["counts"], tally(a, b)), (stage, row["key"])


PAIRS = ((StatsDaily, StatsMonthly), (StatsDailyUnit, StatsMonthlyUnit),
         (StatsDailyCategory, StatsMonthlyCategory), (StatsDailySource, StatsMonthlySource))


async def months_of_days() -> list[tuple[dict, dict]]:
    """For each rollup: (its daily rows added up per month, its monthly rows), zeros left out."""
    out = []
    for daily, monthly in PAIRS:
        keys = [k for k in daily._meta.unique_together[0] if k != "day"]
        summed: dict = {}
        for row in await daily.all().values("day", *keys, *metrics.ROLLUP_COUNTS):
            into = summed.setdefault((row["day"].replace(day=1), *[row[k] for k in keys]),
                                     dict.fromkeys(metrics.ROLLUP_COUNTS, 0))
            for name in metrics.ROLLUP_COUNTS:
                into[name] += row[name]
        stored = {(row["day"], *[row[k] for k in keys]): {n: row[n] for n in metrics.ROLLUP_COUNTS}
                  for row in await monthly.all().values("day", *keys, *metrics.ROLLUP_COUNTS)}
        out.append(({k: v for k, v in summed.items() if any(v.values())},
                    {k: v for k, v in stored.items() if any(v.values())}))
    return out


async def test_whole_months_from_the_monthly_rollups_equal_a_recount(client, city, clock):
    ids = await drive(client, city, clock)
    assert await StatsMonthly.all().count() == 0  # nothing folded yet: every day is a delta
    await check(client, city, "pending")

    await stats.compact(batch=4)
    assert await StatsDelta.all().count() == 0
    folded = await months_of_days()
    for days, months in folded:
        assert days == months and {key[0].month for key in months} >= {8, 9, 10, 11}
    await check(client, city, "folded")

    await move_folded_counts(client, city, clock, ids)
    assert await StatsDelta.filter(day__lt=at(2026, 10, 1).date(), reported__lt=0).exists()
    await check(client, city, "moved, pending")

    await stats.compact()
    kept = await months_of_days()
    assert kept != folded
    assert all(days == months for days, months in kept)
    await check(client, city, "moved, folded")

    await stats.rebuild()
    assert await months_of_days() == kept
    await check(client, city, "moved, rebuilt")
    clock.thaw()
