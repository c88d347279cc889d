"""Two API servers on two ports and a job process, sharing one database (and Redis when it is
configured), behave as one deployment (docs/deploy.md "More than one host"): configuration
and grid geometry written through one server reach the other, the job process delivers what
both queue, and with Redis a rate limit counts the attempts made on both.

The servers are real `python -m app serve` subprocesses on 127.0.0.1 with this run's test
database; the test process made the city and signs the tokens with the same secret."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from app import settings as settings_module
from app.accounts.models import Role
from tests.factories import make_staff
from tests.live import ROOT, live_server
from tests.support import DATABASE_URL, ROOT_ENV, VAR_DIR
from tests.tickets.helpers import IN_CELL, report_body

SPREAD_S = 30.0  # generous: a shared CI machine; CONFIG_CHECK_S is 0.5 s below


def _env(**extra: str) -> dict[str, str]:
    settings = settings_module.current()
    return {**ROOT_ENV, "APP_ENV": "test", "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": os.environ.get("REDIS_URL", ""), "VAR_DIR": str(VAR_DIR),
            "JWT_SECRET": settings.jwt_secret.get_secret_value(), "JOBS_IN_PROCESS": "false",
            "CONFIG_CHECK_S": "0.5", "API_HOSTS": "2", "MEDIA_SHARED_VOLUME": "true",
            "RATE_WRITES_PER_MINUTE": "100000", "RATE_LOGIN_PER_MINUTE": "100000", **extra}


@contextlib.contextmanager
def two_servers(**extra: str) -> Iterator[tuple[str, str]]:
    env = _env(**extra)
    with live_server(env, timeout=120) as a, live_server(env, timeout=120) as b:
        yield a, b


@contextlib.contextmanager
def job_process() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-m", "app", "jobs", "--worker-id", "third"],
                            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + SPREAD_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {SPREAD_S:.0f} s: {what}"
        await asyncio.sleep(0.2)


FAR_TREE = {"type": "FeatureCollection", "crs": "wgs84", "features": [
    {"type": "Feature",
     "properties": {"code": code, "name": name, "kind": kind, "parent_code": parent},
     "geometry": {"type": "Polygon", "coordinates": [[[116.70, 35.70], [116.71, 35.70],
                                                     [116.71, 35.71], [116.70, 35.71],
                                                     [116.70, 35.70]]]}}
    for code, name, kind, parent in (
        ("990300", "远区", "district", None), ("990300001", "远街道", "street", "990300"),
        ("990300001001", "远社区", "community", "990300001"),
        ("990300001001001", "远社区第1网格", "grid", "990300001001"))]}


async def test_configuration_and_geometry_written_through_one_server_reach_the_other(
        client, city):
    _, admin = await make_staff(Role.ADMIN)
    far = {"lng": 116.705, "lat": 35.705, "crs": "wgs84"}
    with two_servers() as (a, b):
        async with httpx.AsyncClient(timeout=30) as http:
            # B has answered once, so it holds its snapshots: the change must reach it.
            assert (await http.post(f"{b}/api/v1/tickets", headers=city.resident,
                                    json=report_body("9977"))).status_code == 404
            before = await http.get(f"{b}/api/v1/areas/locate", params=far,
                                    headers=city.resident)
            assert before.status_code == 200 and before.json()["found"] is False

            created = await http.post(f"{a}/api/v1/categories", headers=admin, json={
                "code": "9977", "name": "共享单车乱停", "parent_code": "99", "auto_accept": True})
            assert created.status_code == 201, created.text
            imported = await http.post(f"{a}/api/v1/areas/import", headers=admin,
                                       json=FAR_TREE)
            assert imported.status_code == 201, imported.text

            async def reported_on_b() -> bool:
                answer = await http.post(f"{b}/api/v1/tickets", headers=city.resident,
                                         json=report_body("9977"))
                return answer.status_code == 201

            async def located_on_b() -> bool:
                answer = await http.get(f"{b}/api/v1/areas/locate", params=far,
                                    headers=city.resident)
                return answer.status_code == 200 and answer.json()["found"] and \
                    answer.json()["cell"]["code"] == "990300001001001"

            await eventually(reported_on_b, "B takes a report in the category made on A")
            await eventually(located_on_b, "B locates a point in the cells imported on A")


async def test_a_separate_job_process_delivers_what_both_servers_queue(client, city):
    async def messages(http: httpx.AsyncClient, base: str) -> int:
        answer = await http.get(f"{base}/api/v1/messages", headers=city.resident)
        assert answer.status_code == 200, answer.text
        return len(answer.json()["items"])

    with two_servers() as (a, b):
        async with httpx.AsyncClient(timeout=30) as http:
            for base in (a, b):  # auto-accepted and dispatched: notices for the reporter
                made = await http.post(f"{base}/api/v1/tickets", headers=city.resident,
                                       json=report_body("9901", location=IN_CELL))
                assert made.status_code == 201, made.text
            await asyncio.sleep(1.0)
            assert await messages(http, b) == 0  # nobody delivers without the job process

            with job_process():
                async def delivered() -> bool:
                    return await messages(http, a) >= 2 and await messages(http, b) >= 2

                await eventually(delivered, "the job process delivers both servers' notices")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                    reason="without Redis each process counts on its own (docs/deploy.md); "
                           ".ci/run's MariaDB + Redis stage runs this")
async def test_with_redis_a_login_limit_counts_attempts_on_both_servers(client, city):
    import redis

    await make_staff(Role.DISPATCHER, area_code="990100", username="shared-limit")
    # This address's window starts now (earlier tests logged in from it, with high limits).
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete("rl:login:ip:127.0.0.1")
    with two_servers(RATE_LOGIN_PER_MINUTE="4") as (a, b):
        async with httpx.AsyncClient(timeout=30) as http:
            answers = []
            for i in range(6):
                base = (a, b)[i % 2]
                answer = await http.post(f"{base}/api/v1/auth/login", json={
                    "username": "shared-limit", "password": "wrong-password-1"})
                answers.append(answer.status_code)
    assert answers[:4] == [401] * 4, answers
    assert answers[4:] == [429, 429], answers  # the 5th and 6th, whichever server took them
