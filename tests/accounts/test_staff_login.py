"""Staff log in with username and password; repeated failures lock the username for a while."""

from app.accounts.models import Role
from tests.factories import error_code, make_staff
from tests.support import base_settings


async def login(client, username, password):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_staff_logs_in_and_sees_their_roles_and_scope(client):
    from tests.factories import load_small_tree

    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100001", username="li",
                     password="correct-horse-battery")
    response = await login(client, "li", "correct-horse-battery")
    assert response.status_code == 200
    me = await client.get("/api/v1/me",
                          headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.status_code == 200
    [grant] = me.json()["roles"]
    assert grant["role"] == "dispatcher"
    assert grant["area"]["code"] == "990100001"


async def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    await make_staff(Role.ADMIN, username="zhang", password="correct-horse-battery")
    wrong = await login(client, "zhang", "wrong-password")
    unknown = await login(client, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_five_failures_lock_the_username_even_for_the_right_password(client):
    await make_staff(Role.ADMIN, username="wang", password="correct-horse-battery")
    for _ in range(5):
        assert (await login(client, "wang", "guess")).status_code == 401
    locked = await login(client, "wang", "correct-horse-battery")
    assert locked.status_code == 429
    assert error_code(locked) == "too_many_login_failures"
    assert int(locked.headers["Retry-After"]) > 0


async def test_a_success_resets_the_failure_count(client):
    await make_staff(Role.ADMIN, username="zhao", password="correct-horse-battery")
    for _ in range(4):
        await login(client, "zhao", "guess")
    assert (await login(client, "zhao", "correct-horse-battery")).status_code == 200
    for _ in range(4):
        await login(client, "zhao", "guess")
    assert (await login(client, "zhao", "correct-horse-battery")).status_code == 200


async def test_logins_from_one_address_are_rate_limited(client):
    base_settings(rate_login_per_minute=3)
    for _ in range(3):
        assert (await client.post("/api/v1/auth/dev", json={"openid": "x"})).status_code == 200
    limited = await client.post("/api/v1/auth/dev", json={"openid": "x"})
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


async def test_deactivated_staff_cannot_log_in(client):
    user, _ = await make_staff(Role.ADMIN, username="gone", password="correct-horse-battery")
    user.is_active = False
    await user.save()
    assert (await login(client, "gone", "correct-horse-battery")).status_code == 401


async def test_failures_from_one_address_do_not_lock_the_worker_out_elsewhere(client, app):
    import httpx

    from tests.support import BASE_URL

    await make_staff(Role.GRID_WORKER, username="liu", password="correct-horse-battery")
    for _ in range(5):
        await login(client, "liu", "guess")
    assert (await login(client, "liu", "correct-horse-battery")).status_code == 429
    transport = httpx.ASGITransport(app=app, client=("10.20.30.40", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as elsewhere:
        ok = await elsewhere.post("/api/v1/auth/login", json={
            "username": "liu", "password": "correct-horse-battery"})
    assert ok.status_code == 200
