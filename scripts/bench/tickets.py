"""Benchmark ticket submit, ticket detail and the statistics on MariaDB/MySQL; print tables.

Usage: python scripts/bench/tickets.py [--database-url mysql://...] [--concurrency 16]
       [--seconds 8] [--rounds 3] [--stats-rows 1000000] [--skip-stats] [--skip-http]

It creates a throw-away database `gongzhi_bench_tickets_<pid>_<hex>` on the server of
--database-url, applies the project's migrations, loads the demo district and a few hundred
resident accounts, then:

1. HTTP, closed loop against the real server (`create_app()` in one Sanic process, started
   by this script in a subprocess with two bench-only routes added, see `serve()`):
   (a) `POST /api/v1/tickets` (locate + route + insert + event + auto-accept + dispatch +
       outbox, then the detail it returns) vs `POST /bench/bare-insert` (one row insert);
   (b) `GET /api/v1/tickets/{id}` by its reporter vs `GET /bench/bare-read/{id}` (one
       primary-key read). Each pair is timed interleaved in rounds so load from other
       processes hits both alike; the ratios are what the targets are about.
2. Statistics: 1,000,000 tickets generated in SQL (past the door, so the daily rollup is
   then recounted with `app.stats.service.rebuild`, timed), then `summary` and
   `breakdown(by=community|unit)` for the last 30 days and the whole year (median of 5 / 3
   runs), with EXPLAIN of the statements sent, and one call of each through the server.

The database is dropped at the end, also on failure. See docs/benchmarks.md (Tickets).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common  # puts the repository root on sys.path
from sanic import Request  # module level: sanic-ext resolves the handlers' annotations
from sanic.response import HTTPResponse

SUBMIT_VS_BARE_TARGET = 0.40
DETAIL_VS_BARE_TARGET = 0.35
STATS_TARGET_MS = 500.0
# An auto-accepted 小类 without a mandatory photo, routed by a district rule (大类 10 →
# 环卫服务中心) in the demo: a submit runs locate, routing, auto-accept and dispatch.
AUTO_CATEGORY = "1002"
DESCRIPTIONS = ["路边有一堆生活垃圾没人清理", "小区门口垃圾堆了两天了", "人行道上有建筑垃圾",
                "绿化带里扔了很多垃圾袋", "公交站旁边垃圾满地"]


# --- the server: create_app() plus two bench-only routes, never part of the product ------------


def bench_blueprint():  # type: ignore[no-untyped-def]
    """`POST /bench/bare-insert` and `GET /bench/bare-read/<id>`: the framework's floor."""
    from sanic import Blueprint
    from sanic.response import json as json_response

    from app.notifications.models import Outbox
    from app.tickets.models import Ticket

    bp = Blueprint("bench", url_prefix="/bench")

    @bp.post("/bare-insert")
    async def bare_insert(request: Request) -> HTTPResponse:
        row = await Outbox.create(kind="bench", payload={}, available_at=datetime.now(UTC))
        return json_response({"id": row.id})

    @bp.get("/bare-read/<ticket_id:int>")
    async def bare_read(request: Request, ticket_id: int) -> HTTPResponse:
        ticket = await Ticket.get(id=ticket_id)
        return json_response({"id": ticket.id, "number": ticket.number, "status": ticket.status})

    pauses = _gc_pauses()

    @bp.get("/gc")
    async def gc_pauses(request: Request) -> HTTPResponse:
        """This worker's garbage collections since it started: count, time, and the longest
        pause since the last time it was asked."""
        answer = {"pid": os.getpid(), **{g: dict(v) for g, v in pauses.items()}}
        for v in pauses.values():
            v["max_ms"] = 0.0
        return json_response(answer)

    return bp


def _gc_pauses() -> dict[str, Any]:
    """Time this process's garbage collections (gc.callbacks), per generation."""
    import gc

    stats: dict[str, Any] = {f"gen{g}": {"count": 0, "ms": 0.0, "max_ms": 0.0} for g in range(3)}
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            ms = (time.perf_counter() - started[0]) * 1000
            gen = stats[f"gen{info['generation']}"]
            gen["count"] += 1
            gen["ms"] += ms
            gen["max_ms"] = max(gen["max_ms"], ms)

    gc.callbacks.append(callback)
    return stats


def _profile_on_signals(out_dir: Path) -> None:
    """cProfile the server between SIGUSR1 and SIGUSR2; each stop writes `<n>.prof`.

    The parent brackets each measured phase of a product endpoint with the two signals
    (`--profile DIR`), so the profile holds that endpoint's requests and nothing else.
    """
    import cProfile
    import signal

    profiler: list[cProfile.Profile] = []
    written = 0

    def start(*_: object) -> None:
        # CPU time, not wall time: what the bench's server CPU per request counts (a
        # statement's send is otherwise charged with the time the process waits to run again).
        profiler[:] = [cProfile.Profile(time.process_time)]
        profiler[0].enable()

    def stop(*_: object) -> None:
        nonlocal written
        if profiler:
            profiler[0].disable()
            profiler.pop().dump_stats(out_dir / f"{written}.prof")
            written += 1

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def serve(port: int) -> None:
    """What `python -m app serve --workers 1` does, with the bench routes added."""
    from sanic import Sanic

    from app.main import create_app

    if profile_dir := os.environ.get("BENCH_PROFILE_DIR"):
        _profile_on_signals(Path(profile_dir))

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(name="gongzhi_bench")
    app.blueprint(bench_blueprint())
    app.prepare(host="127.0.0.1", port=port, workers=1, single_process=True, access_log=False,
                motd=False)
    Sanic.serve_single(primary=app)


# --- set-up -------------------------------------------------------------------------------


@dataclass
class City:
    residents: list[tuple[int, str]]  # (user id, bearer token)
    points: list[tuple[float, float]]  # GCJ-02 points, one inside each demo cell
    admin_id: int
    grid_worker_id: int
    dispatcher_id: int
    staff_tokens: list[tuple[int, str]]
    cells: list[dict[str, Any]] = field(default_factory=list)


