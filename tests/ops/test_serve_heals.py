"""`python -m app serve` heals: `kill -9` a worker and a new one answers; `kill -9` the main
process and nothing of the server is left holding the port. The real server, as a subprocess,
on SQLite in a temp dir (Linux: the process checks read /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
START_S = 120.0  # generous: CI machines are shared, and a cold start imports everything
HEAL_S = 90.0
GONE_S = 45.0  # a hung graceful stop is cut off ORPHAN_GRACE_S (20 s) after the main died

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; the server's PDEATHSIG is Linux-only")


class Server:
    def __init__(self, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var = tempfile.mkdtemp(prefix="gongzhi-ops-")
        self.log = Path(self.var) / "server.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WECHAT_", "QINIU_", "DATABASE_", "REDIS_"))}
        # Nothing in the database is needed for /healthz and /readyz (SELECT 1); no jobs, so
        # nothing queries tables that were never migrated.
        env.update(APP_ENV="test", VAR_DIR=self.var, JOBS_IN_PROCESS="false")
        with self.log.open("wb") as out:
            # Its own session: whatever happens, the test can still clean up the whole group.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(workers)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_answering(self, path: str = "/healthz", timeout: float = START_S,
                       client_timeout: float = 2.0) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n"
                                     f"{self.output()[-4000:]}")
            try:
                response = httpx.get(self.url + path, timeout=client_timeout)
                if response.status_code == 200:
                    return response
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{path} did not answer within {timeout:.0f} s:\n"
                             f"{self.output()[-4000:]}")

    def workers(self) -> dict[int, str]:
        """pid → Sanic worker name, for the server workers under the main process."""
        found = {}
        for pid in descendants(self.proc.pid):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            for item in environ:
                if item.startswith(b"SANIC_WORKER_NAME=Sanic-Server"):
                    found[pid] = item.split(b"=", 1)[1].decode()
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test started, nothing else
        self.proc.wait(timeout=10)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]))


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children.setdefault(stat[1], []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_gone(pids: set[int], timeout: float = GONE_S) -> set[int]:
    """The pids still alive after `timeout` (empty when all are gone)."""
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _stat(pid) is not None}
        time.sleep(0.1)
    return alive


def port_is_free(port: int) -> bool:
    """As a restarted server would bind it (Sanic sets SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


@pytest.fixture
def server_of(request: pytest.FixtureRequest) -> Iterator[object]:
    started: list[Server] = []

    def start(workers: int) -> Server:
        server = Server(workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_killed_worker_is_replaced_and_a_killed_main_leaves_nothing_behind(server_of):
    server = server_of(1)
    # A load balancer's impatient readiness checks while the worker starts: requests it gives
    # up on must not wedge the worker's database connection (/readyz hung for good, once).
    server.wait_answering("/readyz", client_timeout=0.3)
    (worker, name), = server.workers().items()

    os.kill(worker, signal.SIGKILL)
    # Connections made while no worker runs wait in the backlog and are answered by the new
    # one; the old failure was a port that accepted and never answered.
    ready = server.wait_answering("/readyz", timeout=HEAL_S, client_timeout=0.3)
    assert ready.json()["status"] == "ok"
    assert server.wait_answering(timeout=HEAL_S).json() == {"status": "ok"}
    replacements = server.workers()
    assert list(replacements.values()) == [name] and worker not in replacements
    assert f"worker {name} [{worker}] died (exit code -9): starting a replacement" in \
        server.output()

    # Now the main process: its workers and Sanic's state manager must follow it.
    tree = descendants(server.proc.pid)
    assert tree, "the server has child processes"
    server.proc.kill()
    server.proc.wait(timeout=10)
    assert wait_gone(tree) == set(), f"outlived the main process:\n{server.output()[-4000:]}"
    assert port_is_free(server.port)


def test_with_two_workers_the_survivor_answers_while_the_dead_one_is_replaced(server_of):
    server = server_of(2)
    server.wait_answering()
    # Both up: a worker that dies before it has started is Sanic's startup failure (the whole
    # server stops after its 30 s ack wait), not the case under test.
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        workers = server.workers()
        if len(workers) == 2 and all(f"Worker ready [{pid}]" in server.output()
                                     for pid in workers):
            break
        time.sleep(0.2)
    assert len(workers) == 2, server.output()
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    # No waiting on the replacement: the other worker takes every connection meanwhile.
    for _ in range(10):
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    deadline = time.monotonic() + HEAL_S
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == 2 and victim not in now and all(f"Worker ready [{pid}]" in server.output()
                                                       for pid in now):
            break
        time.sleep(0.2)
    assert sorted(now.values()) == sorted(workers.values()) and victim not in now

    # A normal stop (SIGTERM from the supervisor) is not a death: nothing is restarted.
    tree = descendants(server.proc.pid)
    server.proc.terminate()
    assert server.proc.wait(timeout=60) == 0
    assert wait_gone(tree) == set()
    assert server.output().count("starting a replacement") == 1


ORPHAN = """
import signal, subprocess, sys, time
if sys.argv[1] == "parent":
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], "child", sys.argv[3]])
    print(child.pid, flush=True)
    time.sleep(600)
else:
    import os
    from app.core import supervise
    supervise.ORPHAN_GRACE_S = 1.0
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a graceful stop that never ends
    supervise.die_with_parent(os.getppid())
    open(sys.argv[2], "w").write("tied")
    time.sleep(600)
"""


def test_an_orphan_whose_graceful_stop_hangs_exits_hard_with_its_stacks(tmp_path):
    tied = tmp_path / "tied"
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN, "parent", ORPHAN, str(tied)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + START_S
        while not tied.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tied.exists(), "the child never tied itself to its parent"
        parent.kill()
        parent.wait(timeout=10)
        assert wait_gone({child}, timeout=GONE_S) == set()
        # It said why, with where every thread was (the child writes to the parent's stderr).
        err = parent.stderr.read()
        assert "has not stopped within 1 s: exiting hard" in err
        assert "most recent call first" in err and "in <module>" in err  # the main thread
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(parent.pid, signal.SIGKILL)
