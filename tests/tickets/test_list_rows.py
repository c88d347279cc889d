"""A list row says what the ticket's own page says, for every caller: the list works out each
row's roles and buttons once per page for rows sharing the facts they depend on
(app/tickets/rows.py), the ticket page works them out for its one ticket."""

from __future__ import annotations

from app.accounts.models import Role, RoleGrant
from app.areas.models import Area
from app.core import config_cache
from tests.factories import make_staff
from tests.tickets.helpers import OTHER_STREET, build_city, report

LISTS = ("/api/v1/tickets", "/api/v1/tickets/queue", "/api/v1/tickets/mine",
         "/api/v1/tasks?scope=pool", "/api/v1/tasks?scope=mine", "/api/v1/tasks?scope=verify")


async def _many_hats(city) -> tuple[object, dict]:
    """A grid worker of the cell who is also a dispatcher and the department's handler: on
    one page, rows that differ only by their unit, by whose task it is, or by who handled it."""
    user, headers = await make_staff(Role.GRID_WORKER, area_code="990100001001", name="钱多面")
    district = await Area.get(code="990100")
    await RoleGrant.create(user=user, role=Role.DISPATCHER, area=district)
    await RoleGrant.create(user=user, role=Role.HANDLER, unit=city.department)
    config_cache.invalidate()
    return user, headers


async def _ok(client, path, headers, **body):
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _page_of_many_states(client, city, hats: dict) -> None:
    await report(client, city.resident)  # the department's task
    await report(client, city.resident, location=OTHER_STREET)  # another street's cell
    await report(client, city.other_resident, category="9902")  # waits for the dispatcher
    await report(client, city.resident, category="9904")  # the grid team's, in the pool
    # Dispatched to the other department: as the pool's row, but not the many-hatted's task.
    moved = await report(client, city.other_resident)
    await _ok(client, f"/api/v1/tasks/{moved['id']}/return", city.handler, reason="不归我们管")
    await _ok(client, f"/api/v1/tickets/{moved['id']}/dispatch", city.dispatcher,
              unit_id=city.other_department.id)
    claimed = await report(client, city.resident, category="9904")
    await _ok(client, f"/api/v1/tasks/{claimed['id']}/claim", city.worker)
    await _ok(client, f"/api/v1/tickets/{claimed['id']}/follow", city.other_resident)
    # Two handled tasks of the same cell and team: one the many-hatted handled themselves.
    for worker in (city.worker, hats):
        handled = await report(client, city.other_resident, category="9904")
        await _ok(client, f"/api/v1/tasks/{handled['id']}/claim", worker)
        await _ok(client, f"/api/v1/tasks/{handled['id']}/handle", worker, note="已清理")


async def test_every_list_row_matches_the_tickets_own_page_for_every_caller(client):
    city = await build_city(client)
    _, hats = await _many_hats(city)
    await _page_of_many_states(client, city, hats)
    callers = {"many_hats": hats, "dispatcher": city.dispatcher, "community_staff": city.community_staff,
               "worker": city.worker, "worker2": city.worker2, "far_worker": city.far_worker,
               "handler": city.handler, "other_handler": city.other_handler,
               "resident": city.resident, "other_resident": city.other_resident}
    compared, buttons, shared_pages = 0, set(), 0
    for name, headers in callers.items():
        for path in LISTS:
            page = await client.get(path, headers=headers)
            if page.status_code != 200:
                continue
            rows = page.json()["items"]
            shared_pages += len(rows) > 1
            for row in rows:
                own = await client.get(f"/api/v1/tickets/{row['id']}", headers=headers)
                assert own.status_code == 200, own.text
                assert row == {key: own.json()[key] for key in row}, (name, path, row["id"])
                compared += 1
                buttons.add((row["status"], tuple(row["allowed_actions"])))
    # The page mixed statuses, roles and duties: not one answer reused for all.
    assert compared >= 20 and shared_pages >= 5
    assert len(buttons) >= 8, buttons
    assert any("verify_pass" in actions for _, actions in buttons)  # worker2 checks it
    # The many-hatted's staff list: two handled tasks alike but for who handled them.
    rows = (await client.get("/api/v1/tickets", headers=hats)).json()["items"]
    checks = [bool({"verify_pass", "close"} & set(row["allowed_actions"])) for row in rows
              if row["status"] in ("handled", "verifying")]
    assert sorted(checks) == [False, True], rows
