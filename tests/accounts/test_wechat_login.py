"""Residents log in from the mini-program: wx.login code → code2Session (wechatpy) → our tokens.

wechatpy talks over HTTP to a fake WeChat on 127.0.0.1 that answers as WeChat documents.
"""

import socket

import pytest

from app import settings as settings_module
from tests.factories import error_code
from tests.fakes.wechat import FakeWeChat, start
from tests.support import base_settings

# A prod JWT_SECRET needs real entropy (app/settings.py weak_secret).
PROD_SECRET = "q7Vx2mLp9RtZ4cWn8BfKj3HsYd6GaE1u"


@pytest.fixture
def wechat(client):
    fake = FakeWeChat()
    server = start(fake)
    base_settings(wechat_appid=fake.appid, wechat_secret=fake.secret, wechat_api_base=fake.url)
    yield fake
    server.shutdown()


async def test_resident_logs_in_with_a_wx_login_code(client, wechat):
    response = await client.post("/api/v1/auth/wechat", json={"code": wechat.code_for("o-alice")})
    assert response.status_code == 200
    tokens = response.json()
    assert "session_key" not in response.text and "SECRET" not in response.text
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert [r["role"] for r in me.json()["roles"]] == ["resident"]
    assert "session_key" not in me.text
    # wechatpy really called code2Session with our app's credentials
    paths = [path for path, _ in wechat.requests]
    assert "/sns/jscode2session" in paths
    query = dict(wechat.requests[paths.index("/sns/jscode2session")][1])
    assert query["appid"] == wechat.appid and query["grant_type"] == "authorization_code"


async def test_logging_in_again_finds_the_same_resident(client, wechat):
    first = await client.post("/api/v1/auth/wechat", json={"code": wechat.code_for("o-bob")})
    second = await client.post("/api/v1/auth/wechat", json={"code": wechat.code_for("o-bob")})
    ids = []
    for response in (first, second):
        me = await client.get("/api/v1/me", headers={
            "Authorization": f"Bearer {response.json()['access_token']}"})
        ids.append(me.json()["id"])
    assert ids[0] == ids[1]


async def test_a_used_code_cannot_log_in_twice(client, wechat):
    code = wechat.code_for("o-carol")
    assert (await client.post("/api/v1/auth/wechat", json={"code": code})).status_code == 200
    again = await client.post("/api/v1/auth/wechat", json={"code": code})
    assert again.status_code == 401
    assert error_code(again) == "invalid_wechat_code"


@pytest.mark.parametrize(("errcode", "status", "code"), [
    (40029, 401, "invalid_wechat_code"),
    (45011, 429, "wechat_rate_limited"),
    (40226, 403, "risky_user"),
    (-1, 502, "wechat_unavailable"),
])
async def test_wechat_errors_become_clear_answers(client, wechat, errcode, status, code):
    response = await client.post("/api/v1/auth/wechat",
                                 json={"code": wechat.failing_code(errcode)})
    assert response.status_code == status
    assert error_code(response) == code
    assert response.json()["error"]["message"]  # Chinese text for the resident


async def test_wechat_unreachable_is_a_502_not_a_hang_or_500(client):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_settings(wechat_appid="wx-down", wechat_secret="s" * 32,
                  wechat_api_base=f"http://127.0.0.1:{port}/")
    response = await client.post("/api/v1/auth/wechat", json={"code": "anything"})
    assert response.status_code == 502
    assert error_code(response) == "wechat_unavailable"


async def test_dev_login_is_refused_once_a_wechat_app_is_configured(client, wechat):
    response = await client.post("/api/v1/auth/dev", json={"openid": "mallory"})
    assert response.status_code == 404


async def test_missing_or_bad_code_is_a_422(client):
    assert (await client.post("/api/v1/auth/wechat", json={})).status_code == 422
    assert (await client.post("/api/v1/auth/wechat", json={"code": ""})).status_code == 422
    assert (await client.post("/api/v1/auth/wechat", json={"code": 12})).status_code == 422


def test_prod_refuses_placeholder_secrets():
    with pytest.raises(ValueError, match="JWT_SECRET"):
        settings_module.Settings(app_env="prod", database_url="mysql://a:b@h/db",
                                 wechat_appid="wx1", wechat_secret="x" * 32)
    with pytest.raises(ValueError, match="WECHAT"):
        settings_module.Settings(app_env="prod", database_url="mysql://a:b@h/db",
                                 jwt_secret=PROD_SECRET)
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        settings_module.Settings(app_env="prod", database_url="mysql://a:b@h/db",
                                 jwt_secret=PROD_SECRET, wechat_appid="wx1", wechat_secret="x" * 32)
    ok = settings_module.Settings(app_env="prod", database_url="mysql://a:b@h/db",
                                  jwt_secret=PROD_SECRET, wechat_appid="wx1",
                                  wechat_secret="x" * 32,
                                  public_base_url="https://api.gongzhi.example.gov.cn")
    assert not ok.dev_login_allowed


def test_prod_server_has_no_dev_login_route(migrated):
    import httpx

    from tests.live import live_server
    from tests.support import DATABASE_URL

    env = {"APP_ENV": "prod", "DATABASE_URL": DATABASE_URL, "JWT_SECRET": PROD_SECRET,
           "WECHAT_APPID": "wx1", "WECHAT_SECRET": "x" * 32,
           "PUBLIC_BASE_URL": "https://api.gongzhi.example.gov.cn"}
    with live_server(env) as url:
        response = httpx.post(f"{url}/api/v1/auth/dev", json={"openid": "x"})
        spec = httpx.get(f"{url}/docs/openapi.json").json()
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert "/api/v1/auth/dev" not in spec["paths"]
    assert "/api/v1/auth/wechat" in spec["paths"]


def test_prod_server_refuses_to_start_with_placeholder_secrets(migrated):
    from tests.live import live_server
    from tests.support import DATABASE_URL

    env = {"APP_ENV": "prod", "DATABASE_URL": DATABASE_URL, "JWT_SECRET": "dev-secret-change-me",
           "WECHAT_APPID": "wx1", "WECHAT_SECRET": "x" * 32,
           "PUBLIC_BASE_URL": "https://api.gongzhi.example.gov.cn"}
    with pytest.raises(RuntimeError, match="JWT_SECRET"), live_server(env, timeout=20):
        pass


async def test_wechat_login_still_works_while_redis_is_down(client):
    fake = FakeWeChat()
    server = start(fake)
    try:
        # Nothing listens on port 1: the shared-token store falls back to process memory.
        base_settings(wechat_appid=fake.appid, wechat_secret=fake.secret,
                      wechat_api_base=fake.url, redis_url="redis://127.0.0.1:1/0")
        response = await client.post("/api/v1/auth/wechat", json={"code": fake.code_for("o-z")})
        assert response.status_code == 200, response.text
    finally:
        server.shutdown()


def test_the_app_factory_decides_the_dev_login_by_the_settings_it_is_given():
    from app.main import create_app

    assert base_settings().dev_login_allowed  # the process itself is in dev mode
    with_wechat = base_settings().model_copy(update={"wechat_appid": "wx1"})
    app = create_app(with_wechat, name="gongzhi_factory_settings")
    assert "accounts_dev" not in {bp.name for bp in app.blueprints.values()}


async def test_a_dev_openid_too_long_to_store_is_a_422(client):
    response = await client.post("/api/v1/auth/dev", json={"openid": "a" * 61})
    assert response.status_code == 422 and error_code(response) == "invalid"
    stored = await client.post("/api/v1/auth/dev", json={"openid": "a" * 60})
    assert stored.status_code == 200, stored.text
