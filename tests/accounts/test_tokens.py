"""Access tokens are short-lived JWTs; refresh tokens rotate, and a replayed one kills the family."""

import time

import jwt

from app.settings import current
from tests.factories import error_code


async def dev_login(client, openid="alice"):
    response = await client.post("/api/v1/auth/dev", json={"openid": openid})
    assert response.status_code == 200
    return response.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_gives_a_new_working_pair(client):
    tokens = await dev_login(client)
    response = await client.post("/api/v1/auth/refresh",
                                 json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/api/v1/me", headers=bearer(fresh["access_token"]))).status_code == 200


async def test_replaying_a_used_refresh_token_revokes_the_whole_family(client):
    tokens = await dev_login(client)
    rotated = (await client.post("/api/v1/auth/refresh",
                                 json={"refresh_token": tokens["refresh_token"]})).json()
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert error_code(replay) == "refresh_token_reused"
    # the thief's replay also kills the legitimate, newer token
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401


async def test_logout_kills_the_refresh_token(client):
    tokens = await dev_login(client)
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                            headers=bearer(tokens["access_token"]))
    assert out.status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_requests_without_a_valid_token_get_401(client):
    tokens = await dev_login(client)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    secret = current().jwt_secret.get_secret_value()
    forged = [
        "",
        "not-a-jwt",
        jwt.encode(claims, "some-other-secret-0123456789abcdef", algorithm="HS256"),
        jwt.encode({**claims, "exp": int(time.time()) - 120}, secret, algorithm="HS256"),
        jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k != "jti"}, secret, algorithm="HS256"),
        # alg=none: header says "no signature"
        jwt.encode(claims, None, algorithm="none"),
    ]
    for token in forged:
        response = await client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401, token
        assert error_code(response) in ("unauthorized", "invalid_token")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_unknown_refresh_token_is_401(client):
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
    assert response.status_code == 401
    assert error_code(response) == "invalid_refresh_token"
