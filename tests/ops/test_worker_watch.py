"""The main process's worker watch, against a stand-in for Sanic's worker manager: a dead server
worker is replaced once per death; one that keeps dying stops the server (exit code 1)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sanic.worker.constants import ProcessState

from app.core.supervise import WorkerWatch


@dataclass
class FakeProcess:
    name: str
    pid: int
    state: ProcessState = ProcessState.ACKED
    exitcode: int | None = None


@dataclass
class FakeManager:
    processes: list[FakeProcess]
    sent: list[str] = field(default_factory=list)
    _shutting_down: bool = False

    @property
    def transient_processes(self) -> list[FakeProcess]:
        return self.processes

    @property
    def monitor_publisher(self) -> FakeManager:
        return self

    def send(self, message: str) -> None:
        self.sent.append(message)


def die(process: FakeProcess, *, new_pid: int | None = None) -> None:
    if new_pid is not None:  # the replacement came up, then died too
        process.pid = new_pid
    process.state, process.exitcode = ProcessState.FAILED, -9


def test_a_dead_worker_is_replaced_once_and_live_or_other_processes_are_left_alone():
    server = FakeProcess("Sanic-Server-0-0", pid=100)
    other = FakeProcess("Sanic-Inspector-0", pid=101, state=ProcessState.FAILED)
    manager = FakeManager([server, other])
    watch = WorkerWatch()
    watch._check(manager)
    assert manager.sent == []  # alive; and not a server worker
    die(server)
    watch._check(manager)
    watch._check(manager)  # the manager has not got round to it yet: ask once
    assert manager.sent == ["Sanic-Server-0-0"] and watch.exit_code == 0


def test_a_worker_that_keeps_dying_stops_the_server_for_its_supervisor():
    server = FakeProcess("Sanic-Server-0-0", pid=100)
    manager = FakeManager([server])
    watch = WorkerWatch(max_restarts=3, window_s=60)
    for pid in range(200, 204):
        die(server, new_pid=pid)
        watch._check(manager)
    assert manager.sent == ["Sanic-Server-0-0"] * 3 + ["__TERMINATE__"]
    assert watch.exit_code == 1


def test_workers_stopping_with_the_server_are_not_restarted():
    server = FakeProcess("Sanic-Server-0-0", pid=100, state=ProcessState.COMPLETED, exitcode=0)
    manager = FakeManager([server], _shutting_down=True)
    watch = WorkerWatch(poll_s=0.01)
    thread = threading.Thread(target=watch._run, args=(manager,))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive() and manager.sent == []
