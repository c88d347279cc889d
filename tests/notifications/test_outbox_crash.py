"""A job process killed after WeChat accepted a message and before it marked the row sent.

The worker runs as a real subprocess (`serve`, the job process's loop). The fake WeChat
records the send and then SIGKILLs the worker before answering: WeChat delivered, the worker
never learned it. A restarted worker reclaims the row once its lease has run out and sends it
again — the one documented duplicate (exactly-once to WeChat is impossible). The in-app list
still shows each event once, and no consent is taken twice.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from app.notifications.models import Outbox, OutboxStatus, PushState
from tests.live import ROOT
from tests.notifications.conftest import CONFIG, PROGRESS
from tests.notifications.helpers import consent, messages, remaining, unread, utcnow
from tests.support import DATABASE_URL, ROOT_ENV, VAR_DIR
from tests.tickets.helpers import report

LEASE_S = 2.0


def worker(wechat, *, worker_id: str, once: bool) -> subprocess.Popen:
    env = {**ROOT_ENV, "APP_ENV": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": os.environ.get("REDIS_URL", ""), "VAR_DIR": str(VAR_DIR),
           "WECHAT_APPID": wechat.appid, "WECHAT_SECRET": wechat.secret,
           "WECHAT_API_BASE": wechat.url}
    options = {"worker_id": worker_id, "templates": dict(CONFIG.templates), "lease_s": LEASE_S,
               "once": once}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.notifications.worker_proc", json.dumps(options)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def output(proc: subprocess.Popen) -> str:
    return proc.stdout.read().decode(errors="replace")[-3000:] if proc.stdout else ""


async def test_a_killed_worker_is_replaced_the_resident_sees_each_event_once(
        client, city, wechat):
    assert await consent(client, city.resident, PROGRESS) == {PROGRESS: 1}
    assert await consent(client, city.resident, PROGRESS) == {PROGRESS: 2}
    ticket = await report(client, city.resident, "9902")
    accepted = await client.post(f"/api/v1/tickets/{ticket['id']}/accept", json={},
                                 headers=city.dispatcher)
    assert accepted.json()["status"] == "dispatched"  # two events for the resident

    procs: dict[str, subprocess.Popen] = {}
    killed = threading.Event()

    def kill_on_first_send(body: dict) -> None:  # in the fake's thread, before it answers
        if not killed.is_set():
            procs["first"].send_signal(signal.SIGKILL)
            procs["first"].wait(10)
            killed.set()

    wechat.on_send = kill_on_first_send
    procs["first"] = first = worker(wechat, worker_id="first", once=False)
    try:
        assert await asyncio.to_thread(killed.wait, 60), output(first)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.wait(10) == -signal.SIGKILL

    # The crash window: WeChat has the message, the row is still pending under a dead lease.
    assert len(wechat.sent) == 1
    crashed = await Outbox.get(push_state=PushState.RESERVED, status=OutboxStatus.PENDING)
    assert crashed.locked_by.startswith("first#")
    assert await unread(client, city.resident) >= 1  # the in-app half was already written

    deadline = time.monotonic() + 30
    while await Outbox.filter(locked_until__gt=utcnow()).exists():  # the lease runs out
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    second = worker(wechat, worker_id="second", once=True)
    assert await asyncio.to_thread(second.wait, 60) == 0, output(second)

    rows = await Outbox.filter(recipient__openid="dev-alice").order_by("id")
    assert [(r.status, r.push_state) for r in rows] == [(OutboxStatus.SENT, PushState.SENT)] * 2
    assert all(not r.locked_by and r.locked_until is None for r in rows)
    # WeChat: the row in flight when the worker died went out twice, the other once.
    phrases = Counter(body["data"]["phrase3"]["value"] for body in wechat.sent)
    assert sorted(phrases.values()) == [1, 2], phrases
    assert phrases[wechat.sent[0]["data"]["phrase3"]["value"]] == 2
    # The resident's list: each event exactly once; consents: each taken once.
    page = await messages(client, city.resident)
    assert sorted(m["title"] for m in page["items"]) == ["案件已受理", "案件已派遣"]
    assert await unread(client, city.resident) == 2
    assert await remaining(client, city.resident) == {PROGRESS: 0}