async def set_up(settings: Any, n_residents: int) -> City:
    """Migrate the empty database, load the demo district, create residents with tokens."""
    import shapely
    from shapely.geometry import shape
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    from app.accounts.models import User
    from app.areas.geo import wgs84_to_gcj02
    from app.areas.models import Area, AreaKind
    from app.catalog.models import Category
    from app.core import db
    from app.core.security import issue_access_token
    from app.demo import load_demo
    from app.units.models import Unit, UnitKind

    await migrate(config=db.tortoise_config(settings))
    await Tortoise.close_connections()
    await db.init_db(settings)
    try:
        if await load_demo() is None:
            raise RuntimeError("the bench database was not empty")
        category = await Category.get(code=AUTO_CATEGORY)
        if not category.auto_accept or category.requires_photo:
            raise RuntimeError(f"category {AUTO_CATEGORY} is no longer auto-accepted without photo")
        await User.bulk_create([User(openid=f"dev-bench-{i}", display_name=f"居民{i}")
                                for i in range(n_residents)], batch_size=500)
        ids = await User.filter(openid__startswith="dev-bench-").order_by("id").values_list(
            "id", flat=True)
        residents = [(uid, issue_access_token(uid)[0]) for uid in ids]

        teams = {u.area_id: u.id for u in await Unit.filter(kind=UnitKind.GRID_TEAM)}
        points, cells = [], []
        for area in await Area.filter(kind=AreaKind.GRID).order_by("code"):
            polygon = shape(area.geometry)
            inside = shapely.point_on_surface(polygon)  # inside even for concave cells
            points.append(wgs84_to_gcj02(inside.x, inside.y))
            cells.append({"id": area.id, "path": area.path, "lng": inside.x, "lat": inside.y,
                          "team": teams.get(area.parent_id)})
        admin = await User.get(username="admin")
        worker = await User.get(username="grid_worker")
        dispatcher = await User.get(username="dispatcher")  # the whole district
        return City(residents=residents, points=points, admin_id=admin.id,
                    grid_worker_id=worker.id, dispatcher_id=dispatcher.id,
                    staff_tokens=[(dispatcher.id, issue_access_token(dispatcher.id)[0])],
                    cells=cells)
    finally:
        await db.close_db()


# --- HTTP -----------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _mariadb_pid() -> int | None:
    """The local database server's pid, to read its CPU time (it is shared: indicative)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(entry.name)
            except OSError:
                continue
    return None


@dataclass
class Phase:
    """An endpoint's results summed over the rounds, with CPU time spent per request."""

    label: str
    load: common.LoadResult
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    db_cpu: float = 0.0
    round_rps: list[float] = field(default_factory=list)

    def per_request_ms(self, seconds: float) -> float:
        return seconds / self.load.ok * 1000 if self.load.ok else float("nan")


@dataclass
class Profiling:
    """Server-side cProfile of the product endpoints' phases (`--profile DIR`)."""

    out_dir: Path
    server_pid: int
    phases: list[str] = field(default_factory=list)  # the label of each `<n>.prof`

    async def bracket(self, label: str, run: Any) -> Any:
        import signal

        os.kill(self.server_pid, signal.SIGUSR1)
        try:
            return await run
        finally:
            os.kill(self.server_pid, signal.SIGUSR2)
            self.phases.append(label)

    def report(self, top: int = 25) -> None:
        import pstats

        time.sleep(1.0)  # the last dump
        for label in dict.fromkeys(self.phases):
            files = [str(self.out_dir / f"{n}.prof") for n, name in enumerate(self.phases)
                     if name == label and (self.out_dir / f"{n}.prof").exists()]
            if not files:
                continue
            print(f"\nServer profile of {label} (cProfile of CPU time, {len(files)} phases; its "
                  f"own overhead inflates every figure, compare shares)")
            for key, title in (("tottime", "own time"), ("cumulative", "inclusive")):
                stats = pstats.Stats(*files)
                stats.sort_stats(key)
                total = stats.total_tt
                print(f"  top {top} by {title} (total {total:.2f} s):")
                width = 90
                rows = [(fn, st) for fn, st in stats.stats.items()]
                index = 2 if key == "tottime" else 3
                rows.sort(key=lambda kv: -kv[1][index])
                shown = 0
                for (path, line, name), st in rows:
                    if key == "cumulative" and "/app/" not in path:
                        continue  # inclusive: the project's functions only
                    where = f"{Path(path).parent.name}/{Path(path).name}:{line} {name}"
                    print(f"    {st[index] / total:6.1%} {st[1]:>8} calls  {where[-width:]}")
                    shown += 1
                    if shown >= top:
                        break
            stats = pstats.Stats(*files)
            by_package: dict[str, float] = {}
            for (path, _, name), st in stats.stats.items():
                package = _profile_package(path, name)
                by_package[package] = by_package.get(package, 0.0) + st[2]
            print("  own time by package: " + ", ".join(
                f"{package} {own / stats.total_tt:.1%}"
                for package, own in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]))


def _profile_package(path: str, name: str) -> str:
    """Where a profiled function lives: the project's domain (`app/tickets`), else the
    installed package (`aiomysql`, `tortoise`, `redis` ...), else the standard library module."""
    if path == "~":  # a function written in C (socket sends, dict and str methods ...)
        return "C calls"
    parts = Path(path).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if "app" in parts:
        rest = parts[len(parts) - parts[::-1].index("app"):]
        return "app/" + rest[0].removesuffix(".py") if rest else "app"
    parent = Path(path).parent.name
    return "stdlib " + (parent if parent in ("asyncio", "json", "logging") else Path(path).stem)


async def run_pair(name_a: str, request_a: common.Request, name_b: str,
                   request_b: common.Request, *, concurrency: int, seconds: float, rounds: int,
                   server_pid: int, db_pid: int | None,
                   profiling: Profiling | None = None) -> tuple[Phase, Phase]:
    """Time A and B alternately (A B, B A, A B ...) and sum each one's rounds.

    With `profiling`, A's phases are profiled in the server (and so are not timed fairly).
    """
    phases = {name_a: Phase(name_a, common.LoadResult(name_a)),
              name_b: Phase(name_b, common.LoadResult(name_b))}
    requests = {name_a: request_a, name_b: request_b}
    # Warm-up, not counted: connections, caches, the locate index, the JIT of the database.
    for name in (name_a, name_b):
        await common.closed_loop(name, requests[name], concurrency=concurrency,
                                 seconds=min(2.0, seconds))
    for r in range(rounds):
        order = (name_a, name_b) if r % 2 == 0 else (name_b, name_a)
        for name in order:
            phase = phases[name]
            s0, c0 = _cpu_seconds(server_pid), time.process_time()
            d0 = _cpu_seconds(db_pid) if db_pid else float("nan")
            loop = common.closed_loop(name, requests[name], concurrency=concurrency,
                                      seconds=seconds)
            result = await (profiling.bracket(name, loop) if profiling and name == name_a
                            else loop)
            phase.server_cpu += _cpu_seconds(server_pid) - s0
            phase.client_cpu += time.process_time() - c0
            if db_pid:
                phase.db_cpu += _cpu_seconds(db_pid) - d0
            phase.round_rps.append(result.rps)
            phase.load.merge(result)
    return phases[name_a], phases[name_b]


