"""Helpers shared by the benchmarks that need a real database and a running server.

Nothing here belongs to the product: a throw-away MariaDB/MySQL database per run, a closed
loop HTTP load generator, and small formatting helpers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

BENCH_DB_PREFIX = "gongzhi_bench_"


# --- a throw-away database --------------------------------------------------------------


@dataclass(frozen=True)
class MySQLTarget:
    """Where the server is, parsed from a mysql:// URL (the database part is ignored)."""

    host: str
    port: int
    user: str
    password: str
    query: str

    @classmethod
    def from_url(cls, url: str) -> MySQLTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise SystemExit(f"this benchmark needs a mysql:// DATABASE_URL, got {parts.scheme}://")
        return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                   user=parts.username or "", password=parts.password or "", query=parts.query)

    def url(self, database: str) -> str:
        netloc = f"{self.user}:{self.password}@{self.host}:{self.port}"
        return urlunsplit(("mysql", netloc, f"/{database}", self.query, ""))

    def connect(self, database: str | None = None):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, database=database, charset="utf8mb4",
                               autocommit=True)


def new_bench_database_name(tag: str) -> str:
    """`gongzhi_bench_<tag>_<pid>_<random>`: never the product database, never reused."""
    return f"{BENCH_DB_PREFIX}{tag}_{os.getpid()}_{secrets.token_hex(3)}"


def _on_server(target: MySQLTarget, name: str, statement: str) -> None:
    assert name.startswith(BENCH_DB_PREFIX), name  # never anything but our own
    conn = target.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def create_database(target: MySQLTarget, name: str) -> None:
    _on_server(target, name,
               f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def drop_database(target: MySQLTarget, name: str) -> None:
    _on_server(target, name, f"DROP DATABASE IF EXISTS `{name}`")


# --- the app's lifespan over ASGI (httpx's transport does not drive it) ---------------------------


class Lifespan:
    """Start and stop an ASGI app (startup hooks: database, caches, jobs) around in-process runs."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.to_app: asyncio.Queue = asyncio.Queue()
        self.from_app: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Lifespan:
        self.task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                                 self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self.from_app.get(), 60)
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.from_app.get(), 60)
        if self.task:
            await asyncio.wait_for(self.task, 60)


# --- a server in a subprocess -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A child process serving HTTP on 127.0.0.1:`port`, its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/readyz", timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.base_url + path, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:g} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (Sanic shuts down gracefully), SIGKILL if it does not go; only our child."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# --- a lean HTTP client --------------------------------------------------------------------


@dataclass
class Answer:
    """What the benches read of a response (httpx's names, so either client fits)."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


class LeanClient:
    """An aiohttp session behind httpx's `get`/`post` signatures, for the load generators.

    The client shares the 2 cores with the server: httpx spent 2-4 ms of CPU per request here,
    more than most of the requests it measured, and its queueing showed in every percentile.
    aiohttp's C parser costs a fraction of that (scripts/bench/load.py prints both sides' CPU).
    """

    def __init__(self, base_url: str, *, connections: int, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.connections = connections
        self.timeout = timeout
        self._session: Any = None

    async def __aenter__(self) -> LeanClient:
        import aiohttp

        self._session = aiohttp.ClientSession(
            base_url=self.base_url,
            connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=self.timeout), skip_auto_headers=("User-Agent",))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def _send(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                    params: dict[str, Any] | None = None, json: Any = None) -> Answer:
        query = {k: str(v) for k, v in params.items()} if params else None
        async with self._session.request(method, url, headers=headers, params=query,
                                         json=json) as response:
            return Answer(response.status, await response.read())

    async def get(self, url: str, **kwargs: Any) -> Answer:
        return await self._send("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Answer:
        return await self._send("POST", url, **kwargs)


# --- closed-loop load -----------------------------------------------------------------------


@dataclass
class LoadResult:
    """One timed phase: `ok` requests answered as expected in `elapsed` seconds."""

    name: str
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    error_samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, round(q / 100 * len(data) + 0.5) - 1))
        return data[k] * 1000

    def merge(self, other: LoadResult) -> None:
        self.ok += other.ok
        self.errors += other.errors
        self.elapsed += other.elapsed
        self.latencies += other.latencies
        self.error_samples += other.error_samples[: max(0, 5 - len(self.error_samples))]


# A request: given the worker number and its sequence number, send one request and return
# None when it succeeded, else a short description of what went wrong.
Request = Callable[[int, int], Awaitable[str | None]]


async def closed_loop(name: str, request: Request, *, concurrency: int, seconds: float,
                      max_requests: int | None = None) -> LoadResult:
    """`concurrency` workers each send the next request as soon as the last one is answered."""
    result = LoadResult(name)
    stop_at = time.perf_counter() + seconds
    issued = 0

    async def worker(w: int) -> None:
        nonlocal issued
        seq = 0
        while time.perf_counter() < stop_at and (max_requests is None or issued < max_requests):
            issued += 1
            t0 = time.perf_counter()
            try:
                problem = await request(w, seq)
            except Exception as exc:  # a transport error counts as an error, not a crash
                problem = f"{type(exc).__name__}: {exc}"
            dt = time.perf_counter() - t0
            seq += 1
            if problem is None:
                result.ok += 1
                result.latencies.append(dt)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(problem)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mark(ok: bool) -> str:
    """Target verdict for the tables."""
    return "met" if ok else "MISSED"
