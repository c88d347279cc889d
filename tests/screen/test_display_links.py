"""A dispatcher hands a hall's display a read-only screen link, and takes it back."""

from __future__ import annotations

import hashlib
import os

import pytest

from app.accounts.models import Role
from app.screen import service
from app.screen.models import DisplayLink
from tests.console.helpers import dispatcher, sign_in
from tests.factories import make_staff
from tests.screen.helpers import create_link
from tests.tickets.helpers import OTHER_STREET, report


async def test_a_dispatcher_creates_a_link_that_opens_the_screen_without_a_session(client, city):
    csrf = await dispatcher(client, username="dispatcher-hall")
    token = await create_link(client, csrf, name="指挥大厅主屏")
    client.cookies.clear()  # the hall's display has no staff session
    page = await client.get(f"/screen/{token}")
    assert page.status_code == 200
    assert "今日上报" in page.text and "测试区" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    data = await client.get(f"/screen/{token}/data.json")
    assert data.status_code == 200 and data.json()["title"] == "测试区"
    # Nothing else opens with the token: no console page, no API.
    assert (await client.get("/console/screen/links")).status_code == 302
    api = await client.get("/api/v1/stats/summary", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


async def test_the_token_is_stored_only_as_its_hash(client, city):
    csrf = await dispatcher(client, username="dispatcher-hash")
    token = await create_link(client, csrf, name="东区二号屏")
    [link] = await DisplayLink.all().values()
    assert link["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in link.values())
    listing = await client.get("/console/screen/links")
    assert "东区二号屏" in listing.text and "有效" in listing.text
    assert token not in listing.text  # shown once, when created


async def test_a_revoked_link_stops_working_at_once(client, city):
    csrf = await dispatcher(client, username="dispatcher-revoke")
    token = await create_link(client, csrf)
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200
    [link] = await DisplayLink.all()
    response = await client.post(f"/console/screen/links/{link.id}/revoke",
                                 data={"csrf_token": csrf})
    assert response.status_code == 303
    data = await client.get(f"/screen/{token}/data.json")
    assert data.status_code == 404
    assert data.json()["error"]["code"] == "display_link_not_found"
    assert (await client.get(f"/screen/{token}/events")).status_code == 404
    page = await client.get(f"/screen/{token}")
    assert page.status_code == 404 and "已被撤销" in page.text
    listing = await client.get("/console/screen/links")
    assert "已撤销" in listing.text


async def test_revoking_needs_the_csrf_token(client, city):
    csrf = await dispatcher(client, username="dispatcher-csrf")
    token = await create_link(client, csrf)
    [link] = await DisplayLink.all()
    refused = await client.post(f"/console/screen/links/{link.id}/revoke")
    assert refused.status_code == 403
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200


async def test_a_link_shows_its_area_only(client, city):
    mine = await report(client, city.resident, category="9902")
    other = await report(client, city.resident, category="9902", location=OTHER_STREET)
    csrf = await dispatcher(client, username="dispatcher-street")
    token = await create_link(client, csrf, area="990100001", name="东门街道屏")
    data = (await client.get(f"/screen/{token}/data.json")).json()
    assert data["title"] == "东门街道"
    assert data["today"]["counts"]["reported"] == 1
    numbers = [e["number"] for e in data["feed"]]
    assert mine["number"] in numbers and other["number"] not in numbers
    grid = (await client.get(f"/screen/{token}/grid.geojson")).json()
    codes = {f["properties"]["code"] for f in grid["features"]}
    assert codes and all(code.startswith("990100001") for code in codes)


async def test_no_link_for_an_area_outside_the_dispatchers_own(client, city):
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west", name="西派遣")
    csrf = await sign_in(client, "west")
    response = await client.post("/console/screen/links", data={
        "name": "越权", "area": "990100001", "csrf_token": csrf})
    assert response.status_code == 404
    assert await DisplayLink.all().count() == 0
    bad = await client.post("/console/screen/links", data={
        "name": "", "area": "990100002", "csrf_token": csrf})
    assert bad.status_code == 422 and "名称" in bad.text


async def test_another_districts_dispatcher_cannot_revoke_or_see_a_link(client, city):
    csrf = await dispatcher(client, username="dispatcher-own")
    token = await create_link(client, csrf, name="东区一号屏")
    [link] = await DisplayLink.all()
    client.cookies.clear()
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west2", name="西派遣")
    west = await sign_in(client, "west2")
    listing = await client.get("/console/screen/links")
    assert listing.status_code == 200 and "东区一号屏" not in listing.text
    refused = await client.post(f"/console/screen/links/{link.id}/revoke",
                                data={"csrf_token": west})
    assert refused.status_code == 404
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200


async def test_a_grid_worker_cannot_make_links(client, city):
    await make_staff(Role.GRID_WORKER, area_code="990100001001", username="gw", name="王网格")
    csrf = await sign_in(client, "gw")
    assert (await client.get("/console/screen/links")).status_code == 403
    response = await client.post("/console/screen/links", data={
        "name": "屏", "area": "990100001001", "csrf_token": csrf})
    assert response.status_code == 403
    assert (await client.get("/console/screen")).status_code == 403


async def test_a_link_dies_with_its_creators_account(client, city):
    csrf = await dispatcher(client, username="dispatcher-leaves")
    token = await create_link(client, csrf)
    [link] = await DisplayLink.all()
    from app.accounts.models import User

    await User.filter(id=link.created_by_id).update(is_active=False)
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 404


async def test_unknown_tokens_are_not_found(client, city):
    for token in ("nope", "x" * 200):
        response = await client.get(f"/screen/{token}/data.json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "display_link_not_found"


async def test_a_resolved_link_is_kept_but_a_revoke_still_ends_it_at_once(client, city):
    csrf = await dispatcher(client, username="dispatcher-cache")
    token = await create_link(client, csrf)
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200
    # Revoked behind the cache's back (as another process's revoke looks to this one, without
    # Redis): the link is kept for a while, so 50 screens do not read it again every few seconds.
    [link] = await DisplayLink.all()
    await DisplayLink.filter(id=link.id).update(last_seen_at=None)
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200
    assert (await DisplayLink.get(id=link.id)).last_seen_at is None  # not read again
    # Through the console (this process, and with Redis every process): at once.
    await client.post(f"/console/screen/links/{link.id}/revoke", data={"csrf_token": csrf})
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 404


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
async def test_with_redis_a_revoke_reaches_a_process_that_cached_the_link(client, city):
    csrf = await dispatcher(client, username="dispatcher-two")
    token = await create_link(client, csrf)
    assert (await client.get(f"/screen/{token}/data.json")).status_code == 200
    [link] = await DisplayLink.all()
    other_process = dict(service._links)  # what another process holds for this link
    await client.post(f"/console/screen/links/{link.id}/revoke", data={"csrf_token": csrf})
    service._links.update(other_process)
    data = await client.get(f"/screen/{token}/data.json")
    assert data.status_code == 404 and data.json()["error"]["code"] == "display_link_not_found"
