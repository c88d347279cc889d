"""The closed loop through the API: claim, handle, verify, close; return, rework, extension."""

import asyncio

from tests.factories import error_code
from tests.tickets.helpers import OTHER_STREET, report


async def post(client, path, headers, **body):
    return await client.post(path, json=body, headers=headers)


async def test_the_whole_loop_from_report_to_closed(client, city):
    ticket = await report(client, city.resident, "9904")  # goes to the cell's grid team
    tid = ticket["id"]
    pool = (await client.get("/api/v1/tasks", headers=city.worker)).json()
    assert [t["id"] for t in pool["items"]] == [tid]
    assert pool["items"][0]["allowed_actions"][:1] == ["claim"]

    claimed = await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    mine = (await client.get("/api/v1/tasks", params={"scope": "mine"}, headers=city.worker)).json()
    assert [t["id"] for t in mine["items"]] == [tid]

    handled = await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="已清理干净")
    assert handled.status_code == 200
    assert handled.json()["status"] == "verifying"

    closed = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=True,
                        note="现场已核查")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)).json()
    assert [e["action"] for e in seen["timeline"]] == [
        "submit", "auto_accept", "dispatch", "claim", "handle", "request_verification",
        "verify_pass"]
    labels = {e["actor_label"] for e in seen["timeline"]}
    assert {"网格员 王", "网格员 赵", "居民", "系统"} == labels  # role + surname, never full names
    assert "王网格" not in str(seen)
    assert seen["allowed_actions"] == []


async def test_two_workers_claiming_at_once_one_wins(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    first, second = await asyncio.gather(
        post(client, f"/api/v1/tasks/{tid}/claim", city.worker),
        post(client, f"/api/v1/tasks/{tid}/claim", city.worker2))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert error_code(loser) == "already_claimed"
    assert loser.json()["error"]["message"] == "该任务已被其他网格员认领"


async def test_only_the_claimant_handles_or_releases(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    other = await post(client, f"/api/v1/tasks/{tid}/handle", city.worker2, note="x")
    assert other.status_code == 403 and error_code(other) == "not_your_task"
    released = await post(client, f"/api/v1/tasks/{tid}/release", city.worker)
    assert released.json()["status"] == "dispatched"
    assert (await post(client, f"/api/v1/tasks/{tid}/claim", city.worker2)).status_code == 200


async def test_workers_and_handlers_only_see_their_own_tasks(client, city):
    team_task = (await report(client, city.resident, "9904"))["id"]
    dept_task = (await report(client, city.resident, "9901"))["id"]
    far = (await client.get("/api/v1/tasks", headers=city.far_worker)).json()
    assert far["items"] == []
    assert (await post(client, f"/api/v1/tasks/{team_task}/claim", city.far_worker)).status_code == 404
    handler_pool = (await client.get("/api/v1/tasks", headers=city.handler)).json()
    assert [t["id"] for t in handler_pool["items"]] == [dept_task]
    assert (await post(client, f"/api/v1/tasks/{dept_task}/claim",
                       city.other_handler)).status_code == 404
    assert (await post(client, f"/api/v1/tasks/{dept_task}/claim", city.handler)).status_code == 200
    assert (await client.get("/api/v1/tasks", headers=city.resident)).status_code == 403


async def test_a_wrong_move_is_a_clear_409_and_changes_nothing(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    early = await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="x")
    assert early.status_code == 409 and error_code(early) == "invalid_transition"
    assert "已派遣" in early.json()["error"]["message"]
    not_dispatcher = await post(client, f"/api/v1/tickets/{tid}/close", city.worker)
    assert not_dispatcher.status_code == 403 and error_code(not_dispatcher) == "role_not_allowed"
    resident = await post(client, f"/api/v1/tasks/{tid}/claim", city.resident)
    assert resident.status_code == 403
    detail = (await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher)).json()
    assert detail["status"] == "dispatched" and len(detail["timeline"]) == 3


async def test_a_stale_version_is_refused(client, city):
    ticket = await report(client, city.resident, "9904")
    tid, version = ticket["id"], ticket["version"]
    assert (await post(client, f"/api/v1/tasks/{tid}/claim", city.worker,
                       version=version)).status_code == 200
    stale = await post(client, f"/api/v1/tasks/{tid}/release", city.worker, version=version)
    assert stale.status_code == 409 and error_code(stale) == "stale_version"


async def test_a_unit_returns_a_misrouted_task_and_the_dispatcher_reroutes_it(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]  # rule → 市政设施维护中心
    returned = await post(client, f"/api/v1/tasks/{tid}/return", city.handler,
                          reason="不是我们负责的设施")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert returned.json()["unit"] is None
    queue = (await client.get("/api/v1/tickets/queue", headers=city.dispatcher)).json()
    assert tid in [t["id"] for t in queue["items"]]
    redone = await post(client, f"/api/v1/tickets/{tid}/dispatch", city.dispatcher,
                        unit_id=city.other_department.id)
    assert redone.json()["unit"]["id"] == city.other_department.id
    no_reason = await post(client, f"/api/v1/tasks/{tid}/return", city.other_handler)
    assert no_reason.status_code == 422


async def test_failed_verification_sends_it_back_to_the_same_unit(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="已更换井盖")
    failed = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=False,
                        note="井盖仍然松动")
    body = failed.json()
    assert body["status"] == "dispatched" and body["unit"]["id"] == city.department.id
    assert [e["action"] for e in body["timeline"]][-2:] == ["verify_fail", "dispatch"]
    no_reason = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=False)
    assert no_reason.status_code == 422


