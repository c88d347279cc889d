"""督办 (issue 15): a supervisor or dispatcher presses the holder of an open ticket; the unit
hears of it, the timeline shows it, the ticket carries it until it closes; overdue tickets
raise one automatically, once; a ledger per unit."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.notifications.models import Outbox
from app.supervision import jobs
from app.supervision.models import Supervision
from app.tickets import actions
from app.tickets.models import Ticket
from tests.factories import error_code, make_staff
from tests.tickets.helpers import report

KIND = "supervision.raised"


def later(hours=24):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def body(**extra):
    return {"level": "key", "note": "请三日内清理完毕并反馈", "deadline_at": later(), **extra}


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def supervisor(area_code="990100", name="韩督办"):
    _, headers = await make_staff(Role.SUPERVISOR, area_code=area_code, name=name)
    return headers


async def raise_on(client, tid, headers, **extra):
    return await client.post(f"/api/v1/tickets/{tid}/supervisions", json=body(**extra),
                             headers=headers)


async def test_a_supervisor_presses_a_units_ticket_and_the_unit_hears_of_it(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]  # dispatched to the department
    raised = await ok(await raise_on(client, tid, boss), 201)
    assert raised["level_label"] == "重点督办" and raised["status"] == "open"
    assert raised["is_automatic"] is False and raised["ticket_number"]

    told = await Outbox.filter(kind=KIND, ticket_id=tid).values_list("recipient_id", flat=True)
    handler = (await client.get("/api/v1/me", headers=city.handler)).json()["id"]
    assert told == [handler]  # the department's handler, nobody else

    staff_view = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    last = staff_view["timeline"][-1]
    assert (last["action"], last["action_label"], last["actor_label"]) == (
        "supervise", "督办", "巡查督办员 韩")
    assert staff_view["status"] == "dispatched"  # the status is kept
    resident_view = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.resident))
    assert "supervise" not in [e["action"] for e in resident_view["timeline"]]

    carried = await ok(await client.get(f"/api/v1/tickets/{tid}/supervisions",
                                        headers=city.handler))
    assert [s["id"] for s in carried["items"]] == [raised["id"]]
    hidden = await client.get(f"/api/v1/tickets/{tid}/supervisions", headers=city.resident)
    assert hidden.status_code == 403 and error_code(hidden) == "staff_only"


async def test_the_claimant_hears_of_a_dispatchers_press_on_a_claimed_task(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]  # the grid team
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await raise_on(client, tid, city.dispatcher, level="normal"), 201)
    worker = (await client.get("/api/v1/me", headers=city.worker)).json()["id"]
    assert await Outbox.filter(kind=KIND, ticket_id=tid).values_list(
        "recipient_id", flat=True) == [worker]


async def test_who_may_not_raise_one_and_on_what(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    elsewhere = await supervisor("990100002", name="卫督办")
    far = await raise_on(client, tid, elsewhere)
    assert far.status_code == 404 and error_code(far) == "ticket_not_found"
    far_read = await client.get(f"/api/v1/tickets/{tid}/supervisions", headers=elsewhere)
    # The ticket is public, but its 督办 are for staff of its area only.
    assert far_read.status_code == 403 and error_code(far_read) == "staff_only"
    worker = await raise_on(client, tid, city.worker)
    assert worker.status_code == 403 and error_code(worker) == "role_not_allowed"
    boss = await supervisor()
    past = await raise_on(client, tid, boss, deadline_at=later(-1))
    assert past.status_code == 422 and error_code(past) == "deadline_in_past"
    bad_level = await raise_on(client, tid, boss, level="urgent!!")
    assert bad_level.status_code == 422
    naive = await raise_on(client, tid, boss, deadline_at="2030-01-01T00:00:00")
    assert naive.status_code == 422
    assert await Supervision.all().count() == 0

    await ok(await client.post(f"/api/v1/tickets/{tid}/merge", headers=city.dispatcher,
                               json={"duplicate_of": (await report(client, city.resident,
                                                                   "9901"))["id"]}))
    ended = await raise_on(client, tid, boss)
    assert ended.status_code == 409 and error_code(ended) == "invalid_transition"


async def test_an_open_supervision_closes_with_its_ticket(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9904"))["id"]
    raised = await ok(await raise_on(client, tid, boss), 201)
    await ok(await client.post(f"/api/v1/tasks/{tid}/claim", json={}, headers=city.worker))
    await ok(await client.post(f"/api/v1/tasks/{tid}/handle", json={"note": "已清理"},
                               headers=city.worker))
    still = await ok(await client.get(f"/api/v1/tickets/{tid}/supervisions", headers=boss))
    assert still["items"][0]["status"] == "open"  # handled is not closed
    await ok(await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True},
                               headers=city.worker2))
    closed = await ok(await client.get(f"/api/v1/tickets/{tid}/supervisions", headers=boss))
    assert closed["items"][0]["id"] == raised["id"]
    assert closed["items"][0]["status"] == "closed" and closed["items"][0]["closed_at"]


async def test_a_retried_raise_with_its_key_raises_one(client, city):
    boss = await supervisor()
    tid = (await report(client, city.resident, "9901"))["id"]
    headers = {**boss, "Idempotency-Key": "press-1"}
    press = body()

    async def send(payload):
        return await client.post(f"/api/v1/tickets/{tid}/supervisions", json=payload,
                                 headers=headers)

    first, again = await asyncio.gather(send(press), send(press))
    answers = sorted([first.status_code, again.status_code])
    assert answers in ([201, 201], [201, 409]), answers
    replay = await send(press)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json().get("id", again.json().get("id"))
    reused = await send({**press, "note": "换了内容"})
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"
    assert await Supervision.all().count() == 1


async def test_the_ledger_per_unit_pages_and_stays_in_scope(client, city):
    boss = await supervisor()
    unit_tickets = [(await report(client, city.resident, "9901"))["id"] for _ in range(3)]
    team_ticket = (await report(client, city.resident, "9904"))["id"]
    for tid in [*unit_tickets, team_ticket]:
        await ok(await raise_on(client, tid, boss), 201)

    unit = city.department.id
    first = await ok(await client.get("/api/v1/supervisions",
                                      params={"unit": unit, "limit": 2}, headers=boss))
    assert len(first["items"]) == 2 and first["next"]
    rest = await ok(await client.get("/api/v1/supervisions", headers=boss, params={
        "unit": unit, "limit": 2, "cursor": first["next"]}))
    seen = [s["ticket_id"] for s in first["items"] + rest["items"]]
    assert seen == sorted(unit_tickets, reverse=True) and rest["next"] is None

    # The unit's own handler reads its ledger; another unit's handler reads none of it.
    own = await ok(await client.get("/api/v1/supervisions", headers=city.handler))
    assert sorted(s["ticket_id"] for s in own["items"]) == sorted(unit_tickets)
    other = await ok(await client.get("/api/v1/supervisions", headers=city.other_handler))
    assert other["items"] == []
    far = await ok(await client.get("/api/v1/supervisions",
                                    headers=await supervisor("990100002", name="卫督办")))
    assert far["items"] == []
    refused = await client.get("/api/v1/supervisions", headers=city.worker)
    assert refused.status_code == 403 and error_code(refused) == "not_allowed"
    bad = await client.get("/api/v1/supervisions", params={"cursor": "²"}, headers=boss)
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
    open_only = await ok(await client.get("/api/v1/supervisions",
                                          params={"status": "closed"}, headers=boss))
    assert open_only["items"] == []


async def test_an_overdue_ticket_raises_one_automatic_supervision_under_two_job_processes(
        client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    fresh = (await report(client, city.resident, "9901"))["id"]
    await Ticket.filter(id=tid).update(deadline_at=datetime.now(UTC) - timedelta(hours=1))
    assert await actions.mark_overdue() == 1

    rounds = await asyncio.gather(jobs.supervise_overdue(), jobs.supervise_overdue())
    assert sum(rounds) == 1
    assert await jobs.supervise_overdue() == 0  # and never again for the same deadline
    rows = await Supervision.all()
    assert [(r.ticket_id, r.raised_by_id, r.level) for r in rows] == [(tid, None, "normal")]
    assert await Supervision.filter(ticket_id=fresh).count() == 0

    seen = await ok(await client.get(f"/api/v1/tickets/{tid}/supervisions",
                                     headers=city.dispatcher))
    assert seen["items"][0]["is_automatic"] is True
    timeline = (await ok(await client.get(f"/api/v1/tickets/{tid}",
                                          headers=city.dispatcher)))["timeline"]
    assert [(e["action"], e["actor_label"]) for e in timeline].count(("supervise", "系统")) == 1
    assert await Outbox.filter(kind=KIND, ticket_id=tid).count() == 1