@dataclass
class HttpResults:
    submit: Phase
    bare_insert: Phase
    detail: Phase
    bare_read: Phase
    concurrency: int
    seconds: float
    rounds: int


async def http_bench(base_url: str, city: City, *, concurrency: int, seconds: float,
                     rounds: int, server_pid: int,
                     profiling: Profiling | None = None, client_kind: str = "aiohttp",
                     ) -> HttpResults:
    db_pid = _mariadb_pid()
    created: list[tuple[int, int]] = []  # (ticket id, resident index)
    residents = city.residents
    points = city.points
    if client_kind == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        http: Any = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0)
    else:  # the client shares the 2 cores: the lean one (scripts/bench/_common.py)
        http = common.LeanClient(base_url, connections=concurrency)

    async with http as client:

        async def submit(w: int, seq: int) -> str | None:
            k = seq * concurrency + w
            r = (k * 7919) % len(residents)
            lng, lat = points[(k * 31) % len(points)]
            response = await client.post(
                "/api/v1/tickets",
                headers={"Authorization": f"Bearer {residents[r][1]}"},
                json={"category_code": AUTO_CATEGORY, "description": DESCRIPTIONS[k % 5],
                      "location": {"lng": lng, "lat": lat, "crs": "gcj02"},
                      "address": "任城区古槐路"})
            if response.status_code != 201:
                return f"{response.status_code} {response.text[:200]}"
            body = response.json()
            if body["status"] != "dispatched":  # auto-accept and dispatch must have run
                return f"status {body['status']}, expected dispatched"
            created.append((body["id"], r))
            return None

        async def bare_insert(w: int, seq: int) -> str | None:
            response = await client.post("/bench/bare-insert")
            return None if response.status_code == 200 else f"{response.status_code}"

        sub, ins = await run_pair("submit", submit, "bare insert", bare_insert,
                                  concurrency=concurrency, seconds=seconds, rounds=rounds,
                                  server_pid=server_pid, db_pid=db_pid, profiling=profiling)
        if not created:
            raise RuntimeError(f"no ticket was created: {sub.load.error_samples}")

        async def detail(w: int, seq: int) -> str | None:
            ticket_id, r = created[(seq * concurrency + w) % len(created)]
            response = await client.get(f"/api/v1/tickets/{ticket_id}", headers={
                "Authorization": f"Bearer {residents[r][1]}"})
            if response.status_code != 200:
                return f"{response.status_code} {response.text[:200]}"
            page = response.json()
            if len(page["timeline"]) < 3:
                return "timeline shorter than submit + accept + dispatch"
            if not (page["number"] or "").endswith(f"{ticket_id:06d}"):  # as written
                return f"number {page['number']!r} of ticket {ticket_id}"
            return None

        async def bare_read(w: int, seq: int) -> str | None:
            ticket_id, _ = created[(seq * concurrency + w) % len(created)]
            response = await client.get(f"/bench/bare-read/{ticket_id}")
            return None if response.status_code == 200 else f"{response.status_code}"

        det, read = await run_pair("detail", detail, "bare read", bare_read,
                                   concurrency=concurrency, seconds=seconds, rounds=rounds,
                                   server_pid=server_pid, db_pid=db_pid, profiling=profiling)
    return HttpResults(sub, ins, det, read, concurrency, seconds, rounds)


def print_http(res: HttpResults) -> dict[str, float]:
    print(f"\nHTTP: closed loop, {res.concurrency} concurrent clients, {res.rounds} rounds x "
          f"{res.seconds:g} s per endpoint, interleaved; one Sanic process; load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    header = (f"{'endpoint':<34} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | {'requests':>8} | "
              f"{'errors':>6} | {'server CPU ms/req':>17} | {'client CPU ms/req':>17} | "
              f"{'DB CPU ms/req':>13}")
    print(header)
    print("-" * len(header))
    rows = [("POST /api/v1/tickets (submit)", res.submit),
            ("POST /bench/bare-insert", res.bare_insert),
            ("GET /api/v1/tickets/{id} (detail)", res.detail),
            ("GET /bench/bare-read/{id}", res.bare_read)]
    for label, p in rows:
        print(f"{label:<34} | {p.load.rps:>7,.1f} | {p.load.pct(50):>7.1f} | {p.load.pct(95):>7.1f} | "
              f"{p.load.ok:>8,} | {p.load.errors:>6} | {p.per_request_ms(p.server_cpu):>17.2f} | "
              f"{p.per_request_ms(p.client_cpu):>17.2f} | {p.per_request_ms(p.db_cpu):>13.2f}")
        for sample in p.load.error_samples[:3]:
            print(f"    error: {sample}")
    print("CPU ms/req: CPU time of the server process, of this client process and of the "
          "database server (shared with other users) over the phase, per answered request")
    ratios = {}
    for key, a, b, target in (("submit", res.submit, res.bare_insert, SUBMIT_VS_BARE_TARGET),
                              ("detail", res.detail, res.bare_read, DETAIL_VS_BARE_TARGET)):
        ratio = a.load.rps / b.load.rps if b.load.rps else float("nan")
        per_round = [x / y for x, y in zip(a.round_rps, b.round_rps, strict=True) if y]
        cpu_ratio = (b.per_request_ms(b.server_cpu) / a.per_request_ms(a.server_cpu))
        ratios[key] = ratio
        print(f"{a.label} / {b.label}: {ratio:.1%} of the bare throughput "
              f"(rounds {min(per_round):.1%}-{max(per_round):.1%}; by server CPU per request "
              f"{cpu_ratio:.1%}); target >= {target:.0%} {common.mark(ratio >= target)}")
    return ratios


# --- where a request's time goes (in-process, sequential) -----------------------------------


