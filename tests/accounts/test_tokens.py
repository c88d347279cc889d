"""Access tokens are short-lived JWTs; refresh tokens rotate, and a replayed one kills the family."""

import time

import jwt

from app.settings import current
from tests.factories import error_code
from tests.support import base_settings


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


async def refresh(client, token):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_replaying_a_used_refresh_token_revokes_the_whole_family(client):
    tokens = await dev_login(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()
    newer = (await refresh(client, rotated["refresh_token"])).json()  # the owner moved on
    replay = await refresh(client, tokens["refresh_token"])
    assert replay.status_code == 401
    assert error_code(replay) == "refresh_token_reused"
    # the thief's replay also kills the legitimate, newer token
    after = await refresh(client, newer["refresh_token"])
    assert after.status_code == 401


async def test_a_retry_after_a_lost_answer_gets_a_new_pair_not_a_logout(client):
    tokens = await dev_login(client)
    lost = (await refresh(client, tokens["refresh_token"])).json()  # never reached the phone
    retry = await refresh(client, tokens["refresh_token"])
    assert retry.status_code == 200, retry.text
    pair = retry.json()
    assert (await client.get("/api/v1/me", headers=bearer(pair["access_token"]))).status_code == 200
    assert (await refresh(client, pair["refresh_token"])).status_code == 200
    assert lost["refresh_token"] != pair["refresh_token"]


async def test_a_thief_inside_the_grace_window_is_caught_at_the_owners_next_refresh(client):
    tokens = await dev_login(client)
    owners = (await refresh(client, tokens["refresh_token"])).json()  # the owner got this
    thiefs = (await refresh(client, tokens["refresh_token"])).json()  # a replay within 30 s
    caught = await refresh(client, owners["refresh_token"])  # retired by the replay
    assert caught.status_code == 401 and error_code(caught) == "refresh_token_reused"
    assert (await refresh(client, thiefs["refresh_token"])).status_code == 401  # family gone


async def test_a_replay_after_the_grace_window_is_a_leak(client):
    base_settings(refresh_grace_s=0)
    tokens = await dev_login(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()
    replay = await refresh(client, tokens["refresh_token"])
    assert replay.status_code == 401 and error_code(replay) == "refresh_token_reused"
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401


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
