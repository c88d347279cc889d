"""Staff sign in to the console with their API accounts: session cookie, lockout, sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from app.console.models import ConsoleSession
from tests.console.helpers import PASSWORD, csrf_of, post_login, sign_in
from tests.factories import load_small_tree, make_staff


async def test_a_dispatcher_signs_in_with_a_safe_session_cookie(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    response = await post_login(client, "dispatcher")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    [cookie] = [c.lower() for c in response.headers.get_list("set-cookie")
                if c.startswith("gz_console=")]
    assert "gz_console=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/console" in cookie
    assert "secure" not in cookie  # Secure only in prod (dev runs on plain http)
    page = await client.get("/console/")
    assert page.status_code == 200
    assert "待受理" in page.text and "派遣工作台" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # Only the hash of the cookie value is stored.
    token = client.cookies.get("gz_console")
    assert token and not await ConsoleSession.filter(token_hash=token).exists()


async def test_pages_without_a_session_send_the_browser_to_sign_in(client):
    response = await client.get("/console/")
    assert response.status_code == 302
    assert response.headers["location"] == "/console/login?next=/console/"
    htmx = await client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/login")


async def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    for _ in range(5):
        wrong = await post_login(client, "dispatcher", "not-the-password")
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.text
    locked = await post_login(client, "dispatcher", PASSWORD)
    assert locked.status_code == 429
    assert "锁定" in locked.text
    assert client.cookies.get("gz_console") is None


async def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    response = await client.post("/console/login", data={"username": "dispatcher",
                                                          "password": PASSWORD})
    assert response.status_code == 403
    assert client.cookies.get("gz_console") is None


async def test_sign_in_never_redirects_outside_the_console(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    response = await post_login(client, "dispatcher", next_url="//evil.example/console/")
    assert response.headers["location"] == "/console/"


async def test_signing_out_ends_the_session_for_the_cookie_too(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    csrf = await sign_in(client, "dispatcher")
    stolen = client.cookies.get("gz_console")
    refused = await client.post("/console/logout")  # no CSRF token
    assert refused.status_code == 403
    out = await client.post("/console/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    client.cookies.set("gz_console", stolen, path="/console")
    assert (await client.get("/console/")).status_code == 302


async def test_an_idle_session_expires(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    await sign_in(client, "dispatcher")
    await ConsoleSession.all().update(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
    assert (await client.get("/console/")).status_code == 302
    assert await ConsoleSession.filter(ended_at=None).count() == 0


async def test_a_disabled_account_loses_its_session(client):
    await load_small_tree()
    user, _ = await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    await sign_in(client, "dispatcher")
    user.is_active = False
    await user.save()
    assert (await client.get("/console/")).status_code == 302


async def test_other_staff_see_a_home_page_not_the_dispatch_workbench(client):
    await load_small_tree()
    await make_staff(Role.COMMUNITY_STAFF, area_code="990100001001", username="community")
    response = await post_login(client, "community")
    assert response.status_code == 303
    page = await client.get("/console/")
    assert page.status_code == 200 and "社区工作人员" in page.text
    assert "待受理" not in page.text
    assert csrf_of(page.text)