class _QueryCounter(logging.Handler):
    """Collects the statements Tortoise sends (its db_client logger, DEBUG level)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[tuple[str, Any]] = []  # (query, values)

    @property
    def statements(self) -> list[str]:
        return [q for q, _ in self.sent]

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2 and record.msg == "%s: %s":
            query, values = record.args
        else:
            query, values = record.getMessage(), None
        if query.lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            self.sent.append((str(query), values))

    def __enter__(self) -> _QueryCounter:
        self.sent.clear()
        logger = logging.getLogger("tortoise.db_client")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("tortoise.db_client")
        logger.removeHandler(self)
        logger.setLevel(self._level)


def _kinds(statements: list[str]) -> str:
    counts: dict[str, int] = {}
    for s in statements:
        word = s.lstrip().split(" ", 1)[0].upper()
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


async def anatomy(settings: Any, city: City, n: int = 40) -> list[tuple[str, int, str, float]]:
    """Statements per request and sequential in-process latency of each step (no HTTP)."""
    from app.accounts import service as accounts
    from app.core import db
    from app.notifications.models import Outbox
    from app.tickets import intake, queries
    from app.tickets.models import Ticket
    from app.tickets.schemas import ReportCreate
    from app.wiring import wire

    await db.init_db(settings)
    wire()  # the door's listeners (statistics), as create_app has them
    rows: list[tuple[str, int, str, float]] = []
    try:
        uid = city.residents[0][0]
        user = await accounts.get_active_user(user_id=uid)
        lng, lat = city.points[0]
        body = ReportCreate.model_validate({
            "category_code": AUTO_CATEGORY, "description": DESCRIPTIONS[0],
            "location": {"lng": lng, "lat": lat, "crs": "gcj02"}, "address": "任城区古槐路"})
        await intake.create_report(actor=user, body=body, idempotency_key=None)  # warm

        async def measure(label: str, call: Any) -> None:
            with _QueryCounter() as counter:
                await call()
            statements = list(counter.statements)
            t0 = time.perf_counter()
            for _ in range(n):
                await call()
            rows.append((label, len(statements), _kinds(statements),
                         (time.perf_counter() - t0) / n * 1000))

        ticket_ids: list[int] = []

        async def submit() -> None:
            ticket, _ = await intake.create_report(actor=user, body=body, idempotency_key=None)
            ticket_ids.append(ticket.id)

        await measure("authenticate (get_active_user)",
                      lambda: accounts.get_active_user(user_id=uid))
        await measure("create_report (no detail)", submit)
        await measure("detail", lambda: queries.detail(user=user, ticket_id=ticket_ids[0]))
        await measure("bare insert (Outbox.create)", lambda: Outbox.create(
            kind="bench", payload={}, available_at=datetime.now(UTC)))
        await measure("bare read (Ticket.get)", lambda: Ticket.get(id=ticket_ids[0]))
    finally:
        await db.close_db()
    return rows


def print_anatomy(rows: list[tuple[str, int, str, float]]) -> None:
    print("\nPer request, in-process and sequential (one client, no HTTP): statements sent and "
          "mean latency")
    header = f"{'step':<32} | {'statements':>10} | {'mean ms':>7} | kinds"
    print(header)
    print("-" * (len(header) + 30))
    for label, count, kinds, ms in rows:
        print(f"{label:<32} | {count:>10} | {ms:>7.2f} | {kinds}")


# --- statistics -----------------------------------------------------------------------------

TEMPLATES = 4000
DAY = 86_400
HOUR = 3_600


def ticket_templates(city: City, categories: list[tuple[int, int | None]], seed: int
                     ) -> list[tuple]:
    """`TEMPLATES` life stories of a ticket as offsets (seconds) from its creation.

    The mix: ~5 % self-disposed, ~4 % rejected, ~1 % merged, ~0.5 % waiting for 立案, the
    rest accepted; of those ~99 % dispatched; of those ~86 % handled (~10 % after the
    deadline), ~3 % returned once, ~2 % reworked; ~98 % of the handled ones closed. Tickets
    waiting for a dispatcher or for verification are recent (7 or 30 days); the unhandled
    backlog and finished tickets are spread over the whole year.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    limits = [2 * HOUR, 4 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY]
    out = []
    for i in range(TEMPLATES):
        cat_id, rule_unit = categories[int(rng.integers(len(categories)))]
        cell_i = int(rng.integers(len(city.cells)))
        u = float(rng.random())
        off: dict[str, int | None] = dict.fromkeys(
            ("accepted", "rejected", "first_dispatched", "dispatched", "claimed", "handled",
             "first_handled", "closed", "deadline"))
        source, routed_by, has_unit, self_disposed = "resident", "", 1, 0
        rework = returned = 0
        handled_on_time = closed_on_time = None
        reject_reason = ""
        spread = 365 * DAY
        version = 1
        if u < 0.05:  # 自行处置: reported and handled on the spot by a grid worker
            status, source, routed_by, has_unit, self_disposed = "closed", "patrol", "self", 0, 1
            done = int(rng.integers(300, 3 * HOUR))
            off.update(handled=done, first_handled=done, closed=done)
        elif u < 0.09:
            status, has_unit, routed_by = "rejected", 0, "manual"
            off["rejected"] = int(rng.integers(600, 8 * HOUR))
            reject_reason, version = "不属于城市管理问题", 2
        elif u < 0.10:
            status, has_unit, routed_by = "merged", 0, "manual"
            off["accepted"] = int(rng.integers(600, 4 * HOUR))
            version = 3
        elif u < 0.105:
            status, has_unit, routed_by, spread = "submitted", 0, "manual", 7 * DAY
        else:
            auto = rng.random() < 0.4
            off["accepted"] = 1 if auto else int(rng.integers(300, 6 * HOUR))
            version = 2
            if rng.random() < 0.01:  # accepted, nothing routed: waits for a dispatcher
                status, has_unit, routed_by, spread = "accepted", 0, "manual", 30 * DAY
            else:
                limit = limits[int(rng.integers(len(limits)))]
                first = off["accepted"] + (1 if auto else int(rng.integers(60, 2 * HOUR)))
                off.update(first_dispatched=first, dispatched=first, deadline=first + limit)
                version = 3
                if rng.random() < 0.03:  # 退回 once, dispatched again; the deadline stays
                    returned = 1
                    off["dispatched"] = first + int(rng.integers(HOUR, 6 * HOUR))
                    version += 2
                start = off["dispatched"]
                r = rng.random()
                if r < 0.86:
                    late = rng.random() < 0.10
                    took = int(limit * (rng.uniform(1.05, 3.0) if late else rng.uniform(0.05, 0.95)))
                    handled = max(start + 60, first + took)
                    off.update(claimed=start + 60, first_handled=handled, handled=handled)
                    handled_on_time = 0 if late else 1
                    version += 3
                    if rng.random() < 0.02:  # 返工: verification failed, handled again
                        rework = 1
                        off["handled"] = handled + int(rng.integers(2 * HOUR, 2 * DAY))
                        version += 4
                    if rng.random() < 0.98:
                        status = "closed"
                        room = off["deadline"] - off["handled"]
                        if room > 600 and rng.random() < 0.9:  # verified before the deadline
                            off["closed"] = off["handled"] + int(rng.integers(300, room))
                        else:
                            off["closed"] = max(off["handled"], off["deadline"]) + int(
                                rng.integers(HOUR, DAY))
                        closed_on_time = int(off["closed"] <= off["deadline"])
                        version += 1
                    else:
                        status, spread = "verifying", 30 * DAY
                else:  # the backlog: dispatched, never handled, overdue if old
                    status = "claimed" if r < 0.93 else "dispatched"
                    if status == "claimed":
                        off["claimed"] = start + 60
        last = max([0, *[v for v in off.values() if v is not None]])
        urgency = "urgent" if rng.random() < 0.05 else "normal"
        out.append((i, cat_id, rule_unit, cell_i, source, status, urgency, routed_by, has_unit,
                     version, reject_reason, rework, returned, handled_on_time, closed_on_time,
                     self_disposed, off["accepted"], off["rejected"], off["first_dispatched"],
                     off["dispatched"], off["claimed"], off["handled"], off["first_handled"],
                     off["closed"], off["deadline"], last, spread, DESCRIPTIONS[i % 5]))
    return out


