"""Safe defaults: what prod refuses, response headers, no CORS, the docs page (issue 10)."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from app import settings as settings_module
from app.settings import ROOT, weak_secret
from tests.factories import resident

GOOD = "q7Vx2mLp9RtZ4cWn8BfKj3HsYd6GaE1u"
PROD = {"app_env": "prod", "database_url": "mysql://a:b@h/db", "jwt_secret": GOOD,
        "wechat_appid": "wx1", "wechat_secret": "x" * 32,
        "public_base_url": "https://api.gongzhi.example.gov.cn", "wechat_push_token": "t" * 32}


@pytest.mark.parametrize("secret", ["k" * 40, " " * 32, "change-me" * 4, "CHANGE-ME" * 4,
                                    "dev-secret-change-me" * 2, "abab" * 10, "0123456789" * 4,
                                    "aaaaaaaabbbbbbbbccccccccdddddddd", "my-jwt-secret-for-gongzhi-2026!!",
                                    "short"])
def test_weak_jwt_secrets_are_refused_in_prod(secret):
    assert weak_secret(secret) is not None
    with pytest.raises(ValueError, match="JWT_SECRET"):
        settings_module.Settings(**{**PROD, "jwt_secret": secret})


def test_generated_secrets_pass():
    # A real token_hex(16) with only 9 different digits, which the former bar of 10 refused.
    assert weak_secret("92976a8a872792b729cb64299c62cc7a") is None
    for _ in range(200):
        assert weak_secret(secrets.token_urlsafe(32)) is None
        assert weak_secret(secrets.token_hex(16)) is None
    assert settings_module.Settings(**PROD).app_env == "prod"


@pytest.mark.parametrize("url", ["http://api.gongzhi.example.gov.cn", "http://127.0.0.1:8000",
                                 "https://localhost", "api.gongzhi.example.gov.cn"])
def test_prod_refuses_a_public_base_url_that_is_not_https(url):
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        settings_module.Settings(**{**PROD, "public_base_url": url})


def test_sqlite_in_prod_is_warned_about_not_refused():
    sqlite = settings_module.Settings(**{**PROD, "database_url": "sqlite:///srv/g.sqlite3"})
    assert any("SQLite" in w for w in sqlite.deployment_warnings())
    assert settings_module.Settings(**PROD).deployment_warnings() == []
    with pytest.raises(ValueError, match="DATABASE_URL"):  # unset (the SQLite default) is refused
        settings_module.Settings(**{**PROD, "database_url": ""})


def test_photos_left_unchecked_in_prod_are_warned_about():
    unchecked = settings_module.Settings(**{**PROD, "wechat_push_token": ""})
    assert any("WECHAT_PUSH_TOKEN" in w for w in unchecked.deployment_warnings())


def test_a_refusal_is_one_line_per_problem_without_a_traceback():
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "prod", "JWT_SECRET": "k" * 40,
           "PUBLIC_BASE_URL": "http://api.gongzhi.example.gov.cn", "DATABASE_URL": ""}
    run = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "1"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr and "pydantic" not in run.stderr
    assert len(lines) == 4, lines  # JWT_SECRET, DATABASE_URL, WECHAT_*, PUBLIC_BASE_URL
    assert all(line.startswith("refusing to start in prod: ") for line in lines)
    assert any("JWT_SECRET" in line for line in lines)
    assert any("PUBLIC_BASE_URL" in line for line in lines)


def test_a_prod_server_sends_hsts_and_no_docs_ui(migrated):
    import httpx

    from tests.live import live_server
    from tests.support import DATABASE_URL

    env = {"APP_ENV": "prod", "DATABASE_URL": DATABASE_URL, "JWT_SECRET": GOOD,
           "WECHAT_APPID": "wx1", "WECHAT_SECRET": "x" * 32,
           "PUBLIC_BASE_URL": "https://api.gongzhi.example.gov.cn"}
    with live_server(env, timeout=90) as url:
        health = httpx.get(f"{url}/healthz")
        ui = httpx.get(f"{url}/docs")
        document = httpx.get(f"{url}/docs/openapi.json")
    assert health.headers["strict-transport-security"].startswith("max-age=31536000")
    assert ui.status_code == 404
    assert document.status_code == 200


async def test_api_answers_are_never_cached(client):
    login = await client.post("/api/v1/auth/dev", json={"openid": "alice"})
    assert login.headers["cache-control"] == "no-store"
    headers = await resident(client)
    for path in ("/api/v1/me", "/api/v1/messages", "/api/v1/tickets/mine", "/api/v1/nothing"):
        response = await client.get(path, headers=headers)
        assert response.headers["cache-control"] == "no-store", path
    unauthenticated = await client.get("/api/v1/me")
    assert unauthenticated.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in login.headers  # dev/test: no TLS promised


async def test_no_cors_headers_for_other_origins(client):
    origin = {"Origin": "https://evil.example.com"}
    preflight = await client.options("/api/v1/auth/login", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    simple = await client.get("/api/v1/me", headers={**origin, **await resident(client)})
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


async def test_the_docs_page_has_a_csp_and_cannot_be_framed(client):
    page = await client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
