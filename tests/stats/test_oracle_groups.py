"""The breakdowns by 大类/小类 and urgency and the trend (by day / week / month) agree with the
oracle's independent recount (`tests/stats/ledger.py`), like every other published figure.

The scenarios are `test_oracle.py`'s (fresh small city, tickets driven through the API to
generated fates under a frozen clock); each example compares, for generated periods and
filters, every row of the new breakdowns with the ledger: kept by the door (folded or not),
then again after `stats rebuild`. GONGZHI_ORACLE_GROUP_EXAMPLES (default 12).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.stats import service as stats_service
from app.tickets.models import Ticket
from tests.stats import ledger
from tests.stats.clock import Clock
from tests.stats.ledger import Case, Scope
from tests.stats.test_oracle import (
    CELLS,
    FIRST_DAYS,
    LOCAL,
    World,
    _diff,
    drive,
    fresh_world,
    periods,
    query,
)

EXAMPLES = int(os.environ.get("GONGZHI_ORACLE_GROUP_EXAMPLES", "12"))
URGENCY_NAMES = {"normal": "普通", "urgent": "紧急"}


def recount(cases: list[Case], start: datetime, end: datetime, scope: Scope,
            key: Any) -> dict[str, dict[str, int]]:
    """Counts per `key(case)`: a ticket where it is now, a rating under its ticket's key."""
    rows: dict[str, dict[str, int]] = {}

    def put(k: str, more: dict[str, int]) -> None:
        if any(more.values()):
            into = rows.setdefault(k, dict.fromkeys(ledger.COUNTS, 0))
            for name, value in more.items():
                into[name] += value

    for case in cases:
        if scope.holds(cell=case.cell, category=case.category, unit=case.unit):
            put(key(case), ledger.case_counts(case, start, end))
        for rating in case.ratings:
            if scope.holds(cell=rating.cell, category=case.category, unit=rating.unit):
                put(key(case), ledger.rating_counts(rating, start, end))
    return rows


def trend_buckets(by: str, start: datetime, end: datetime) -> list[tuple[date, datetime,
                                                                          datetime]]:
    """The oracle's own buckets: local days, Monday weeks, months, clipped to the period."""
    day = start.astimezone(LOCAL).date()
    first = {"day": day, "week": day - timedelta(days=day.weekday()),
             "month": day.replace(day=1)}[by]
    out = []
    while datetime.combine(first, datetime.min.time(), LOCAL) < end:
        if by == "day":
            following = first + timedelta(days=1)
        elif by == "week":
            following = first + timedelta(days=7)
        else:
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        a = max(datetime.combine(first, datetime.min.time(), LOCAL), start)
        b = min(datetime.combine(following, datetime.min.time(), LOCAL), end)
        out.append((first, a, b))
        first = following
    return out


async def compare(w: World, cases: list[Case], urgency: dict[int, str],
                  spans: list[tuple[datetime, datetime]], scopes: list[Scope], when: str) -> None:
    keys = {"category": lambda c: c.category, "category_major": lambda c: c.category[:2],
            "urgency": lambda c: urgency[c.id]}
    for start, end in spans:
        for scope in scopes:
            where = (when, start.isoformat(), end.isoformat(), scope)
            for by, key in keys.items():
                table = await w.call("GET", "/stats/breakdown", w.city.dispatcher,
                                     **query(start, end, scope, by=by))
                got = {r["key"]: r["counts"] for r in table["rows"]}
                want = recount(cases, start, end, scope, key)
                assert got == want, (*where, by, {k: _diff(got.get(k, {}), want.get(k, {}))
                                                  for k in got.keys() | want.keys()})
                for r in table["rows"]:
                    assert r["rates"] == ledger.rates(r["counts"]), (*where, by)
                    if by == "urgency":
                        assert r["name"] == URGENCY_NAMES[r["key"]]
            for by in ("day", "week", "month"):
                table = await w.call("GET", "/stats/breakdown", w.city.dispatcher,
                                     **query(start, end, scope, by=by))
                buckets = trend_buckets(by, start, end)
                assert [r["key"] for r in table["rows"]] == [b[0].isoformat() for b in buckets]
                for row, (_, a, b) in zip(table["rows"], buckets, strict=True):
                    want_counts = ledger.counts(cases, a, b, scope)
                    assert row["counts"] == want_counts, (*where, by, row["key"],
                                                          _diff(row["counts"], want_counts))
                    assert datetime.fromisoformat(row["period_from"]) == a
                    assert datetime.fromisoformat(row["period_to"]) == b


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_category_urgency_and_trend_agree_with_an_independent_recount(client, clock,
                                                                              data):
    draw = data.draw
    w = await fresh_world(client, clock)
    first_day = draw(st.sampled_from(FIRST_DAYS), label="first day")
    await drive(w, draw, first_day)
    clock.thaw()
    cases = list(w.cases.values())
    # The urgency each report was filed with (the ledger does not keep it).
    urgency = dict(await Ticket.all().values_list("id", "urgency"))
    spans = periods(draw, first_day)
    cell = draw(st.sampled_from(sorted(CELLS)), label="cell filter")
    scopes = [Scope(), Scope(area=cell[:12]), Scope(area=cell),
              Scope(category=draw(st.sampled_from(["99", "9901", "9904"]))),
              Scope(unit=draw(st.sampled_from(sorted(w.unit_names)))),
              Scope(area=cell[:9], category="9904")]
    fold = draw(st.sampled_from(["pending", "some folded", "all folded"]), label="fold")
    if fold == "some folded":
        await stats_service.compact(batch=3, max_batches=1)
    elif fold == "all folded":
        await stats_service.compact()
    await compare(w, cases, urgency, spans, scopes, f"kept by the door, {fold}")
    await stats_service.rebuild()
    await compare(w, cases, urgency, spans, scopes, "after stats rebuild")
