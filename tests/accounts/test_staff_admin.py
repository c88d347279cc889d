"""Admins create staff inside their own area; names with emoji and rare hanzi survive."""

import asyncio
import subprocess
import sys

from app.accounts.models import Role
from tests.factories import error_code, load_small_tree, make_staff, make_unit, resident
from tests.support import DATABASE_URL, ROOT_ENV


def staff_body(**overrides):
    body = {"username": "wangfang", "password": "a-long-password-1", "display_name": "王芳",
            "roles": [{"role": "community_staff", "area_code": "990100001001"}]}
    body.update(overrides)
    return body


async def test_admin_creates_a_community_staff_account_who_can_then_log_in(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    created = await client.post("/api/v1/users", json=staff_body(), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["roles"][0]["area"]["code"] == "990100001001"
    assert created.json()["surname"] == "王"
    login = await client.post("/api/v1/auth/login",
                              json={"username": "wangfang", "password": "a-long-password-1"})
    assert login.status_code == 200


async def test_street_admin_cannot_create_staff_for_another_street(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN, area_code="990100001")
    response = await client.post("/api/v1/users", headers=admin, json=staff_body(
        roles=[{"role": "grid_worker", "area_code": "990100002001001"}]))
    assert response.status_code == 422
    assert error_code(response) == "unknown_area"
    assert (await client.post("/api/v1/auth/login", json={
        "username": "wangfang", "password": "a-long-password-1"})).status_code == 401


async def test_only_admins_create_staff(client):
    await load_small_tree()
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    response = await client.post("/api/v1/users", json=staff_body(), headers=dispatcher)
    assert response.status_code == 403
    assert (await client.post("/api/v1/users", json=staff_body(),
                              headers=await resident(client))).status_code == 403


async def test_a_handler_needs_a_unit_and_a_username_is_taken_once(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    no_unit = await client.post("/api/v1/users", headers=admin, json=staff_body(
        roles=[{"role": "handler"}]))
    assert no_unit.status_code == 422 and error_code(no_unit) == "unit_required"
    unit = await make_unit()
    ok = await client.post("/api/v1/users", headers=admin, json=staff_body(
        roles=[{"role": "handler", "unit_id": unit.id}]))
    assert ok.status_code == 201
    assert ok.json()["roles"][0]["unit_name"] == "市政设施维护中心"
    again = await client.post("/api/v1/users", headers=admin, json=staff_body())
    assert again.status_code == 409 and error_code(again) == "username_taken"


async def test_weak_or_malformed_staff_input_is_refused(client):
    _, admin = await make_staff(Role.ADMIN)
    for body in (staff_body(password="short"), staff_body(username="bad name!"),
                 staff_body(roles=[]), staff_body(roles=[{"role": "king"}]),
                 staff_body(extra_field=1)):
        response = await client.post("/api/v1/users", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"]["fields"]


async def test_emoji_and_rare_hanzi_round_trip(client):
    await load_small_tree()
    headers = await resident(client, "emoji")
    name = "𠀾𪚥王🙂"  # CJK Extension B hanzi and an emoji need 4-byte UTF-8 (utf8mb4)
    response = await client.patch("/api/v1/me", json={"display_name": name}, headers=headers)
    assert response.status_code == 200
    assert (await client.get("/api/v1/me", headers=headers)).json()["display_name"] == name
    _, admin = await make_staff(Role.ADMIN)
    area = await client.patch("/api/v1/areas/990100001001", headers=admin,
                              json={"name": "𡘙社区🏠", "office_address": "𨭎路1号"})
    assert area.status_code == 200
    detail = (await client.get("/api/v1/areas/990100001001", headers=headers)).json()
    assert detail["name"] == "𡘙社区🏠" and detail["office_address"] == "𨭎路1号"


async def test_command_line_creates_an_admin_who_can_log_in(client):
    env = {**ROOT_ENV, "DATABASE_URL": DATABASE_URL}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", "users", "create", "--username", "cityadmin",
         "--name", "张三", "--role", "admin", "--password-stdin"],
        input="a-long-password-2\n", capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    login = await client.post("/api/v1/auth/login",
                              json={"username": "cityadmin", "password": "a-long-password-2"})
    assert login.status_code == 200
    me = await client.get("/api/v1/me",
                          headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["roles"] == [{"role": "admin", "area": None, "unit_id": None,
                                   "unit_name": None}]