async def test_an_extension_moves_the_deadline_only_when_approved(client, city):
    ticket = await report(client, city.resident, "9901")
    tid, deadline = ticket["id"], ticket["deadline_at"]
    asked = await post(client, f"/api/v1/tasks/{tid}/extension", city.handler,
                       reason="需要定制井盖", extra_value=2, extra_unit="work_days")
    assert asked.status_code == 201
    again = await post(client, f"/api/v1/tasks/{tid}/extension", city.handler,
                       reason="再等等", extra_value=1, extra_unit="work_days")
    assert again.status_code == 409 and error_code(again) == "extension_pending"
    same = (await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher)).json()
    assert same["deadline_at"] == deadline
    approved = await post(client, f"/api/v1/tickets/{tid}/extensions/{asked.json()['id']}/approve",
                          city.dispatcher)
    assert approved.status_code == 200
    assert approved.json()["deadline_at"] > deadline
    twice = await post(client, f"/api/v1/tickets/{tid}/extensions/{asked.json()['id']}/refuse",
                       city.dispatcher, reason="x")
    assert twice.status_code == 409 and error_code(twice) == "extension_decided"


async def test_dispatcher_rejects_with_a_reason_and_the_resident_sees_it(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]
    rejected = await post(client, f"/api/v1/tickets/{tid}/reject", city.dispatcher,
                          reason="属于民事纠纷，请拨打 12345")
    assert rejected.json()["status"] == "rejected"
    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)).json()
    assert seen["timeline"][-1]["note"] == "属于民事纠纷，请拨打 12345"
    assert (await post(client, f"/api/v1/tickets/{tid}/accept", city.dispatcher)).status_code == 409


async def test_recategorising_runs_routing_again(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]
    changed = await post(client, f"/api/v1/tickets/{tid}/recategorise", city.dispatcher,
                         category_code="9901")
    assert changed.json()["category"]["code"] == "9901"
    assert changed.json()["unit"]["name"] == "市政设施维护中心"


async def test_duplicates_merge_and_the_reporter_follows_the_original(client, city):
    original = (await report(client, city.resident, "9902"))["id"]
    duplicate = (await report(client, city.other_resident, "9902"))["id"]
    merged = await post(client, f"/api/v1/tickets/{duplicate}/merge", city.dispatcher,
                        duplicate_of=original)
    assert merged.json()["status"] == "merged"
    mine = (await client.get("/api/v1/tickets/mine", headers=city.other_resident)).json()
    assert {t["id"] for t in mine["items"]} == {original, duplicate}


