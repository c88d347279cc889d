"""Admins change an existing staff account's roles and scopes: the change counts at the account's
next request, only inside the admin's own scope, never on one's own account, and is recorded."""

from __future__ import annotations

from app.accounts.models import Role
from app.areas.models import Area, AreaKind
from tests.factories import error_code, load_small_tree, make_staff

EAST_STREET, WEST_STREET = "990100001", "990100002"


def grants(*pairs: tuple[str, str]) -> list[dict]:
    return [{"role": role, "area_code": code} for role, code in pairs]


async def test_a_dispatcher_moved_to_another_street_works_there_at_the_next_request(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100", name="钱管理")
    worker, headers = await make_staff(Role.DISPATCHER, area_code=EAST_STREET)
    # Read twice: the second answer comes from this process's cache of the grants.
    for _ in range(2):
        assert (await client.get("/api/v1/users", params={"area": EAST_STREET},
                                 headers=headers)).status_code == 200
    west = await client.get("/api/v1/users", params={"area": WEST_STREET}, headers=headers)
    assert west.status_code == 404

    moved = await client.put(f"/api/v1/users/{worker.id}/grants", headers=admin, json={
        "roles": grants(("dispatcher", WEST_STREET)),
        "expected": grants(("dispatcher", EAST_STREET))})
    assert moved.status_code == 200, moved.text
    assert [g["area"]["code"] for g in moved.json()["roles"]] == [WEST_STREET]

    me = await client.get("/api/v1/me", headers=headers)
    assert [(g["role"], g["area"]["code"]) for g in me.json()["roles"]] == [
        ("dispatcher", WEST_STREET)]
    assert (await client.get("/api/v1/users", params={"area": WEST_STREET},
                             headers=headers)).status_code == 200
    east = await client.get("/api/v1/users", params={"area": EAST_STREET}, headers=headers)
    assert east.status_code == 404


async def test_the_change_is_recorded_with_who_when_before_and_after(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100", name="钱管理")
    worker, _ = await make_staff(Role.GRID_WORKER, area_code="990100001001001")
    changed = await client.put(f"/api/v1/users/{worker.id}/grants", headers=admin, json={
        "roles": [*grants(("grid_worker", "990100001001001"), ("community_staff",
                                                               "990100001001"))]})
    assert changed.status_code == 200, changed.text
    off = await client.patch(f"/api/v1/users/{worker.id}", json={"is_active": False},
                             headers=admin)
    assert off.status_code == 200

    history = await client.get(f"/api/v1/users/{worker.id}/changes", headers=admin)
    assert history.status_code == 200, history.text
    deactivated, granted = history.json()["items"]
    assert deactivated["action"] == "deactivated" and deactivated["actor_name"] == "钱管理"
    assert deactivated["before"] == {"is_active": True}
    assert deactivated["after"] == {"is_active": False}
    assert granted["action"] == "grants" and granted["actor_name"] == "钱管理"
    assert [(g["role"], g["area_code"]) for g in granted["before"]] == [
        ("grid_worker", "990100001001001")]
    assert [(g["role"], g["area_code"]) for g in granted["after"]] == [
        ("grid_worker", "990100001001001"), ("community_staff", "990100001001")]
    assert granted["after"][1]["area_name"] == "东门第1社区"


async def test_a_street_admin_neither_gives_nor_takes_away_a_grant_outside_the_street(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code=EAST_STREET)
    worker, _ = await make_staff(Role.DISPATCHER, area_code=EAST_STREET)
    out = await client.put(f"/api/v1/users/{worker.id}/grants", headers=admin,
                           json={"roles": grants(("dispatcher", WEST_STREET))})
    assert out.status_code == 422 and error_code(out) == "unknown_area"

    # A district-wide grant on an account the street admin can see: not theirs to take away.
    both, _ = await make_staff(Role.DISPATCHER, area_code=EAST_STREET)
    _, district_admin = await make_staff(Role.ADMIN, area_code="990100")
    added = await client.put(f"/api/v1/users/{both.id}/grants", headers=district_admin,
                             json={"roles": grants(("dispatcher", EAST_STREET),
                                                   ("supervisor", "990100"))})
    assert added.status_code == 200, added.text
    taken = await client.put(f"/api/v1/users/{both.id}/grants", headers=admin,
                             json={"roles": grants(("dispatcher", EAST_STREET))})
    assert taken.status_code == 403 and error_code(taken) == "grant_out_of_scope"
    me = await client.get(f"/api/v1/users/{both.id}", headers=district_admin)
    assert len(me.json()["roles"]) == 2
    # Left as it is, the district-wide grant does not stop a change inside the street.
    added = await client.put(f"/api/v1/users/{both.id}/grants", headers=admin, json={
        "roles": grants(("dispatcher", EAST_STREET), ("supervisor", "990100"),
                        ("grid_worker", "990100001001001"))})
    assert added.status_code == 200, added.text
    assert len(added.json()["roles"]) == 3


async def test_nobody_changes_their_own_grants_and_only_admins_change_grants(client):
    await load_small_tree()
    admin_user, admin = await make_staff(Role.ADMIN, area_code=EAST_STREET)
    own = await client.put(f"/api/v1/users/{admin_user.id}/grants", headers=admin,
                           json={"roles": grants(("admin", "990100"))})
    assert own.status_code == 403 and error_code(own) == "own_grants"
    dispatcher_user, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    worker, _ = await make_staff(Role.GRID_WORKER, area_code="990100001001001")
    refused = await client.put(f"/api/v1/users/{worker.id}/grants", headers=dispatcher,
                               json={"roles": grants(("dispatcher", EAST_STREET))})
    assert refused.status_code == 403
    # Another district's admin does not even learn the account exists.
    await Area.create(code="990200", name="邻区", kind=AreaKind.DISTRICT, path="/990200/")
    _, neighbour = await make_staff(Role.ADMIN, area_code="990200")
    hidden = await client.put(f"/api/v1/users/{dispatcher_user.id}/grants", headers=neighbour,
                              json={"roles": grants(("dispatcher", "990200"))})
    assert hidden.status_code == 404


async def test_a_change_made_by_another_admin_meanwhile_is_not_undone(client):
    await load_small_tree()
    _, first = await make_staff(Role.ADMIN, area_code="990100")
    _, second = await make_staff(Role.ADMIN, area_code="990100")
    worker, _ = await make_staff(Role.DISPATCHER, area_code=EAST_STREET)
    seen = grants(("dispatcher", EAST_STREET))
    ok = await client.put(f"/api/v1/users/{worker.id}/grants", headers=first, json={
        "roles": grants(("dispatcher", EAST_STREET), ("supervisor", EAST_STREET)),
        "expected": seen})
    assert ok.status_code == 200
    stale = await client.put(f"/api/v1/users/{worker.id}/grants", headers=second, json={
        "roles": grants(("dispatcher", WEST_STREET)), "expected": seen})
    assert stale.status_code == 409 and error_code(stale) == "grants_changed"
    now = await client.get(f"/api/v1/users/{worker.id}", headers=second)
    assert sorted(g["role"] for g in now.json()["roles"]) == ["dispatcher", "supervisor"]
    history = await client.get(f"/api/v1/users/{worker.id}/changes", headers=second)
    assert len(history.json()["items"]) == 1


async def test_a_handler_moves_to_another_unit(client):
    from tests.factories import make_unit

    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    old_unit, new_unit = await make_unit("排水所"), await make_unit("路灯所")
    worker, headers = await make_staff(Role.HANDLER, unit=old_unit)
    moved = await client.put(f"/api/v1/users/{worker.id}/grants", headers=admin,
                             json={"roles": [{"role": "handler", "unit_id": new_unit.id}]})
    assert moved.status_code == 200, moved.text
    me = await client.get("/api/v1/me", headers=headers)
    assert [g["unit_name"] for g in me.json()["roles"]] == ["路灯所"]


async def test_a_grant_changed_through_one_server_counts_at_the_next_request_on_another(client):
    """Two real servers on one database, the configuration check far longer than the test: the
    server that cached the dispatcher's grants sees the change at the next request."""
    import httpx

    from tests.accounts.test_auth_cache import _server_env
    from tests.live import live_server

    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    worker, headers = await make_staff(Role.DISPATCHER, area_code=EAST_STREET)
    env = _server_env()
    with live_server(env, timeout=120) as a, live_server(env, timeout=120) as b:
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(2):  # the second answer from b's cache
                me = await http.get(f"{b}/api/v1/me", headers=headers)
                assert [g["area"]["code"] for g in me.json()["roles"]] == [EAST_STREET]
            moved = await http.put(f"{a}/api/v1/users/{worker.id}/grants", headers=admin,
                                   json={"roles": grants(("dispatcher", WEST_STREET))})
            assert moved.status_code == 200, moved.text
            me = await http.get(f"{b}/api/v1/me", headers=headers)
            assert [g["area"]["code"] for g in me.json()["roles"]] == [WEST_STREET]
            west = await http.get(f"{b}/api/v1/users", params={"area": WEST_STREET},
                                  headers=headers)
            assert west.status_code == 200
