"""The caller's grants are kept per process (app/accounts/caller.py), yet every change to an
account counts at its very next request: a deactivation, a grant removed or added, an area
renamed, whether made through this process, past the services, or on another server."""

from __future__ import annotations

import os

import httpx
from tortoise.expressions import F

from app import settings as settings_module
from app.accounts.models import Role, RoleGrant, User
from app.areas.models import Area
from app.core.models import ConfigRevision
from tests.factories import error_code, make_staff, resident
from tests.live import live_server
from tests.support import DATABASE_URL, ROOT_ENV, VAR_DIR
from tests.tickets.helpers import build_city, report


def _server_env() -> dict[str, str]:
    """A real server on this run's database; CONFIG_CHECK_S far longer than the test, so only
    an exact check can pass."""
    secret = settings_module.current().jwt_secret.get_secret_value()
    return {**ROOT_ENV, "APP_ENV": "test", "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": os.environ.get("REDIS_URL", ""), "VAR_DIR": str(VAR_DIR),
            "JWT_SECRET": secret, "JOBS_IN_PROCESS": "false", "CONFIG_CHECK_S": "3600",
            "API_HOSTS": "2", "MEDIA_SHARED_VOLUME": "true"}


async def _bump_revision_as_another_process() -> None:
    """What a configuration change through another API process leaves in the database."""
    if not await ConfigRevision.filter(name="config").update(revision=F("revision") + 1):
        await ConfigRevision.create(name="config", revision=1)


async def test_a_deactivated_staff_members_next_request_is_refused(client, city):
    _, admin = await make_staff(Role.ADMIN)
    worker = await client.get("/api/v1/me", headers=city.worker)
    assert worker.status_code == 200
    assert (await client.get("/api/v1/me", headers=city.worker)).status_code == 200  # cached

    off = await client.patch(f"/api/v1/users/{worker.json()['id']}", json={"is_active": False},
                             headers=admin)
    assert off.status_code == 200, off.text
    refused = await client.get("/api/v1/me", headers=city.worker)
    assert refused.status_code == 401 and error_code(refused) == "invalid_token"

    on = await client.patch(f"/api/v1/users/{worker.json()['id']}", json={"is_active": True},
                            headers=admin)
    assert on.status_code == 200, on.text
    assert (await client.get("/api/v1/me", headers=city.worker)).status_code == 200


async def test_a_deactivation_written_past_this_process_counts_at_once(client, city):
    me = await client.get("/api/v1/me", headers=city.dispatcher)
    assert me.status_code == 200
    # Another process (or an operator's SQL) deactivates the account: no bump, no local event.
    await User.filter(id=me.json()["id"]).update(is_active=False)
    refused = await client.get("/api/v1/tickets", headers=city.dispatcher)
    assert refused.status_code == 401 and error_code(refused) == "invalid_token"


async def test_a_removed_grant_is_refused_at_once_and_an_added_one_counts(client):
    city = await build_city(client)
    ticket = await report(client, city.resident)
    user, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100", name="钱派遣")
    assert (await client.get("/api/v1/tickets", headers=dispatcher)).status_code == 200
    page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=dispatcher)
    assert page.status_code == 200 and page.json()["allowed_actions"], page.text

    # Removed past the services (as the cascade of an area's removal, or another process).
    await RoleGrant.filter(user_id=user.id).delete()
    listed = await client.get("/api/v1/tickets", headers=dispatcher)
    assert listed.status_code == 403
    hidden = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=dispatcher)
    assert hidden.status_code in (200, 404)
    assert hidden.status_code == 404 or hidden.json()["allowed_actions"] == []  # public view
    me = await client.get("/api/v1/me", headers=dispatcher)
    assert me.status_code == 200 and me.json()["roles"] == []

    area = await Area.get(code="990100001001")
    await RoleGrant.create(user_id=user.id, role=Role.COMMUNITY_STAFF, area=area)
    me = await client.get("/api/v1/me", headers=dispatcher)
    assert [(g["role"], g["area"]["code"]) for g in me.json()["roles"]] == [
        ("community_staff", "990100001001")]
    assert (await client.get("/api/v1/tickets", headers=dispatcher)).status_code == 200


async def test_an_area_renamed_by_another_process_shows_on_the_next_profile(client, city):
    before = await client.get("/api/v1/me", headers=city.worker)
    assert before.json()["roles"][0]["area"]["name"] != "古槐路社区"
    await Area.filter(code="990100001001").update(name="古槐路社区")
    await _bump_revision_as_another_process()
    after = await client.get("/api/v1/me", headers=city.worker)
    assert after.json()["roles"][0]["area"]["name"] == "古槐路社区"  # not after CONFIG_CHECK_S


async def test_a_residents_home_area_change_shows_at_once(client, city):
    headers = await resident(client, "carol")
    assert (await client.get("/api/v1/me", headers=headers)).json()["home_area"] is None
    moved = await client.patch("/api/v1/me", json={"home_area_code": "990100001001"},
                               headers=headers)
    assert moved.status_code == 200 and moved.json()["home_area"]["code"] == "990100001001"
    again = await client.get("/api/v1/me", headers=headers)
    assert again.json()["home_area"]["code"] == "990100001001"


async def test_a_change_made_on_one_server_counts_on_the_other_at_once(client, city):
    """Two real servers: B has cached the worker's grants; A deactivates a dispatcher and
    renames the worker's community; B's very next answers know both (no waiting)."""
    _, admin = await make_staff(Role.ADMIN)
    dispatcher = await User.get(grants__role=Role.DISPATCHER)
    env = _server_env()
    with live_server(env, timeout=120) as a, live_server(env, timeout=120) as b:
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(f"{b}/api/v1/me", headers=city.dispatcher)).status_code == 200
            worker = await http.get(f"{b}/api/v1/me", headers=city.worker)
            assert worker.status_code == 200
            renamed = await http.patch(f"{a}/api/v1/areas/990100001001",
                                       json={"name": "古槐路社区"}, headers=admin)
            assert renamed.status_code == 200, renamed.text
            off = await http.patch(f"{a}/api/v1/users/{dispatcher.id}",
                                   json={"is_active": False}, headers=admin)
            assert off.status_code == 200, off.text

            refused = await http.get(f"{b}/api/v1/me", headers=city.dispatcher)
            assert refused.status_code == 401
            worker = await http.get(f"{b}/api/v1/me", headers=city.worker)
            assert worker.json()["roles"][0]["area"]["name"] == "古槐路社区"