async def test_a_grid_worker_self_disposes_on_the_spot(client, city):
    response = await client.post("/api/v1/tasks/self-dispose", headers=city.worker, json={
        "category_code": "9904", "description": "路边有一袋垃圾",
        "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}, "note": "已捡走"})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "closed"
    outside = await client.post("/api/v1/tasks/self-dispose", headers=city.worker, json={
        "category_code": "9904", "description": "x", "location": OTHER_STREET, "note": "x"})
    assert outside.status_code == 403
    resident = await client.post("/api/v1/tasks/self-dispose", headers=city.resident, json={
        "category_code": "9904", "description": "x", "location": OTHER_STREET, "note": "x"})
    assert resident.status_code == 403


async def test_a_patrol_report_is_accepted_at_once(client, city):
    response = await client.post("/api/v1/tasks/patrol", headers=city.worker, json={
        "category_code": "9902", "description": "夜间施工噪音",
        "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}})
    assert response.status_code == 201
    assert response.json()["status"] == "dispatched"


async def test_overdue_tickets_turn_red(client, city):
    from datetime import UTC, datetime, timedelta

    from app.tickets import actions as service

    tid = (await report(client, city.resident, "9904"))["id"]
    marked = await service.mark_overdue(now=datetime.now(UTC) + timedelta(days=30))
    assert marked == 1
    listed = (await client.get("/api/v1/tickets", params={"overdue": "true"},
                               headers=city.dispatcher)).json()
    assert [t["id"] for t in listed["items"]] == [tid]
    assert listed["items"][0]["is_overdue"]


async def test_staff_of_another_area_cannot_see_or_act(client, city):
    from app.accounts.models import Role
    from tests.factories import make_staff

    _, other_dispatcher = await make_staff(Role.DISPATCHER, area_code="990100002")
    tid = (await report(client, city.resident, "9902"))["id"]
    assert (await client.get(f"/api/v1/tickets/{tid}", headers=other_dispatcher)).status_code == 200
    # it is public, so it can be *seen* — but not worked:
    accept = await post(client, f"/api/v1/tickets/{tid}/accept", other_dispatcher)
    assert accept.status_code == 404
    listed = (await client.get("/api/v1/tickets", headers=other_dispatcher)).json()
    assert listed["items"] == []


async def test_my_grid_shows_its_workers_and_the_community_office(client, city):
    from app.accounts.models import User

    await User.filter(display_name="王网格").update(work_phone="0537-1234567")
    await client.patch("/api/v1/areas/990100001001", headers=city.community_staff,
                       json={"office_address": "古槐路 1 号", "office_phone": "0537-7654321"})
    info = await client.get("/api/v1/areas/990100001001001/grid-workers", headers=city.resident)
    assert info.status_code == 200
    body = info.json()
    assert body["community"]["office_phone"] == "0537-7654321"
    assert {w["display_name"] for w in body["grid_workers"]} == {"王网格", "赵网格"}
    assert {"display_name": "王网格", "work_phone": "0537-1234567"} in body["grid_workers"]
    assert "username" not in info.text


async def test_grid_workers_see_what_waits_for_verification(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="已修复")
    waiting = (await client.get("/api/v1/tasks", params={"scope": "verify"},
                                headers=city.worker)).json()
    assert [t["id"] for t in waiting["items"]] == [tid]
    far = (await client.get("/api/v1/tasks", params={"scope": "verify"},
                            headers=city.far_worker)).json()
    assert far["items"] == []


async def test_the_task_pool_pages_soonest_deadline_first(client, city):
    from datetime import UTC, datetime, timedelta

    from app.tickets.models import Ticket

    ids = [(await report(client, city.resident, "9904"))["id"] for _ in range(3)]
    # The middle one is due first, the last one last; the first two share a deadline.
    soon = datetime.now(UTC) + timedelta(days=1)
    await Ticket.filter(id=ids[1]).update(deadline_at=soon)
    await Ticket.filter(id=ids[0]).update(deadline_at=soon + timedelta(hours=1))
    await Ticket.filter(id=ids[2]).update(deadline_at=soon + timedelta(hours=1))
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/tasks", params=params, headers=city.worker)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [ids[1], ids[0], ids[2]]
    bad = await client.get("/api/v1/tasks", params={"cursor": "20"}, headers=city.worker)
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