TEMPLATE_COLUMNS = (
    "i INT PRIMARY KEY, cat_id INT, rule_unit INT NULL, cell_i INT, source VARCHAR(16), "
    "status VARCHAR(16), urgency VARCHAR(8), routed_by VARCHAR(16), has_unit TINYINT, "
    "version INT, reject_reason VARCHAR(64), rework INT, returned INT, handled_on_time TINYINT "
    "NULL, closed_on_time TINYINT NULL, self_disposed TINYINT, o_accepted INT NULL, "
    "o_rejected INT NULL, o_first_dispatched INT NULL, o_dispatched INT NULL, o_claimed INT "
    "NULL, o_handled INT NULL, o_first_handled INT NULL, o_closed INT NULL, o_deadline INT "
    "NULL, o_last INT, spread INT, description VARCHAR(64)")

TEMPLATE_INSERT = ("INSERT INTO bench_tmpl VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                   "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")

# Every row: a template, shifted to a creation time and moved to another cell per copy.
# Bench data loading writes statuses directly, bypassing the ticket door (app/tickets/door.py)
# on purpose: millions of rows in their final states; the only status write outside the door.
# Column -> expression over the derived table `x` (below); `x.c` is the creation time and
# `x.k` its rank in creation order (`bench_order`): ids follow creation time, as they do when
# tickets are filed one after the other (the keyword search bounds its window by id).
FILL_COLUMNS = {
    "id": "%(base)s + x.k",
    "number": "CONCAT('B', LPAD(x.n, 5, '0'), LPAD(x.i, 5, '0'))",
    "source": "x.source", "description": "x.description",
    "lng": "x.lng", "lat": "x.lat", "original_lng": "x.lng", "original_lat": "x.lat",
    "original_crs": "'wgs84'", "address": "''", "area_path": "x.path", "status": "x.status",
    "urgency": "x.urgency", "is_public": "1", "level": "'grid'",
    "routed_by": "CASE WHEN x.routed_by <> '' THEN x.routed_by "
                 "WHEN x.rule_unit IS NOT NULL THEN 'rule' ELSE 'grid_team' END",
    "routing_rule_id": "NULL", "version": "x.version", "follower_count": "0",
    "reject_reason": "x.reject_reason",
    "deadline_at": "x.c + INTERVAL x.o_deadline SECOND",
    "is_overdue": "x.status IN ('dispatched', 'claimed') "
                  "AND x.c + INTERVAL x.o_deadline SECOND < %(now)s",
    "rework_count": "x.rework", "return_count": "x.returned", "extension_count": "0",
    "handled_on_time": "x.handled_on_time", "closed_on_time": "x.closed_on_time",
    "is_self_disposed": "x.self_disposed",
    "created_at": "x.c", "updated_at": "x.c + INTERVAL x.o_last SECOND",
    "accepted_at": "x.c + INTERVAL x.o_accepted SECOND",
    "rejected_at": "x.c + INTERVAL x.o_rejected SECOND",
    "dispatched_at": "x.c + INTERVAL x.o_dispatched SECOND",
    "first_dispatched_at": "x.c + INTERVAL x.o_first_dispatched SECOND",
    "claimed_at": "x.c + INTERVAL x.o_claimed SECOND",
    "handled_at": "x.c + INTERVAL x.o_handled SECOND",
    "first_handled_at": "x.c + INTERVAL x.o_first_handled SECOND",
    "closed_at": "x.c + INTERVAL x.o_closed SECOND",
    "assignee_id": "NULL", "category_id": "x.cat_id", "cell_id": "x.cell_id",
    "duplicate_of_id": "NULL",
    "reporter_id": "IF(x.self_disposed, %(grid_worker)s, x.reporter)",
    "unit_id": "IF(x.has_unit, COALESCE(x.rule_unit, x.team), NULL)",
}
# Every (copy, template) pair, ranked by its creation time: `k` numbers the rows in the order
# a live system would have filed them. The same creation times as before; only the ids follow.
ORDER_STATEMENT = """
INSERT INTO bench_order (n, i, c)
SELECT s.n, t.i,
  %(now)s - INTERVAL (t.o_last + CRC32(CONCAT(s.n, ':', t.i)) %% t.spread) SECOND AS c
FROM bench_seq s
JOIN bench_tmpl t
WHERE s.n * %(templates)s + t.i < %(rows)s
ORDER BY c, s.n, t.i
"""
FILL_FROM = """
FROM (
  SELECT o.k, o.n, t.*, c.cell_id, c.path, c.lng, c.lat, c.team, r.user_id AS reporter, o.c
  FROM bench_order o
  JOIN bench_tmpl t ON t.i = o.i
  JOIN bench_cell c ON c.i = (t.cell_i + o.n * 37) %% %(cells)s
  JOIN bench_res r ON r.i = (o.n * 7919 + t.i) %% %(residents)s
  WHERE o.k BETWEEN %(lo)s AND %(hi)s
) x
ORDER BY x.k
"""
# For NOT NULL columns without a default added after this script was written.
ZERO_BY_TYPE = {"tinyint": "0", "smallint": "0", "int": "0", "bigint": "0", "double": "0",
                "float": "0", "decimal": "0", "datetime": "x.c", "date": "DATE(x.c)",
                "json": "'{}'", "longtext": "'{}'"}


def fill_statement(columns: list[tuple[str, str, bool]]) -> str:
    """INSERT ... SELECT for the table's actual columns: (name, data type, needs a value)."""
    names, exprs = [], []
    for name, data_type, required in columns:
        if name in FILL_COLUMNS:
            names.append(name)
            exprs.append(FILL_COLUMNS[name])
        elif required:
            names.append(name)
            exprs.append(ZERO_BY_TYPE.get(data_type, "''"))
    return ("INSERT INTO tickets (" + ", ".join(names) + ")\nSELECT "
            + ",\n  ".join(exprs) + FILL_FROM)


def generate_tickets(target: common.MySQLTarget, database: str, city: City, rows: int,
                     now: datetime, seed: int) -> float:
    """Fill `tickets` with `rows` generated rows, numbered in creation order (ids ascend with
    `created_at`, after any ticket already there); returns the seconds it took."""
    t0 = time.perf_counter()
    conn = target.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT c.id, ru.unit_id FROM categories c "
                        "LEFT JOIN routing_rules ru ON ru.category_id = c.parent_id "
                        "AND ru.is_active WHERE c.depth = 2 AND c.is_active ORDER BY c.id")
            categories = [(int(a), int(b) if b is not None else None) for a, b in cur.fetchall()]
            cur.execute(f"CREATE TABLE bench_tmpl ({TEMPLATE_COLUMNS})")
            templates = ticket_templates(city, categories, seed)
            cur.executemany(TEMPLATE_INSERT, templates)
            cur.execute("CREATE TABLE bench_cell (i INT PRIMARY KEY, cell_id INT, "
                        "path VARCHAR(255), lng DOUBLE, lat DOUBLE, team INT NULL)")
            cur.executemany("INSERT INTO bench_cell VALUES (%s, %s, %s, %s, %s, %s)",
                            [(i, c["id"], c["path"], c["lng"], c["lat"], c["team"])
                             for i, c in enumerate(city.cells)])
            cur.execute("CREATE TABLE bench_res (i INT PRIMARY KEY, user_id INT)")
            cur.executemany("INSERT INTO bench_res VALUES (%s, %s)",
                            [(i, uid) for i, (uid, _) in enumerate(city.residents)])
            cur.execute(
                "SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL "
                "AND extra NOT LIKE '%%auto_increment%%' FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'tickets' ORDER BY ordinal_position",
                (database,))
            statement = fill_statement([(n, t, bool(r)) for n, t, r in cur.fetchall()])
            copies = math.ceil(rows / TEMPLATES)
            cur.execute("CREATE TABLE bench_seq (n INT PRIMARY KEY)")
            cur.executemany("INSERT INTO bench_seq VALUES (%s)", [(n,) for n in range(copies)])
            naive_now = now.replace(tzinfo=None)
            cur.execute("CREATE TABLE bench_order (k INT AUTO_INCREMENT PRIMARY KEY, n INT, "
                        "i INT, c DATETIME)")
            cur.execute(ORDER_STATEMENT, {"now": naive_now, "templates": TEMPLATES,
                                          "rows": rows})
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM tickets")
            (base,) = cur.fetchone()
            # Consistent by construction; the checks only slow the bulk load down.
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            step = 100_000  # rows per statement
            for lo in range(1, rows + 1, step):
                cur.execute(statement, {
                    "now": naive_now, "grid_worker": city.grid_worker_id, "base": int(base),
                    "cells": len(city.cells), "residents": len(city.residents),
                    "lo": lo, "hi": lo + step - 1})
                print(f"\r  generated {min(rows, lo + step - 1):,} tickets", end="", flush=True)
            print()
            cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
            cur.execute("DROP TABLE bench_tmpl, bench_cell, bench_res, bench_seq, bench_order")
            cur.execute("ANALYZE TABLE tickets")
            cur.fetchall()
    finally:
        conn.close()
    return time.perf_counter() - t0


