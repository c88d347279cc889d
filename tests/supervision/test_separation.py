"""Separation of duties (issue 15): whoever handled a ticket does not verify or close it.

Every path that reaches 核查 is walked through the API: a grid-team task, a department's task,
a rework after a failed check, a rework after an unsatisfied rating, a patrol report, and the
dispatcher's close without a check. The 核查 goes to another grid worker of the cell, the staff
collector who reported it, or a dispatcher.
"""

from app.accounts.models import Role, RoleGrant
from app.areas.models import Area
from app.core import config_cache
from tests.factories import error_code, make_staff
from tests.support import base_settings
from tests.tickets.helpers import IN_CELL, report, report_body

REFUSED = "own_handling"


async def post(client, path, headers, **body):
    return await client.post(path, json=body, headers=headers)


async def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def handled_by(client, headers, tid):
    """`headers`' user claims and handles the task: it waits for 核查."""
    await ok(await post(client, f"/api/v1/tasks/{tid}/claim", headers))
    done = await ok(await post(client, f"/api/v1/tasks/{tid}/handle", headers, note="已处理完毕"))
    assert done["status"] == "verifying"
    return done


def refused(response):
    assert response.status_code == 403, response.text
    assert error_code(response) == REFUSED
    assert "不能由您核查" in response.json()["error"]["message"]
    return True


async def second_grant(user, role, *, area_code=None, unit=None):
    area = await Area.get(code=area_code) if area_code else None
    await RoleGrant.create(user=user, role=role, area=area, unit=unit)
    config_cache.invalidate()


async def test_the_grid_worker_who_handled_may_not_verify_and_another_worker_does(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]  # the cell's grid team
    await handled_by(client, city.worker, tid)

    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=True))
    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=False,
                              note="再看看"))
    # Nothing was written by the refusals: still waiting for 核查.
    seen = await ok(await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher))
    assert seen["status"] == "verifying"
    assert [e["action"] for e in seen["timeline"]][-1] == "request_verification"

    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2,
                                 passed=True, note="现场已核查"))
    assert closed["status"] == "closed"
    verify = [e for e in closed["timeline"] if e["action"] == "verify_pass"]
    assert [e["actor_label"] for e in verify] == ["网格员 赵"]


async def test_a_dispatcher_may_verify_what_a_grid_worker_handled(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, city.worker, tid)
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.dispatcher,
                                 passed=True))
    assert closed["status"] == "closed"


async def test_a_handler_who_is_also_a_grid_worker_of_the_cell_may_not_verify_their_unit_work(
        client, city):
    user, both = await make_staff(Role.HANDLER, unit=city.department, name="钱两岗")
    await second_grant(user, Role.GRID_WORKER, area_code="990100001001")
    tid = (await report(client, city.resident, "9901"))["id"]  # routed to the department
    await handled_by(client, both, tid)

    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", both, passed=True))
    # The cell's grid worker, who never touched it, verifies the department's work.
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker,
                                 passed=True))
    assert closed["status"] == "closed"


async def test_a_rework_cycle_is_checked_apart_from_its_own_handler(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, city.worker, tid)
    failed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2,
                                 passed=False, note="垃圾未清理干净"))
    assert failed["status"] == "dispatched"  # 返工: back to the grid team

    # The second cycle is handled by the worker who failed the first check ...
    await handled_by(client, city.worker2, tid)
    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2,
                              passed=True))
    # ... and checked by the first cycle's handler, who did not do this work.
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker,
                                 passed=True))
    assert closed["status"] == "closed"


async def test_a_rework_after_an_unsatisfied_rating_keeps_the_separation(client, city):
    tid = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, city.worker, tid)
    await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=True))
    reopened = await ok(await post(client, f"/api/v1/tickets/{tid}/rework", city.dispatcher,
                                   reason="居民反映仍未解决"))
    assert reopened["status"] == "dispatched"

    await handled_by(client, city.worker, tid)
    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker,
                              passed=True))
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2,
                                 passed=True))
    assert closed["status"] == "closed"


async def test_the_patrol_collector_verifies_the_department_work_on_their_report(client, city):
    response = await client.post("/api/v1/tasks/patrol", headers=city.worker,
                                 json=report_body("9901", location=IN_CELL))
    tid = (await ok(response, 201))["id"]
    await handled_by(client, city.handler, tid)
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker,
                                 passed=True, note="采集员回访核查"))
    assert closed["status"] == "closed"


async def test_a_dispatcher_who_handled_may_not_close_it_without_a_check(client, city):
    user, both = await make_staff(Role.DISPATCHER, area_code="990100", name="冯兼职")
    await second_grant(user, Role.GRID_WORKER, area_code="990100001001")
    tid = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, both, tid)

    assert refused(await post(client, f"/api/v1/tickets/{tid}/close", both))
    assert refused(await post(client, f"/api/v1/tickets/{tid}/verify", both, passed=True))
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/close", city.dispatcher))
    assert closed["status"] == "closed"


async def test_a_district_may_turn_the_separation_off(client, city):
    base_settings(separate_verification=False)
    tid = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, city.worker, tid)
    closed = await ok(await post(client, f"/api/v1/tickets/{tid}/verify", city.worker,
                                 passed=True))
    assert closed["status"] == "closed"


async def test_the_verify_queue_and_buttons_leave_out_the_workers_own_handling(client, city):
    mine = (await report(client, city.resident, "9904"))["id"]
    theirs = (await report(client, city.resident, "9904"))["id"]
    await handled_by(client, city.worker, mine)
    await handled_by(client, city.worker2, theirs)

    async def queue(headers):
        page = await ok(await client.get("/api/v1/tasks?scope=verify", headers=headers))
        return sorted(item["id"] for item in page["items"])

    assert await queue(city.worker) == [theirs]
    assert await queue(city.worker2) == [mine]
    own = await ok(await client.get(f"/api/v1/tickets/{mine}", headers=city.worker))
    assert not {"verify_pass", "verify_fail", "close"} & set(own["allowed_actions"])
    other = await ok(await client.get(f"/api/v1/tickets/{theirs}", headers=city.worker))
    assert {"verify_pass", "verify_fail"} <= set(other["allowed_actions"])

    base_settings(separate_verification=False)
    assert await queue(city.worker) == sorted([mine, theirs])
