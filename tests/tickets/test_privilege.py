"""Least privilege on tickets: claims follow the assignment, and the public reads only the
resident-facing timeline (docs/api.md, "The public view of a ticket")."""

import json

from tests.factories import error_code
from tests.tickets.helpers import report

STAFF_ONLY = {"return", "release", "request_extension", "approve_extension", "refuse_extension",
              "recategorise"}


async def post(client, path, headers, **body):
    return await client.post(path, json=body, headers=headers)


async def test_a_grid_worker_cannot_claim_a_units_task_in_their_cell(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]  # rule → 市政设施维护中心
    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.worker)).json()
    assert seen["allowed_actions"] == []  # no claim button on somebody else's task
    for path, body in ((f"/api/v1/tasks/{tid}/claim", {}),
                       (f"/api/v1/tasks/{tid}/return", {"reason": "不是我的"}),
                       (f"/api/v1/tasks/{tid}/extension", {
                           "reason": "x", "extra_value": 1, "extra_unit": "work_days"})):
        refused = await post(client, path, city.worker, **body)
        assert refused.status_code == 403 and error_code(refused) == "not_your_task", path
    # The unit's handler is not blocked by it (no 409 already_claimed).
    claimed = await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["allowed_actions"][:1] == ["handle"]


async def test_a_grid_worker_cannot_handle_a_units_task_nor_close_what_the_unit_never_did(
        client, city):
    tid = (await report(client, city.resident, "9901"))["id"]
    assert (await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)).status_code == 200
    handle = await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="我来处理")
    assert handle.status_code == 403 and error_code(handle) == "not_your_task"
    release = await post(client, f"/api/v1/tasks/{tid}/release", city.worker)
    assert release.status_code == 403
    # Nothing to verify until the unit handled it; then the cell's grid worker verifies.
    early = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=True)
    assert early.status_code == 409
    handled = await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="已更换井盖")
    assert handled.json()["status"] == "verifying"
    verified = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=True)
    assert verified.status_code == 200 and verified.json()["status"] == "closed"


async def test_a_grid_team_task_is_claimed_by_the_cells_grid_workers_only(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]  # the cell's grid team
    for outsider in (city.handler, city.other_handler, city.far_worker):
        refused = await post(client, f"/api/v1/tasks/{tid}/claim", outsider)
        assert refused.status_code in (403, 404), refused.text
    assert (await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)).status_code == 200


async def worked_ticket(client, city) -> int:
    """A department's ticket with internal steps, notes and a failed verification."""
    tid = (await report(client, city.resident, "9901"))["id"]
    asked = await post(client, f"/api/v1/tasks/{tid}/extension", city.handler,
                       reason="等配件（内部）", extra_value=1, extra_unit="work_days")
    assert asked.status_code == 201
    await post(client, f"/api/v1/tickets/{tid}/extensions/{asked.json()['id']}/refuse",
               city.dispatcher, reason="时间足够（内部）")
    await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="已更换井盖，陈师傅")
    failed = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=False,
                        note="井盖仍然松动，王网格核查")
    assert failed.status_code == 200
    return tid


async def test_the_public_reads_resident_facing_steps_without_notes_or_names(client, city):
    tid = await worked_ticket(client, city)
    public = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    assert public.status_code == 200
    timeline = public.json()["timeline"]
    actions = [e["action"] for e in timeline]
    assert actions == ["submit", "auto_accept", "dispatch", "claim", "handle",
                       "request_verification", "verify_fail", "dispatch"]
    assert all(e["note"] == "" for e in timeline)
    assert {e["actor_label"] for e in timeline} == {"居民", "系统", "处置人员", "网格员"}
    text = public.text
    for secret in ("陈", "王网格", "内部", "井盖仍然松动"):
        assert secret not in text, secret
    assert public.json()["assignee_label"] is None and public.json()["allowed_actions"] == []
    # A follower reads the same public view.
    await post(client, f"/api/v1/tickets/{tid}/follow", city.other_resident)
    followed = (await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)).json()
    assert followed["timeline"] == timeline


async def test_the_reporter_reads_the_resident_facing_steps_with_their_texts(client, city):
    tid = await worked_ticket(client, city)
    mine = (await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)).json()
    actions = [e["action"] for e in mine["timeline"]]
    assert not STAFF_ONLY & set(actions)
    handle = next(e for e in mine["timeline"] if e["action"] == "handle")
    assert handle["note"] == "已更换井盖，陈师傅" and handle["actor_label"] == "处置人员 陈"
    assert "内部" not in str(mine)
    staff = (await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher)).json()
    assert {"request_extension", "refuse_extension"} <= {e["action"] for e in staff["timeline"]}


async def test_the_public_never_reads_a_rejection_reason(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]
    await post(client, f"/api/v1/tickets/{tid}/reject", city.dispatcher, reason="举报人电话 138")
    public = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    if public.status_code == 200:  # a rejected public ticket may still be read by id
        # The reason's words, not "138": an id or a timestamp may hold those digits.
        assert "举报人电话" not in json.dumps(public.json(), ensure_ascii=False)
        assert public.json()["timeline"][-1]["actor_label"] == "派遣员"
    mine = (await client.get(f"/api/v1/tickets/{tid}", headers=city.resident)).json()
    assert mine["timeline"][-1]["note"] == "举报人电话 138"
