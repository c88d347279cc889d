"""Keep `python -m app serve` whole: replace a dead worker, and let no worker outlive the main.

Sanic 25.x runs the server in worker processes under a main process that owns the listening
socket. Two gaps, both found by `kill -9`:

- Its worker manager records a worker that died but never replaces it, while the main process
  keeps the socket open: the kernel goes on accepting connections nobody answers.
  `WorkerWatch` runs a thread in the main process that asks the manager (through its own
  monitor pipe, so the restart happens on the manager's thread) to restart a server worker found
  dead. A worker that keeps dying (`MAX_RESTARTS` within `WINDOW_S`) is not restarted forever:
  the server stops with exit code 1 and the supervisor (systemd, compose) starts it afresh.
- A worker, and the manager process Sanic starts for shared state, outlive a main process that
  was killed, and the worker holds the port. `served` wraps the app factory so that each worker
  asks Linux for SIGTERM when its parent dies (PR_SET_PDEATHSIG); `tie_state_manager` does the
  same for the state manager. Elsewhere a thread watches `os.getppid()` instead; everywhere an
  orphan still alive `ORPHAN_GRACE_S` after its parent died exits hard.

`served` also opens the database connection before the worker serves (see `_open_database`),
freezes what start-up built out of the garbage collector's sight (`settle_gc`), and
`stopping()` is true once the server has begun to stop, so `/readyz` can say so.
`warn_about_deployment` says at start what the declared deployment cannot do (local photos on
several hosts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import faulthandler
import functools
import gc
import logging
import multiprocessing
import multiprocessing.managers
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sanic import Sanic
from tortoise import connections

from app.settings import Settings

log = logging.getLogger("gongzhi.supervise")

# Process plumbing, not configuration: set by the main process, read by the workers it spawns.
MAIN_PID_ENV = "GONGZHI_SERVE_PID"
POLL_S = 0.5
MAX_RESTARTS = 5
WINDOW_S = 60.0
# An orphan's graceful stop gets Sanic's GRACEFUL_SHUTDOWN_TIMEOUT (15 s) and a little more.
ORPHAN_GRACE_S = 20.0
_PR_SET_PDEATHSIG = 1
_SERVER_PREFIX = "Sanic-Server-"  # Sanic's names for server workers: Sanic-Server-<n>-<i>

_stopping = threading.Event()


def stopping() -> bool:
    """True once this process has begun a graceful stop (it should leave the load balancer)."""
    return _stopping.is_set()


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Have the kernel send `sig` to this process when `parent_pid` (our parent) dies.

    SIGTERM, not SIGKILL: the worker stops as on a normal shutdown (it closes its listening
    socket at once, then lets requests in flight finish), so the port is free for a restart.
    """
    signalled = False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        signalled = libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
        if not signalled:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
    _watch_parent(parent_pid, None if signalled else sig)
    # The parent may have died before the request was made: nobody would signal us then.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def _watch_parent(parent_pid: int, sig: int | None) -> None:
    """Once the parent is gone: send `sig` (None when the kernel already does), and if this
    process is still alive `ORPHAN_GRACE_S` later, print every thread's stack and exit hard.

    The graceful stop that SIGTERM starts hung once in CI (a replacement worker logged
    "Stopping worker" and then held its resources for good); an orphan must not live on.
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(POLL_S)
        grace_s = ORPHAN_GRACE_S
        if sig is not None:
            os.kill(os.getpid(), sig)
        time.sleep(grace_s)
        log.error("parent %s is gone and this process [%s] has not stopped within %.0f s: "
                  "exiting hard; its threads were:", parent_pid, os.getpid(), grace_s)
        faulthandler.dump_traceback(all_threads=True)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def served(factory: Callable[[], Sanic]) -> Sanic:
    """The app factory for `serve`'s AppLoader: `factory()`, tied to the main process when
    called in a worker (Sanic names its workers in SANIC_WORKER_NAME while spawning them)."""
    main_pid = os.environ.get(MAIN_PID_ENV)
    if os.environ.get("SANIC_WORKER_NAME") and main_pid:
        die_with_parent(int(main_pid))
    app = factory()

    @app.before_server_start
    async def _open_database(app: Sanic) -> None:
        # Registered after the factory's own start-up (the database is initialised by then).
        # Connect now, not in the first request: Tortoise's SQLite client takes its connection
        # lock and then connects lazily, and a request cancelled mid-connect (its client gave
        # up, as health checks do while a worker starts) never gives that lock back; every
        # later query then waits forever while /healthz still answers. On MySQL this creates
        # the pool. A database that is down now is not fatal: /readyz says so until it is back.
        try:
            await connections.get("default").execute_query("SELECT 1")
        except Exception as exc:  # not ready yet; the request path reconnects
            log.warning("database not reachable at start-up: %s", exc)

    @app.after_server_start
    async def _settle(app: Sanic) -> None:
        settle_gc()

    @app.before_server_stop
    async def _begin_stop(app: Sanic) -> None:
        _stopping.set()

    return app


def settle_gc() -> None:
    """Keep the garbage collector's full pauses short in a serving process.

    A full collection walks every object the collector tracks, and a started worker holds
    ~200,000 that live as long as it does (modules, models, schemas, the locate index). Under
    the mixed load (scripts/bench/load.py) each worker ran a full collection every few
    seconds, of 110-280 ms, while every request in flight on it waited. Frozen after
    start-up, those objects are never walked again: the same collections took 4-12 ms.
    """
    gc.collect()
    gc.freeze()


def tie_state_manager() -> None:
    """Make the process that holds Sanic's shared worker state die with the main process too.

    Sanic starts it with `multiprocessing.Manager()` and no initializer; give it ours. If a
    Sanic upgrade moves that call, the worst case is that process lingering after a SIGKILL of
    the main (it holds no port); tests/ops checks for it.
    """
    from sanic.mixins import startup

    if not hasattr(startup, "Manager"):
        log.warning("sanic.mixins.startup.Manager not found: its state manager is not tied")
        return
    startup.Manager = functools.partial(_state_manager, os.getpid())


def _state_manager(main_pid: int) -> multiprocessing.managers.SyncManager:
    manager = multiprocessing.managers.SyncManager(ctx=multiprocessing.get_context())
    manager.start(initializer=die_with_parent, initargs=(main_pid,))
    return manager


class WorkerWatch:
    """In the main process: restart server workers that died, or stop the server if they
    keep dying. `exit_code` is 1 once it has given up, else 0."""

    def __init__(self, *, max_restarts: int = MAX_RESTARTS, window_s: float = WINDOW_S,
                 poll_s: float = POLL_S) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.poll_s = poll_s
        self.exit_code = 0
        self.restarts: deque[float] = deque()
        self._asked: dict[str, int | None] = {}  # worker name → pid we asked to replace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def install(self, app: Sanic) -> None:
        os.environ[MAIN_PID_ENV] = str(os.getpid())

        @app.main_process_ready
        async def _start(app: Sanic, _: Any) -> None:
            self._thread = threading.Thread(target=self._run, args=(app.manager,),
                                            name="worker-watch", daemon=True)
            self._thread.start()

        @app.main_process_stop
        async def _stop(app: Sanic, _: Any) -> None:
            self._stop.set()

    def _run(self, manager: Any) -> None:
        while not self._stop.wait(self.poll_s):
            # Private, but the only sign that a stop is under way; then a dead worker is meant.
            if getattr(manager, "_shutting_down", False):
                return
            try:
                self._check(manager)
            except Exception:  # never let the watch die quietly: log and keep watching
                log.exception("worker watch failed")

    def _check(self, manager: Any) -> None:
        from sanic.worker.constants import ProcessState

        for process in list(manager.transient_processes):
            if not process.name.startswith(_SERVER_PREFIX):
                continue
            # The manager's own loop marks a dead worker FAILED (or COMPLETED on exit code 0).
            if process.state not in (ProcessState.FAILED, ProcessState.COMPLETED):
                continue
            if self._asked.get(process.name) == process.pid:
                continue  # already asked; the manager replaces it on its next turn
            now = time.monotonic()
            while self.restarts and now - self.restarts[0] > self.window_s:
                self.restarts.popleft()
            if len(self.restarts) >= self.max_restarts:
                log.error("worker %s [%s] died (exit code %s), the %d-th death in %.0f s: "
                          "stopping the server so its supervisor restarts it",
                          process.name, process.pid, process.exitcode,
                          len(self.restarts) + 1, self.window_s)
                self.exit_code = 1
                self._stop.set()
                manager.monitor_publisher.send("__TERMINATE__")
                return
            self.restarts.append(now)
            self._asked[process.name] = process.pid
            log.error("worker %s [%s] died (exit code %s): starting a replacement",
                      process.name, process.pid, process.exitcode)
            # A restart message on the monitor pipe, as Sanic's own `app.m.restart()` sends.
            manager.monitor_publisher.send(process.name)


def local_storage_problem(settings: Settings) -> str | None:
    """Why local photo storage cannot serve this deployment, or None when it can.

    Without Qiniu a photo is a file under VAR_DIR/media on the host whose process received
    it; behind a proxy that spreads requests over several hosts, the others answer 404 for it.
    """
    if settings.qiniu_configured or settings.api_hosts <= 1 or settings.media_shared_volume:
        return None
    return (f"API_HOSTS={settings.api_hosts} but photos are stored on local disk "
            f"({settings.media_dir}): a photo uploaded through one host is missing on the "
            "others. Configure Qiniu (QINIU_ACCESS_KEY, …), or mount one shared volume at "
            "VAR_DIR/media on every host and set MEDIA_SHARED_VOLUME=true (docs/deploy.md).")


def warn_about_deployment(settings: Settings) -> None:
    """Say loudly, once at start, what cannot work in the declared deployment."""
    if (problem := local_storage_problem(settings)) is not None:
        banner = "!" * 78
        log.error("%s\nPHOTOS WILL GO MISSING: %s\n%s", banner, problem, banner)