@dataclass
class Timed:
    label: str
    runs_ms: list[float]
    first_ms: float | None = None
    touched: int | None = None  # tickets reported in the period and scope
    sql: tuple[str, Any] | None = None  # the tickets statement, with its values
    rollup_sql: tuple[str, Any] | None = None  # the rollup statement, if any

    @property
    def median_ms(self) -> float:
        return common.median(self.runs_ms)


def _naive(values: Any) -> list[Any]:
    """Statement values for pymysql: aware datetimes (UTC here) as naive ones."""
    return [v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo
            else v for v in values or []]


class Stats:
    """Times the statistics service in-process, and raw statements, on the bench database."""

    def __init__(self, settings: Any, target: common.MySQLTarget, database: str, city: City,
                 now: datetime) -> None:
        self.settings, self.target, self.database = settings, target, database
        self.city, self.now = city, now
        # The first community: a community worker's or dispatcher's scope (~1/10 of the city).
        self.community_path = "/" + "/".join(city.cells[0]["path"].strip("/").split("/")[:3]) + "/"
        self.community = self.community_path.strip("/").rsplit("/", 1)[1]

    def windows(self) -> list[tuple[str, dict[str, str]]]:
        to = self.now.isoformat()
        return [("30 days", {"from": (self.now - timedelta(days=30)).isoformat(), "to": to}),
                ("365 days", {"from": (self.now - timedelta(days=365)).isoformat(), "to": to})]

    async def service_timings(self, runs: int, breakdown_runs: int, *, first: bool = True,
                              breakdowns: bool = True, community: bool = True) -> list[Timed]:
        """summary and breakdown(by=unit) as a city-wide admin, 30 days and a year."""
        from app.accounts import service as accounts
        from app.core import db
        from app.stats import service
        from app.stats.schemas import BreakdownQuery, StatsQuery

        await db.init_db(self.settings)
        out: list[Timed] = []
        try:
            admin = await accounts.get_active_user(user_id=self.city.admin_id)
            calls = []
            for period, window in self.windows():
                calls.append((f"summary, {period}", runs, service.summary,
                              StatsQuery.model_validate(window)))
            if community:
                period, window = self.windows()[0]
                calls.append((f"summary, {period}, one community", runs, service.summary,
                              StatsQuery.model_validate({**window, "area": self.community})))
                period, window = self.windows()[1]
                calls.append((f"summary, {period}, 大类 10", runs, service.summary,
                              StatsQuery.model_validate({**window, "category": "10"})))
            if breakdowns:
                for by in ("community", "unit"):
                    for period, window in self.windows():
                        calls.append((f"breakdown(by={by}), {period}", breakdown_runs,
                                      service.breakdown,
                                      BreakdownQuery.model_validate({**window, "by": by})))
            for label, n, fn, query in calls:
                separate_first = first and fn is service.summary  # breakdowns: it is a run
                with _QueryCounter() as counter:
                    t0 = time.perf_counter()
                    result = await fn(viewer=admin, query=query)
                    first_ms = (time.perf_counter() - t0) * 1000
                sql = next(((q, v) for q, v in counter.sent
                            if "SUM(" in q.upper() and "`tickets`" in q), None)
                rollup_sql = next(((q, v) for q, v in counter.sent
                                   if "`stats_daily`" in q or "`stats_daily_units`" in q), None)
                timings = [] if separate_first else [first_ms]
                for _ in range(n - len(timings)):
                    t0 = time.perf_counter()
                    await fn(viewer=admin, query=query)
                    timings.append((time.perf_counter() - t0) * 1000)
                rows = getattr(result, "rows", None)
                touched = (sum(r.counts["reported"] for r in rows) if rows is not None
                           else result.counts["reported"])
                out.append(Timed(label, timings, first_ms if separate_first else None, touched,
                                 sql, rollup_sql))
                if label == "summary, 365 days":
                    self.year_counts = dict(result.counts)
        finally:
            await db.close_db()
        return out

    async def rebuild_rollup(self) -> tuple[int, int, int, int]:
        """`python -m app stats rebuild`: the tickets were generated past the door."""
        from app.core import db
        from app.stats import service
        from app.stats.models import StatsDaily, StatsDailyCategory, StatsDailyUnit

        await db.init_db(self.settings)
        try:
            read = await service.rebuild()
            return (read, await StatsDaily.all().count(), await StatsDailyUnit.all().count(),
                    await StatsDailyCategory.all().count())
        finally:
            await db.close_db()

    def raw(self, label: str, query: str, runs: int) -> Timed:
        """Median of `runs` of a statement sent as is (pymysql)."""
        conn = self.target.connect(self.database)
        try:
            with conn.cursor() as cur:
                timings = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    cur.execute(query)
                    cur.fetchall()
                    timings.append((time.perf_counter() - t0) * 1000)
        finally:
            conn.close()
        return Timed(label, timings)

    def inline(self, sql: tuple[str, Any]) -> str:
        conn = self.target.connect(self.database)
        try:
            with conn.cursor() as cur:
                return cur.mogrify(sql[0], _naive(sql[1]))
        finally:
            conn.close()

    def explain(self, sql: tuple[str, Any]) -> list[tuple]:
        conn = self.target.connect(self.database)
        try:
            with conn.cursor() as cur:
                cur.execute("EXPLAIN " + self.inline(sql))
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            conn.close()

    def table_info(self) -> str:
        conn = self.target.connect(self.database)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT data_length, index_length FROM information_schema.tables "
                            "WHERE table_schema = %s AND table_name = 'tickets'", (self.database,))
                data, index = cur.fetchone()
                cur.execute("SELECT @@innodb_buffer_pool_size")
                (pool,) = cur.fetchone()
        finally:
            conn.close()
        mb = 1024 * 1024
        return (f"tickets table {int(data) / mb:,.0f} MB of rows + {int(index) / mb:,.0f} MB of "
                f"indexes; InnoDB buffer pool {int(pool) / mb:,.0f} MB")


