"""The two disagreements an independent recount found (issue 17), each kept from returning."""

from datetime import UTC, datetime, time, timedelta

from app.core.workcalendar import SHANGHAI
from app.stats import service as stats
from app.tickets.models import Ticket
from tests.stats.test_summary import post, summary
from tests.tickets.helpers import report


def _today() -> tuple[datetime, datetime]:
    """Today as a whole local day (the rollup answers it) and now (the tickets answer it)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.astimezone(SHANGHAI).date(), time.min, tzinfo=SHANGHAI)
    return midnight, now


async def _views(client, city) -> list[dict]:
    """Every view that holds the district's tickets: the scanned hours, the whole day from the
    rollup, and breakdowns per unit, community and category."""
    midnight, now = _today()
    ragged = {"from": (now - timedelta(hours=2)).isoformat(),
              "to": (now + timedelta(minutes=1)).isoformat()}
    whole = {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()}
    views = []
    for period in (ragged, whole):
        views.append((await summary(client, city.dispatcher, **period))["counts"])
        views.append((await summary(client, city.dispatcher, category="9904", **period))[
            "counts"])
        for by in ("unit", "community", "grid"):
            rows = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                                     params={"by": by, **period})).json()["rows"]
            views += [row["counts"] for row in rows]
    return views


async def test_a_late_first_handling_stays_late_after_a_failed_verification_moves_the_deadline(
        client, city):
    tid = (await report(client, city.resident, "9904"))["id"]  # auto-routed to the grid team
    # The deadline passed 21 minutes ago, before anyone handled it (backdated, as the
    # deadline-reminder tests do: nothing the statistics count changes with it).
    await Ticket.filter(id=tid).update(deadline_at=datetime.now(UTC) - timedelta(minutes=21))
    await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="已清理")
    assert (await Ticket.get(id=tid)).handled_on_time is False
    # 核查不通过: back to the same unit, and the rework cycle gets a fresh deadline.
    await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=False,
               note="还有残留")
    assert (await Ticket.get(id=tid)).deadline_at > datetime.now(UTC)

    for _ in range(2):  # as the door kept the rollups, then as `stats rebuild` recounts them
        for counts in await _views(client, city):
            assert (counts["handled"], counts["handled_on_time"], counts["reworked"]) == (
                1, 0, 1)
        await stats.rebuild()


async def test_a_category_filter_counts_every_rating(client, city):
    levels = ["satisfied", "satisfied", "basically_satisfied", "unsatisfied"]
    ratings = []
    for level in levels:
        tid = (await report(client, city.resident, "9904"))["id"]
        await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
        await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="已清理")
        await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=True)
        response = await client.post(f"/api/v1/tickets/{tid}/rating", headers=city.resident,
                                     json={"result": level, "service": "satisfied"})
        assert response.status_code == 201, response.text
        ratings.append(response.json()["id"])
    response = await client.post(f"/api/v1/ratings/{ratings[-1]}/replies",
                                 headers=city.community_staff, json={"body": "已安排重新清理"})
    assert response.status_code == 201, response.text

    midnight, now = _today()
    for period in ({}, {"from": midnight.isoformat(),
                        "to": (midnight + timedelta(days=1)).isoformat()}):
        for category in ("9904", "99"):  # a 小类 and its 大类
            body = await summary(client, city.dispatcher, category=category, **period)
            counts = body["counts"]
            assert (counts["rated"], counts["satisfied"], counts["basically_satisfied"],
                    counts["unsatisfied"], counts["replied"]) == (4, 2, 1, 1, 1), category
            assert body["rates"]["satisfaction_rate"]["display"] == "75.00%"
            assert body["rates"]["reply_rate"]["display"] == "25.00%"
        other = await summary(client, city.dispatcher, category="9901", **period)
        assert other["counts"]["rated"] == 0


async def test_a_ticket_that_moved_units_while_half_folded_is_counted_once(client, city):
    # Found by the oracle: the rollup read the folded rows and the pending deltas as separate
    # rows, and a pending -1 (the ticket leaving its unit) was refused as a negative count.
    tid = (await report(client, city.resident, "9901"))["id"]  # routed to the department
    await stats.compact()  # its counts are folded under the department
    await post(client, f"/api/v1/tasks/{tid}/return", city.handler, reason="不归我们")
    midnight, _ = _today()
    whole = {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()}
    mine = await summary(client, city.dispatcher, unit=city.department.id, **whole)
    assert (mine["counts"]["reported"], mine["counts"]["dispatched"]) == (0, 0)
    everyone = await summary(client, city.dispatcher, **whole)
    assert (everyone["counts"]["reported"], everyone["counts"]["returned"]) == (1, 1)
    rows = (await client.get("/api/v1/stats/breakdown", headers=city.dispatcher,
                             params={"by": "unit", **whole})).json()["rows"]
    assert {r["key"]: r["counts"]["reported"] for r in rows if any(r["counts"].values())} == {
        "": 1}
