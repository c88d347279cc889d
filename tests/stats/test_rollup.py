"""The daily rollup: kept by every ticket change, equal to a recount, folded without loss,
and read for whole days (the hours at either end counted from the tickets)."""

import asyncio
from datetime import UTC, datetime, time, timedelta

from app.catalog.models import Category
from app.core.workcalendar import SHANGHAI
from app.stats import metrics
from app.stats import service as stats
from app.stats.models import StatsDaily, StatsDailyCategory, StatsDailyUnit, StatsDelta
from app.tickets.models import Ticket
from tests.stats.test_summary import post, summary
from tests.tickets.helpers import OTHER_STREET, report


async def rollup_totals() -> tuple[dict, dict, dict]:
    """The rollups as {key: counts}, folded rows and pending deltas together, zeros left out:
    (day, cell path), (day, community path, unit id), (day, community path, category path)."""
    cells: dict = {}
    units: dict = {}
    categories: dict = {}
    paths = dict(await Category.all().values_list("id", "path"))

    def add(totals: dict, key: tuple, row: dict) -> None:
        into = totals.setdefault(key, dict.fromkeys(metrics.TICKET_COUNTS, 0))
        for name in metrics.TICKET_COUNTS:
            into[name] += row[name]

    columns = ("day", "area_path", "unit_id", *metrics.TICKET_COUNTS)
    for row in await StatsDaily.all().values("day", "area_path", *metrics.TICKET_COUNTS):
        add(cells, (row["day"], row["area_path"]), row)
    for row in await StatsDailyUnit.all().values(*columns):
        add(units, (row["day"], row["area_path"], row["unit_id"]), row)
    for row in await StatsDailyCategory.all().values("day", "area_path", "category_path",
                                                     *metrics.TICKET_COUNTS):
        add(categories, (row["day"], row["area_path"], row["category_path"]), row)
    for row in await StatsDelta.all().values(*columns, "category_id"):
        community = stats.community_path(row["area_path"])
        add(cells, (row["day"], row["area_path"]), row)
        add(units, (row["day"], community, row["unit_id"] or 0), row)
        add(categories, (row["day"], community, paths.get(row["category_id"], "")), row)
    return tuple({key: counts for key, counts in totals.items() if any(counts.values())}
                 for totals in (cells, units, categories))


async def age(ticket_id: int, days: int) -> None:
    """Move a ticket's stages `days` back (the rollup is recounted afterwards)."""
    t = await Ticket.get(id=ticket_id)
    back = timedelta(days=days)
    shifted = {name: getattr(t, name) - back for name in (
        "created_at", "accepted_at", "rejected_at", "first_dispatched_at", "dispatched_at",
        "first_handled_at", "handled_at", "closed_at", "deadline_at") if getattr(t, name)}
    await Ticket.filter(id=ticket_id).update(**shifted)


async def history(client, city) -> dict[str, int]:
    """Tickets reported over the last days in two streets, then recounted."""
    ids = {}
    ids["old_open"] = (await report(client, city.resident, "9904"))["id"]
    ids["old_rejected"] = (await report(client, city.resident, "9902"))["id"]
    await post(client, f"/api/v1/tickets/{ids['old_rejected']}/reject", city.dispatcher,
               reason="不属实")
    ids["to_merge"] = (await report(client, city.resident, "9901"))["id"]
    ids["to_return"] = (await report(client, city.resident, "9901"))["id"]
    ids["elsewhere"] = (await report(client, city.resident, "9904", location=OTHER_STREET))["id"]
    for name, days in (("old_open", 3), ("old_rejected", 3), ("to_merge", 2),
                       ("to_return", 1), ("elsewhere", 2)):
        await age(ids[name], days)
    await stats.rebuild()
    return ids