def print_timed(title: str, results: list[Timed]) -> None:
    print(title)
    header = (f"{'call':<42} | {'tickets in period':>17} | {'median ms':>9} | {'min-max ms':>13} | "
              f"{'first ms':>8} | target <= {STATS_TARGET_MS:g} ms")
    print(header)
    print("-" * len(header))
    for t in results:
        touched = f"{t.touched:,}" if t.touched is not None else ""
        first = f"{t.first_ms:.0f}" if t.first_ms is not None else ""
        verdict = common.mark(t.median_ms <= STATS_TARGET_MS) if t.touched is not None else ""
        print(f"{t.label:<42} | {touched:>17} | {t.median_ms:>9.0f} | "
              f"{min(t.runs_ms):>6.0f}-{max(t.runs_ms):<6.0f} | {first:>8} | {verdict}")


def print_explain(label: str, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(f"  EXPLAIN {label}: " + ", ".join(f"{k}={r.get(k)}" for k in (
            "type", "key", "rows", "Extra")))


def print_mix(counts: dict[str, int]) -> None:
    def share(a: str, b: str) -> str:
        return f"{counts[a] / counts[b]:.1%}" if counts.get(b) else "-"

    print(f"Mix over the year: accepted/reported {share('accepted', 'reported')}, self-disposed "
          f"{share('self_disposed', 'reported')}, rejected {share('rejected', 'reported')}; "
          f"handled/should_handle {share('handled', 'should_handle')}, on time "
          f"{share('handled_on_time', 'handled')} of those (handled/reported "
          f"{share('handled', 'reported')}); returned/dispatched {share('returned', 'dispatched')}"
          f"; reworked/handled {share('reworked', 'handled')}; closed/should_close "
          f"{share('closed', 'should_close')}, on time {share('closed_on_time', 'closed')}")


async def http_stats_check(base_url: str, token: str, windows: list[tuple[str, dict[str, str]]]
                           ) -> list[tuple[str, int, float]]:
    """One call each through the server, with its default database time limit."""
    import httpx

    out = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as client:
        for path, extra in (("/api/v1/stats/summary", {}),
                            ("/api/v1/stats/breakdown", {"by": "unit"})):
            for period, window in windows:
                t0 = time.perf_counter()
                response = await client.get(path, params={**window, **extra},
                                            headers={"Authorization": f"Bearer {token}"})
                out.append((f"GET {path.rsplit('/', 1)[1]}{'?by=unit' if extra else ''}, "
                            f"{period}", response.status_code,
                            (time.perf_counter() - t0) * 1000))
    return out


def run_stats(args: argparse.Namespace, settings: Any, target: common.MySQLTarget,
              database: str, city: City, server: common.ServerProcess | None) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    gen_s = generate_tickets(target, database, city, args.stats_rows, now, args.seed)
    stats = Stats(settings, target, database, city, now)
    print(f"\nStatistics: {args.stats_rows:,} tickets generated in {gen_s:.0f} s; "
          f"{stats.table_info()}")
    t0 = time.perf_counter()
    read, cell_rows, unit_rows, category_rows = asyncio.run(stats.rebuild_rollup())
    print(f"daily rollups recounted from {read:,} tickets in {time.perf_counter() - t0:.0f} s: "
          f"{cell_rows:,} (day, cell), {unit_rows:,} (day, community, unit), {category_rows:,} "
          f"(day, community, category) rows")
    results = asyncio.run(stats.service_timings(args.stats_runs, args.breakdown_runs))
    floor = stats.raw("floor: read every row (one SUM)",
                      "SELECT SUM(`is_self_disposed`) FROM `tickets`", args.breakdown_runs)
    print_timed(f"In-process service calls as a city-wide admin (community: {stats.community}); "
                f"summary: median of {args.stats_runs} after a first run, breakdown and raw "
                f"statements: median of {args.breakdown_runs}; load average "
                f"{os.getloadavg()[0]:.1f}", [*results, floor])
    print_mix(stats.year_counts)
    by_label = {t.label: t for t in results}
    for label in ("summary, 30 days", "summary, 30 days, one community",
                  "breakdown(by=unit), 30 days"):
        timed = by_label.get(label)
        if timed and timed.rollup_sql:
            print_explain(f"{label} (whole days, rollup)", stats.explain(timed.rollup_sql))
        if timed and timed.sql:
            what = "tickets" if label.startswith("breakdown(by=unit)") else "the edges, tickets"
            print_explain(f"{label} ({what})", stats.explain(timed.sql))
    sql = by_label["summary, 30 days"].sql
    if sql:
        print("  edge statement: SELECT <13 x SUM(CASE ...)>",
              sql[0][sql[0].upper().rfind(" FROM "):], sep="")

    if server is not None:
        dispatcher = next(tok for uid, tok in city.staff_tokens if uid == city.dispatcher_id)
        limit = os.environ.get("DB_TIMEOUT") or type(settings).model_fields["db_timeout"].default
        print(f"Through the server as the district dispatcher (its database time limit: "
              f"{float(limit):g} s):")
        for label, status, ms in asyncio.run(http_stats_check(server.base_url, dispatcher,
                                                              stats.windows())):
            print(f"  {label:<34} HTTP {status}  {ms:>7,.0f} ms")

# --- main -----------------------------------------------------------------------------------


def _redis_url(url: str, db_index: int) -> str:
    """The same Redis server on another logical database, away from other users' keys."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db_index}", parts.query, ""))


def _forget_rate_limit_keys(redis_url: str, user_ids: list[int]) -> None:
    """Delete the write-limit counters this run created (they would expire within a minute)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        keys = ["rl:w:ip:127.0.0.1", *[f"rl:w:u:{uid}" for uid in user_ids]]
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
    except redis.RedisError:
        pass
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="mysql://user:pass@host:port/any — the bench database is created "
                        "next to it (default: $DATABASE_URL)")
    parser.add_argument("--redis-url", default=None,
                        help="Redis for the rate-limit counters (default: $REDIS_URL on logical "
                        "database 15; 'none' for in-process counters)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the load's HTTP client (httpx, used before 6 December 2026, "
                        "costs several times the CPU per request on the server's cores)")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="seconds per endpoint per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--stats-rows", type=lambda s: int(s.replace("_", "").replace(",", "")),
                        default=1_000_000)
    parser.add_argument("--stats-runs", type=int, default=5,
                        help="timed runs of each summary (default 5)")
    parser.add_argument("--breakdown-runs", type=int, default=3,
                        help="timed runs of each breakdown and raw statement (default 3)")
    parser.add_argument("--skip-stats", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="cProfile the server during the submit and detail phases (files in "
                        "DIR, top functions printed); the timings of those phases then include "
                        "the profiler's overhead")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server child
    args = parser.parse_args(argv)

    if args.serve_port:
        serve(args.serve_port)
        return 0
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required (MariaDB/MySQL)")
    target = common.MySQLTarget.from_url(args.database_url)
    if args.redis_url is None:
        env_redis = os.environ.get("REDIS_URL", "")
        args.redis_url = _redis_url(env_redis, 15) if env_redis else "none"
    redis_url = "" if args.redis_url == "none" else args.redis_url

    database = common.new_bench_database_name("tickets")
    bench_url = target.url(database)
    jwt_secret = secrets.token_urlsafe(32)
    var_dir = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))
    server: common.ServerProcess | None = None
    city: City | None = None
    overrides = {
        "APP_ENV": "test", "DATABASE_URL": bench_url, "REDIS_URL": redis_url,
        "JOBS_IN_PROCESS": "false", "RATE_WRITES_PER_MINUTE": "100000000",
        "RATE_LOGIN_PER_MINUTE": "100000000", "JWT_SECRET": jwt_secret,
        "ACCESS_TOKEN_TTL": "7200", "VAR_DIR": str(var_dir), "WECHAT_APPID": "",
    }
    from app.settings import configure

    # The bench process itself: same database and secret; a long statement time limit so a
    # slow statistics query is measured rather than cut off (the server keeps its default).
    settings = configure(app_env="test", database_url=bench_url, redis_url="",
                         jwt_secret=jwt_secret, access_token_ttl=7200, var_dir=var_dir,
                         db_timeout=120.0)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; bench database "
          f"{database} on {target.host}:{target.port}; redis {redis_url or 'none (in-process)'}")
    common.create_database(target, database)
    try:
        conn = target.connect(database)
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            print(f"server version {cur.fetchone()[0]}")
        conn.close()
        t0 = time.perf_counter()
        city = asyncio.run(set_up(settings, args.residents))
        print(f"set-up: migrations, demo district ({len(city.points)} cells), "
              f"{len(city.residents)} residents in {time.perf_counter() - t0:.1f} s")

        if not (args.skip_http and args.skip_stats):
            port = common.free_port()
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                overrides["BENCH_PROFILE_DIR"] = str(args.profile.resolve())
            server = common.ServerProcess(
                [sys.executable, str(Path(__file__).resolve()), "--serve-port", str(port)],
                env={**os.environ, **overrides}, port=port, log_path=var_dir / "server.log")
            server.wait_ready()
        if not args.skip_http:
            assert server is not None
            profiling = (Profiling(args.profile, server.proc.pid) if args.profile else None)
            http = asyncio.run(http_bench(server.base_url, city, concurrency=args.concurrency,
                                          seconds=args.seconds, rounds=args.rounds,
                                          server_pid=server.proc.pid, profiling=profiling,
                                          client_kind=args.client))
            print(f"client: {args.client}")
            print_http(http)
            if profiling is not None:
                profiling.report()
            print_anatomy(asyncio.run(anatomy(settings, city)))
        if not args.skip_stats:
            run_stats(args, settings, target, database, city, server)
    except BaseException:
        if server is not None:
            print("server log (tail):\n" + server.tail(), file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        common.drop_database(target, database)
        if redis_url and city is not None:
            _forget_rate_limit_keys(redis_url, [uid for uid, _ in city.residents])
        shutil.rmtree(var_dir, ignore_errors=True)
        print(f"dropped {database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
