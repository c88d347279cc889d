"""The rollup per (day, community, source, urgency): kept by every ticket change like the
others, equal to a recount after reports, handling, closing and `stats rebuild`, and the
breakdowns by source and by urgency read from it agree with the formulas, whole days and
the hours at either end alike."""

import asyncio
from datetime import UTC, datetime, time, timedelta

from app.core.workcalendar import SHANGHAI
from app.stats import metrics
from app.stats import service as stats
from app.stats.models import StatsDailySource, StatsDelta
from app.tickets.models import Ticket
from tests.stats.test_rollup import history, rollup_totals
from tests.stats.test_summary import post
from tests.tickets.helpers import report, report_body

KEYS = ("day", "area_path", "source", "urgency")


async def source_totals() -> dict:
    """The source rollup as {(day, community, source, urgency): counts}, folded rows and
    pending deltas together, zeros left out."""
    totals: dict = {}

    def add(key: tuple, row: dict) -> None:
        into = totals.setdefault(key, dict.fromkeys(metrics.ROLLUP_COUNTS, 0))
        for name in metrics.ROLLUP_COUNTS:
            into[name] += row[name]

    for row in await StatsDailySource.all().values(*KEYS, *metrics.ROLLUP_COUNTS):
        add(tuple(row[k] for k in KEYS), row)
    for row in await StatsDelta.all().values(*KEYS, *metrics.ROLLUP_COUNTS):
        add((row["day"], stats.community_path(row["area_path"]), row["source"] or "",
             row["urgency"] or ""), row)
    return {key: counts for key, counts in totals.items() if any(counts.values())}


def per_day(totals: dict) -> dict:
    """{day: counts} of the ticket counts, whatever else the key holds."""
    out: dict = {}
    for key, counts in totals.items():
        into = out.setdefault(key[0], dict.fromkeys(metrics.TICKET_COUNTS, 0))
        for name in metrics.TICKET_COUNTS:
            into[name] += counts[name]
    return {day: c for day, c in out.items() if any(c.values())}


async def test_the_source_rollup_stays_equal_to_a_recount(client, city):
    ids = await history(client, city)
    recounted = await source_totals()
    assert {key[2] for key in recounted} == {"resident"}
    # The same tickets, per day, as the rollup per cell.
    assert per_day(recounted) == per_day((await rollup_totals())[0])

    old = ids["old_open"]
    await post(client, f"/api/v1/tasks/{old}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{old}/handle", city.worker, note="已清理")
    await post(client, f"/api/v1/tickets/{old}/verify", city.worker2, passed=False,
               note="还有残留")  # rework
    await post(client, f"/api/v1/tasks/{old}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{old}/handle", city.worker, note="再次清理")
    await post(client, f"/api/v1/tickets/{old}/verify", city.worker2, passed=True)  # closed
    await post(client, f"/api/v1/tasks/{ids['to_return']}/return", city.handler, reason="不归我们")
    await post(client, f"/api/v1/tickets/{ids['to_merge']}/merge", city.dispatcher,
               duplicate_of=ids["to_return"])
    await report(client, city.resident, "9904", urgency="urgent")
    patrol = await client.post("/api/v1/tasks/patrol", headers=city.worker,
                               json=report_body("9904"))
    assert patrol.status_code == 201, patrol.text
    disposed = await client.post("/api/v1/tasks/self-dispose", headers=city.worker, json={
        **report_body("9904"), "note": "已当场清理"})
    assert disposed.status_code == 201, disposed.text
    kept = await source_totals()
    assert kept != recounted
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    assert {(key[2], key[3]) for key in kept if key[0] == today} >= {
        ("resident", "urgent"), ("patrol", "normal")}
    assert per_day(kept) == per_day((await rollup_totals())[0])

    await asyncio.gather(stats.compact(batch=3), stats.compact(batch=3))  # two job instances
    assert await StatsDelta.all().count() == 0
    assert await source_totals() == kept  # folded, nothing lost, nothing twice
    await stats.rebuild()
    assert await source_totals() == kept


async def test_breakdowns_by_source_and_urgency_match_the_formulas(client, city):
    await history(client, city)
    urgent = await report(client, city.resident, "9901", urgency="urgent")
    await post(client, f"/api/v1/tasks/{urgent['id']}/claim", city.handler)
    await post(client, f"/api/v1/tasks/{urgent['id']}/handle", city.handler, note="已修好")
    patrol = await client.post("/api/v1/tasks/patrol", headers=city.worker,
                               json=report_body("9904"))
    assert patrol.status_code == 201, patrol.text
    await stats.compact()
    await report(client, city.resident, "9904")  # a delta not folded yet
    tickets = await Ticket.all()
    now = datetime.now(UTC)
    today = datetime.combine(now.astimezone(SHANGHAI).date(), time.min, tzinfo=SHANGHAI)
    periods = [
        (today - timedelta(days=3), today + timedelta(days=1)),  # whole days only
        (today - timedelta(days=2, hours=-7), now + timedelta(minutes=1)),  # ragged ends
        (today - timedelta(hours=30), today - timedelta(hours=20)),  # inside one day
    ]
    for start, end in periods:
        window = {"from": start.isoformat(), "to": end.isoformat()}
        for by, column in (("source", "source"), ("urgency", "urgency")):
            response = await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                                        params={"by": by, **window})
            assert response.status_code == 200, response.text
            rows = {r["key"]: r["counts"] for r in response.json()["rows"]}
            for value in {str(getattr(t, column)) for t in tickets}:
                mine = [stats.facts_of(t) for t in tickets if str(getattr(t, column)) == value]
                want = metrics.tally(mine, period=metrics.Period(start, end))
                got = rows.get(value, dict.fromkeys(metrics.TICKET_COUNTS, 0))
                assert {n: got[n] for n in metrics.TICKET_COUNTS} == {
                    n: getattr(want, n) for n in metrics.TICKET_COUNTS}, (start, by, value)
    week = {"from": (today - timedelta(days=6)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat()}
    by_urgency = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                                   params={"by": "urgency", **week})).json()["rows"]
    assert {r["name"]: r["counts"]["handled"] for r in by_urgency}["紧急"] == 1
