"""Signed requests from outside systems: accepted when signed right, refused (and logged) when
forged, stale, replayed or over the partner's limit; keys rotate with an overlap."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.models import Role
from app.core.errors import Unauthorized
from app.integrations import service, signing
from app.integrations.models import IntegrationKind, IntegrationRequest
from tests.factories import error_code, load_small_tree, make_staff
from tests.integrations.helpers import register, signed
from tests.live import ROOT, live_server
from tests.support import DATABASE_URL, ROOT_ENV

PING = "/api/v1/hooks/ping"


async def test_a_signed_request_is_accepted_and_answered(client):
    partner = await register(client)
    answer = await client.post(PING, **signed(partner, {"order": "12345-0001"}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["integration"] == "hotline-jn"
    assert answer.json()["kind"] == "hotline12345"
    assert answer.json()["body"] == {"order": "12345-0001"}


async def test_a_wrong_signature_is_refused_with_401_and_logged(client, caplog):
    partner = await register(client)
    with caplog.at_level(logging.WARNING, logger="gongzhi.integrations"):
        answer = await client.post(PING, **signed(partner, {"a": 1}, secret="not-the-secret"))
    assert answer.status_code == 401
    assert error_code(answer) == "bad_signature"
    assert any("bad_signature" in r.getMessage() and "hotline-jn" in r.getMessage()
               for r in caplog.records)


async def test_a_body_changed_after_signing_is_refused(client):
    partner = await register(client)
    request = signed(partner, {"amount": 1})
    request["content"] = b'{"amount": 100}'
    answer = await client.post(PING, **request)
    assert error_code(answer) == "bad_signature"


async def test_a_request_id_changed_after_signing_is_refused(client):
    partner = await register(client)
    request = signed(partner, {"a": 1})
    request["headers"][signing.HEADER_REQUEST_ID] = "a-fresh-id-0001"
    answer = await client.post(PING, **request)
    assert error_code(answer) == "bad_signature"


async def test_a_timestamp_outside_five_minutes_is_refused_with_401(client):
    partner = await register(client)
    now = int(time.time())
    for stamp in (now - 301, now + 301):
        answer = await client.post(PING, **signed(partner, {"a": 1}, timestamp=stamp))
        assert answer.status_code == 401
        assert error_code(answer) == "stale_timestamp"
        assert abs(answer.json()["error"]["details"]["server_time"] - now) < 60
    inside = await client.post(PING, **signed(partner, {"a": 1}, timestamp=now - 290))
    assert inside.status_code == 200


async def test_unsigned_or_unknown_callers_are_refused_with_401(client):
    partner = await register(client)
    bare = await client.post(PING, json={"a": 1})
    assert bare.status_code == 401 and error_code(bare) == "signature_required"
    partner.code = "nobody"
    unknown = await client.post(PING, **signed(partner, {"a": 1}))
    assert unknown.status_code == 401 and error_code(unknown) == "unknown_integration"


async def test_a_replayed_request_id_is_refused_with_409(client, caplog):
    partner = await register(client)
    request = signed(partner, {"a": 1})
    first = await client.post(PING, **request)
    assert first.status_code == 200
    with caplog.at_level(logging.WARNING, logger="gongzhi.integrations"):
        again = await client.post(PING, **request)
    assert again.status_code == 409
    assert error_code(again) == "replayed_request"
    assert any("replayed_request" in r.getMessage() for r in caplog.records)


async def test_of_two_simultaneous_copies_exactly_one_is_accepted(client):
    partner = await register(client)
    request = signed(partner, {"a": 1})
    answers = await asyncio.gather(*(client.post(PING, **request) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]


async def test_a_deactivated_integration_is_refused(client):
    partner = await register(client)
    off = await client.patch(f"/api/v1/admin/integrations/{partner.code}", headers=partner.admin,
                             json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    answer = await client.post(PING, **signed(partner, {"a": 1}))
    assert error_code(answer) == "unknown_integration"


async def test_each_integration_has_its_own_rate_limit(client):
    slow = await register(client, code="sensor-a", kind="sensor", rate_per_minute=3)
    other = await register(client, code="sensor-b", kind="sensor", admin=slow.admin)
    codes = [(await client.post(PING, **signed(slow, {"n": n}))).status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = await client.post(PING, **signed(slow, {"n": 9}))
    assert refused.headers["Retry-After"]
    # Another partner keeps its own allowance.
    assert (await client.post(PING, **signed(other, {"n": 1}))).status_code == 200


async def test_forged_requests_do_not_use_up_the_allowance(client):
    partner = await register(client, rate_per_minute=2)
    for _ in range(5):
        await client.post(PING, **signed(partner, {"a": 1}, secret="forged"))
    assert (await client.post(PING, **signed(partner, {"a": 1}))).status_code == 200


async def test_a_rotated_key_overlaps_with_the_old_one_until_it_expires(client):
    partner = await register(client)
    rotated = await client.post(f"/api/v1/admin/integrations/{partner.code}/keys",
                                headers=partner.admin, json={"overlap_minutes": 60})
    assert rotated.status_code == 201, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != partner.secret
    keys = rotated.json()["integration"]["keys"]
    assert len(keys) == 2 and keys[0]["expires_at"] is None and keys[1]["expires_at"]
    assert (await client.post(PING, **signed(partner, {"a": 1}))).status_code == 200
    assert (await client.post(PING, **signed(partner, {"a": 2}, secret=new_secret))
            ).status_code == 200
    # An hour and a minute later the old key no longer signs.
    later = time.time() + 3660
    request = signed(partner, {"a": 3}, timestamp=int(later))
    with pytest.raises(Unauthorized) as refused:
        await service.verify(headers=request["headers"], body=request["content"],
                             kinds=(IntegrationKind.HOTLINE12345,), ip="test", now=later)
    assert refused.value.code == "bad_signature"
    now_key = signed(partner, {"a": 4}, secret=new_secret, timestamp=int(later))
    ok = await service.verify(headers=now_key["headers"], body=now_key["content"],
                              kinds=(IntegrationKind.HOTLINE12345,), ip="test", now=later)
    assert ok.integration.code == partner.code


async def test_rotation_without_overlap_ends_the_old_key_at_once(client):
    partner = await register(client)
    rotated = await client.post(f"/api/v1/admin/integrations/{partner.code}/keys",
                                headers=partner.admin, json={"overlap_minutes": 0})
    assert rotated.status_code == 201
    answer = await client.post(PING, **signed(partner, {"a": 1}))
    assert error_code(answer) == "bad_signature"
    assert len(rotated.json()["integration"]["keys"]) == 1


async def test_only_admins_manage_integrations_and_secrets_never_show_again(client):
    partner = await register(client)
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    assert (await client.get("/api/v1/admin/integrations", headers=dispatcher)).status_code == 403
    listed = await client.get("/api/v1/admin/integrations", headers=partner.admin)
    assert listed.status_code == 200
    assert [i["code"] for i in listed.json()["items"]] == ["hotline-jn"]
    assert partner.secret not in listed.text
    assert listed.json()["items"][0]["keys"][0]["prefix"] == partner.secret[:6]
    twin = await client.post("/api/v1/admin/integrations", headers=partner.admin, json={
        "code": "hotline-jn", "name": "again", "kind": "camera"})
    assert twin.status_code == 409 and error_code(twin) == "integration_exists"
    bad_url = await client.post("/api/v1/admin/integrations", headers=partner.admin, json={
        "code": "cam-1", "name": "摄像头平台", "kind": "camera", "endpoint_url": "ftp://x"})
    assert bad_url.status_code == 422


async def test_old_request_ids_are_purged_by_the_periodic_job(client):
    partner = await register(client)
    for n in range(3):
        assert (await client.post(PING, **signed(partner, {"n": n}))).status_code == 200
    old = datetime.now(UTC) - timedelta(days=2)
    first = await IntegrationRequest.all().order_by("id").first()
    assert first is not None
    await IntegrationRequest.filter(id=first.id).update(received_at=old)
    assert await service.purge_request_ids() == 1
    assert await IntegrationRequest.all().count() == 2


async def test_the_python_example_script_signs_requests_the_server_accepts(client):
    await load_small_tree()
    partner = await register(client, admin=(await make_staff(Role.ADMIN, area_code="990100"))[1])
    env = {**ROOT_ENV, "APP_ENV": "test", "DATABASE_URL": DATABASE_URL}

    def run() -> subprocess.CompletedProcess:
        with live_server(env) as url:
            script_env = {**os.environ, "GONGZHI_URL": url,
                          "GONGZHI_INTEGRATION": partner.code, "GONGZHI_SECRET": partner.secret}
            return subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "integration_example.py")],
                env=script_env, capture_output=True, text=True, timeout=30, check=False)

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("200 ")
    assert '"integration": "hotline-jn"' in done.stdout