async def test_every_change_keeps_the_rollup_equal_to_a_recount(client, city):
    ids = await history(client, city)
    recounted = await rollup_totals()
    assert len({day for day, _ in recounted[0]}) == 3  # three past days hold counts

    # Changes today to tickets whose stages lie on earlier days.
    old = ids["old_open"]
    await post(client, f"/api/v1/tasks/{old}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{old}/handle", city.worker, note="已清理")
    await post(client, f"/api/v1/tickets/{old}/verify", city.worker2, passed=False,
               note="还有残留")  # rework
    await post(client, f"/api/v1/tasks/{old}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{old}/handle", city.worker, note="再次清理")
    await post(client, f"/api/v1/tickets/{old}/verify", city.worker2, passed=True)  # closed
    await post(client, f"/api/v1/tasks/{ids['to_return']}/return", city.handler, reason="不归我们")
    await post(client, f"/api/v1/tickets/{ids['to_return']}/recategorise", city.dispatcher,
               category_code="9904")  # another category and unit: its counts move with it
    await post(client, f"/api/v1/tickets/{ids['to_merge']}/merge", city.dispatcher,
               duplicate_of=ids["to_return"])
    await report(client, city.resident, "9904")
    await client.post("/api/v1/tasks/self-dispose", headers=city.worker, json={
        "category_code": "9904", "description": "垃圾", "note": "已处理",
        "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}})
    kept = await rollup_totals()
    assert kept != recounted  # the changes moved counts of past days and today

    assert await StatsDelta.all().count() > 0
    await asyncio.gather(stats.compact(batch=3), stats.compact(batch=3))  # two job instances
    assert await StatsDelta.all().count() == 0
    assert await rollup_totals() == kept  # folded, nothing lost, nothing twice

    await stats.rebuild()
    assert await rollup_totals() == kept


async def test_summaries_over_whole_days_and_their_edges_match_the_formulas(client, city):
    await history(client, city)
    await report(client, city.resident, "9904")  # today
    tickets = await Ticket.all()
    facts = [stats.facts_of(t) for t in tickets]
    now = datetime.now(UTC)
    today = datetime.combine(now.astimezone(SHANGHAI).date(), time.min, tzinfo=SHANGHAI)
    periods = [
        (today - timedelta(days=3), today + timedelta(days=1)),  # whole days only
        (today - timedelta(days=3), today - timedelta(days=1)),  # past days only
        (today - timedelta(days=2, hours=-7), now + timedelta(minutes=1)),  # ragged ends
        (now - timedelta(days=3), now + timedelta(minutes=1)),  # the default shape
        (today - timedelta(hours=30), today - timedelta(hours=20)),  # inside one day
    ]
    for start, end in periods:
        expected = metrics.tally(facts, period=metrics.Period(start, end))
        body = await summary(client, city.dispatcher, **{"from": start.isoformat(),
                                                         "to": end.isoformat()})
        for name in metrics.TICKET_COUNTS:
            assert body["counts"][name] == getattr(expected, name), (start, end, name)
        scoped = await summary(client, city.dispatcher, area="990100002", **{
            "from": start.isoformat(), "to": end.isoformat()})
        assert scoped["counts"]["reported"] <= body["counts"]["reported"]
        by_unit = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher, params={
            "by": "unit", "from": start.isoformat(), "to": end.isoformat()})).json()["rows"]
        for unit in (city.department, city.team):
            mine = [stats.facts_of(t) for t in tickets if t.unit_id == unit.id]
            want = metrics.tally(mine, period=metrics.Period(start, end))
            row = next((r for r in by_unit if r["key"] == str(unit.id)), None)
            got = row["counts"] if row else dict.fromkeys(metrics.TICKET_COUNTS, 0)
            assert all(got[n] == getattr(want, n) for n in metrics.TICKET_COUNTS), (start, unit)
            filtered = await summary(client, city.dispatcher, unit=unit.id, **{
                "from": start.isoformat(), "to": end.isoformat()})
            assert all(filtered["counts"][n] == getattr(want, n)
                       for n in metrics.TICKET_COUNTS), (start, unit)
        # By category: the category rollup (a 小类 and a whole 大类), and the tickets when a
        # unit is asked for as well.
        codes = {t.id: c for t, c in zip(tickets, [await Category.get(id=t.category_id)
                                                    for t in tickets], strict=True)}
        for code in ("9904", "9901", "99"):
            mine = [stats.facts_of(t) for t in tickets if codes[t.id].code.startswith(code)]
            want = metrics.tally(mine, period=metrics.Period(start, end))
            got = await summary(client, city.dispatcher, category=code, **{
                "from": start.isoformat(), "to": end.isoformat()})
            assert all(got["counts"][n] == getattr(want, n)
                       for n in metrics.TICKET_COUNTS), (start, code)
        both = [stats.facts_of(t) for t in tickets
                if codes[t.id].code == "9901" and t.unit_id == city.department.id]
        want = metrics.tally(both, period=metrics.Period(start, end))
        got = await summary(client, city.dispatcher, category="9901", unit=city.department.id,
                            **{"from": start.isoformat(), "to": end.isoformat()})
        assert all(got["counts"][n] == getattr(want, n) for n in metrics.TICKET_COUNTS)
        # Per cell: the cell rollup (a grid breakdown, and a scope of one cell).
        by_grid = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher, params={
            "by": "grid", "from": start.isoformat(), "to": end.isoformat()})).json()["rows"]
        for path in {t.area_path for t in tickets}:
            code = path.strip("/").rsplit("/", 1)[1]
            mine = [stats.facts_of(t) for t in tickets if t.area_path == path]
            want = metrics.tally(mine, period=metrics.Period(start, end))
            row = next((r for r in by_grid if r["key"] == code), None)
            got = row["counts"] if row else dict.fromkeys(metrics.TICKET_COUNTS, 0)
            assert all(got[n] == getattr(want, n) for n in metrics.TICKET_COUNTS), (start, code)
            one_cell = await summary(client, city.dispatcher, area=code, **{
                "from": start.isoformat(), "to": end.isoformat()})
            assert all(one_cell["counts"][n] == getattr(want, n)
                       for n in metrics.TICKET_COUNTS), (start, code)
    week = await summary(client, city.dispatcher, **{
        "from": (today - timedelta(days=6)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat()})
    assert week["counts"]["reported"] == 6 and week["counts"]["rejected"] == 1
    other_street = await summary(client, city.dispatcher, area="990100002", **{
        "from": (today - timedelta(days=6)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat()})
    assert other_street["counts"]["reported"] == 1

    by_street = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher, params={
        "by": "street", "from": (today - timedelta(days=6)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat()})).json()
    assert {r["key"]: r["counts"]["reported"] for r in by_street["rows"]} == {
        "990100001": 5, "990100002": 1}
