"""A district at peak: a mixed load against `python -m app serve --workers N` plus a job process.

Usage: python scripts/bench/load.py --database-url mysql://root@127.0.0.1:3307/
       [--redis-url redis://127.0.0.1:6390/0] [--workers 2] [--clients 8,32,128]
       [--seconds 15] [--residents 400] [--profile-seconds 10]
       [--client aiohttp|httpx] [--mix detail=30,list=20,nearby=20,report=20,work=10]

It creates a throw-away database `gongzhi_bench_load_<pid>_<hex>`, applies the migrations, loads
the demo district and generated residents (scripts/bench/tickets.py `set_up`), starts the API
server with N workers (the product's `serve`, with two bench-only routes added, see `serve()`)
and one job process (`python -m app jobs`, which delivers the outbox the load fills), fills the
district with a few hundred reports through the API, then for each client count runs, closed
loop and interleaved (mixed, bare, bare, mixed), the mix:

    70 % reads:  30 % a resident's ticket detail, 20 % the dispatcher's ticket list (50 per
                 page, filtered by the district), 20 % the public "nearby" search
    20 % reports (a resident's report, auto-accepted and dispatched, 暴露垃圾 or 楼道堆物)
    10 % work:   the grid worker claims a dispatched 楼道堆物 task, then handles it

against `GET /bench/bare-read/{id}` (one primary-key read: the floor of Sanic + Tortoise).
Per phase: requests/s, p50/p95/p99, errors, and the CPU the API server's processes (main,
workers, Sanic's state manager; not the job process) and this client spent per answered
request, and each kind's latency at 32 clients (where the p99 comes from). `--mix list=1`
measures one kind alone. With --profile-seconds it records the busiest worker with py-spy during a 32-client
mixed phase and prints the top functions by own time and the project's by total time. The database is dropped at the end, also on failure.
See docs/benchmarks.md ("Mixed load").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, tickets

import _common as common  # puts the repository root on sys.path
import tickets as ticket_bench

MIXED_VS_BARE_TARGET = 0.40
P99_TARGET_MS = 300.0
P99_TARGET_CLIENTS = 32
WORK_CATEGORY = "2004"  # 楼道堆物: auto-accepted, no photo, routed to the cell's grid team
REPORT_CATEGORIES = (ticket_bench.AUTO_CATEGORY, WORK_CATEGORY)
APP_PATHS = (str(common.ROOT / "app") + "/", "app/")  # py-spy names files as Python found them
MIX = (("detail", 30), ("list", 20), ("nearby", 20), ("report", 20), ("work", 10))


def parse_mix(text: str) -> tuple[tuple[str, int], ...]:
    """`detail=30,list=20,...` (kinds from MIX, integer weights): to measure one kind alone."""
    known = {kind for kind, _ in MIX}
    mix = []
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in known or not weight.isdigit():
            raise argparse.ArgumentTypeError(f"expected kind=weight with kind in {sorted(known)}")
        mix.append((kind, int(weight)))
    return tuple(mix)


# --- the server: the product's serve, with the bench routes -------------------------------------


def _bench_app():  # type: ignore[no-untyped-def]
    from app.main import create_app

    app = create_app(name="gongzhi")
    app.blueprint(ticket_bench.bench_blueprint())
    return app


def serve(port: int, workers: int) -> int:
    """`python -m app serve --workers N` (app/__main__.py cmd_serve) with the bench routes."""
    from sanic import Sanic
    from sanic.worker.loader import AppLoader
    from sanic.worker.manager import WorkerManager

    from app.core import supervise

    # Sanic stops the server when a worker has not booted within 30 s, which a worker on a
    # shared, loaded 2-core machine can miss (imports, the locate index): allow 120 s here.
    WorkerManager.THRESHOLD = 1200  # in 0.1 s ticks
    loader = AppLoader(factory=partial(supervise.served, _bench_app))
    app = loader.load()
    app.prepare(host="127.0.0.1", port=port, workers=workers, access_log=False, motd=False)
    watch = supervise.WorkerWatch()
    watch.install(app)
    supervise.tie_state_manager()
    Sanic.serve(primary=app, app_loader=loader)
    return watch.exit_code


def _tree(root: int) -> list[int]:
    """`root` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cpu(pids: list[int]) -> float:
    return sum(c for c in (ticket_bench._cpu_seconds(p) for p in pids) if c == c)


# --- the load ------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    clients: int
    load: common.LoadResult
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)
    busiest: list[float] = field(default_factory=list)  # the two busiest processes' CPU shares

    def cpu_ms(self, seconds: float) -> float:
        return seconds / self.load.ok * 1000 if self.load.ok else float("nan")


class Mix:
    """The requests of the mixed load, with the state they share (tickets made, tasks open)."""

    def __init__(self, client: Any, city: ticket_bench.City, worker_token: str,
                 dispatcher_token: str, district_code: str, worker_points: list[int],
                 weights: tuple[tuple[str, int], ...] = MIX) -> None:
        self.client = client
        self.city = city
        self.worker = {"Authorization": f"Bearer {worker_token}"}
        self.dispatcher = {"Authorization": f"Bearer {dispatcher_token}"}
        self.district = district_code
        self.worker_points = worker_points  # indexes into city.points: the grid worker's cells
        self.tickets: list[tuple[int, int]] = []  # (ticket id, resident index)
        self.tasks: list[int] = []  # dispatched 楼道堆物 tickets nobody claimed yet
        self.kinds: Counter[str] = Counter()
        self.latencies: dict[str, list[float]] = {}  # kind -> seconds, while `timing`
        self.timing = False
        self.wheel = [kind for kind, weight in weights for _ in range(weight)]
        self.rng = random.Random(20261205)

    async def report(self, k: int, category: str | None = None) -> str | None:
        residents, points = self.city.residents, self.city.points
        r = (k * 7919) % len(residents)
        category = category or REPORT_CATEGORIES[k % 2]
        # 楼道堆物 in the grid worker's own cells, so that they may claim it.
        spots = self.worker_points if category == WORK_CATEGORY else range(len(points))
        lng, lat = points[spots[(k * 31) % len(spots)]]
        response = await self.client.post(
            "/api/v1/tickets", headers={"Authorization": f"Bearer {residents[r][1]}"},
            json={"category_code": category, "description": ticket_bench.DESCRIPTIONS[k % 5],
                  "location": {"lng": lng, "lat": lat, "crs": "gcj02"}, "address": "任城区古槐路"})
        if response.status_code != 201:
            return f"report {response.status_code} {response.text[:160]}"
        body = response.json()
        if body["status"] != "dispatched":
            return f"report: status {body['status']}, expected dispatched"
        self.tickets.append((body["id"], r))
        if category == WORK_CATEGORY:
            self.tasks.append(body["id"])
        return None

    async def work(self) -> str | None:
        """Claim the oldest open task, then handle it: two requests, counted as one."""
        if not self.tasks:
            return await self.report(self.rng.randrange(1 << 30), WORK_CATEGORY)
        ticket_id = self.tasks.pop(0)
        claim = await self.client.post(f"/api/v1/tasks/{ticket_id}/claim", headers=self.worker,
                                       json={})
        if claim.status_code != 200:
            return f"claim {claim.status_code} {claim.text[:160]}"
        handle = await self.client.post(
            f"/api/v1/tasks/{ticket_id}/handle", headers=self.worker,
            json={"note": "已清理楼道堆物", "version": claim.json()["version"]})
        if handle.status_code != 200:
            return f"handle {handle.status_code} {handle.text[:160]}"
        return None

    async def request(self, w: int, seq: int) -> str | None:
        kind = self.wheel[self.rng.randrange(len(self.wheel))]
        self.kinds[kind] += 1
        started = time.perf_counter()
        error = await self._request(kind)
        if self.timing and error is None:
            self.latencies.setdefault(kind, []).append(time.perf_counter() - started)
        return error

    async def _request(self, kind: str) -> str | None:
        k = self.rng.randrange(1 << 30)
        if kind == "report":
            return await self.report(k)
        if kind == "work":
            return await self.work()
        if kind == "detail":
            ticket_id, r = self.tickets[k % len(self.tickets)]
            token = self.city.residents[r][1]
            response = await self.client.get(f"/api/v1/tickets/{ticket_id}",
                                             headers={"Authorization": f"Bearer {token}"})
        elif kind == "list":
            response = await self.client.get("/api/v1/tickets", headers=self.dispatcher,
                                             params={"area": self.district, "limit": 50})
        else:
            lng, lat = self.city.points[k % len(self.city.points)]
            token = self.city.residents[k % len(self.city.residents)][1]
            response = await self.client.get("/api/v1/tickets/nearby", params={
                "lng": lng, "lat": lat, "crs": "gcj02", "radius_m": 500},
                headers={"Authorization": f"Bearer {token}"})
        return None if response.status_code == 200 else \
            f"{kind} {response.status_code} {response.text[:160]}"

    async def bare(self, w: int, seq: int) -> str | None:
        ticket_id, _ = self.tickets[(seq * 131 + w) % len(self.tickets)]
        response = await self.client.get(f"/bench/bare-read/{ticket_id}")
        return None if response.status_code == 200 else f"bare {response.status_code}"


async def timed(label: str, request: common.Request, *, clients: int, seconds: float,
                server: int, mix: Mix) -> Phase:
    before = Counter(mix.kinds)
    pids = _tree(server)
    s0, c0 = _cpu(pids), time.process_time()
    each0 = {p: ticket_bench._cpu_seconds(p) for p in pids}
    mix.timing = clients == P99_TARGET_CLIENTS and label == "mixed"
    result = await common.closed_loop(label, request, concurrency=clients, seconds=seconds)
    mix.timing = False
    phase = Phase(label, clients, result, server_cpu=_cpu(pids) - s0,
                  client_cpu=time.process_time() - c0)
    phase.kinds = mix.kinds - before
    spent = sorted((ticket_bench._cpu_seconds(p) - each0[p] for p in pids), reverse=True)
    phase.busiest = [x / phase.server_cpu for x in spent[:2]] if phase.server_cpu else []
    return phase


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("  (py-spy is not installed: pip install py-spy; no profile)")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "200", "--format", "raw", "--output", str(out),
                             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _frame(raw: str) -> tuple[str, str]:
    """("function (file.py)", full path) from py-spy's "function (path:line)"."""
    name, _, where = raw.rpartition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({path.rsplit('/', 1)[-1]})", path


def print_profile(path: Path, top: int = 15) -> None:
    """Top functions by own samples, and the project's own functions (app/) by inclusive
    samples, from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():  # py-spy's own notes ("... operations.")
            continue
        n = int(count)
        samples += n
        frames = [_frame(f) for f in stack.split(";") if f]
        if frames:
            own[frames[-1][0]] += n
        for label in {label for label, where in frames if where.startswith(APP_PATHS)}:
            ours[label] += n
    print(f"\nProfile of one worker: {samples:,} samples")
    for title, counter in (("own time (where the CPU is, libraries included)", own),
                           ("total time, the project's functions (app/, with callees)", ours)):
        print(f"  top by {title}:")
        for frame, n in counter.most_common(top):
            print(f"    {n / samples:6.1%}  {frame}")


def print_phases(phases: list[Phase], workers: int) -> dict[int, tuple[Phase, Phase]]:
    header = (f"{'clients':>7} | {'phase':<10} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | "
              f"{'p99 ms':>7} | {'requests':>8} | {'errors':>6} | {'server CPU ms/req':>17} | "
              f"{'client CPU ms/req':>17}")
    print(f"\nClosed loop, {workers} API workers + 1 job process; CPU ms/req = CPU time of the API "
          "server's processes (or of this client) per answered request")
    print(header)
    print("-" * len(header))
    for p in phases:
        print(f"{p.clients:>7} | {p.label:<10} | {p.load.rps:>7,.1f} | {p.load.pct(50):>7.1f} | "
              f"{p.load.pct(95):>7.1f} | {p.load.pct(99):>7.1f} | {p.load.ok:>8,} | "
              f"{p.load.errors:>6} | {p.cpu_ms(p.server_cpu):>17.2f} | "
              f"{p.cpu_ms(p.client_cpu):>17.2f}")
        if p.busiest:
            print(f"{'':>7}   (the two busiest server processes: "
                  + " / ".join(f"{x:.0%}" for x in p.busiest) + " of its CPU)")
        for sample in p.load.error_samples[:3]:
            print(f"    error: {sample}")
    pairs: dict[int, tuple[Phase, Phase]] = {}
    for clients in sorted({p.clients for p in phases}):
        mixed = _merged([p for p in phases if p.clients == clients and p.label == "mixed"])
        bare = _merged([p for p in phases if p.clients == clients and p.label == "bare read"])
        pairs[clients] = (mixed, bare)
    return pairs


def print_kinds(latencies: dict[str, list[float]]) -> None:
    """Latency per kind of request in the mixed phases at 32 clients: where the p99 comes from."""
    if not latencies:
        return
    print(f"\nPer kind, mixed phases at {P99_TARGET_CLIENTS} clients (work = claim + handle, "
          "two requests):")
    for kind, values in sorted(latencies.items()):
        one = common.LoadResult(kind, ok=len(values), latencies=values)
        print(f"  {kind:<7} {len(values):>6,} requests  p50 {one.pct(50):7.1f}  "
              f"p95 {one.pct(95):7.1f}  p99 {one.pct(99):7.1f} ms")


async def _gc_stats(client: Any, asks: int = 32) -> dict[int, dict[str, Any]]:
    """Each worker's garbage collections so far (`GET /bench/gc`, answered by any worker:
    asked at once, over as many of the client's connections)."""
    seen: dict[int, dict[str, Any]] = {}
    for answer in await asyncio.gather(*(client.get("/bench/gc") for _ in range(asks))):
        body = answer.json()
        pid = body.pop("pid")
        for gen, v in seen.get(pid, {}).items():  # the longest pause is told once
            body[gen]["max_ms"] = max(body[gen]["max_ms"], v["max_ms"])
        seen[pid] = body
    return seen


def _gc_since(before: dict[int, dict[str, Any]],
              after: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The collections of the measured phases, and the longest pause in them."""
    out = {}
    for pid, gens in after.items():
        was = before.get(pid, {})
        out[pid] = {g: {"count": v["count"] - was.get(g, {}).get("count", 0),
                        "ms": v["ms"] - was.get(g, {}).get("ms", 0.0), "max_ms": v["max_ms"]}
                    for g, v in gens.items()}
    return out


def print_gc(stats: dict[int, dict[str, Any]]) -> None:
    """Garbage collection per worker in the measured phases: a full collection stops the
    worker and every request in flight on it."""
    print("\nGarbage collections per worker, measured phases (count, total ms, longest ms):")
    for pid, gens in sorted(stats.items()):
        print(f"  worker {pid}: " + "; ".join(
            f"{g} {v['count']:,} / {v['ms']:,.0f} / {v['max_ms']:.1f}" for g, v in gens.items()))


def _merged(phases: list[Phase]) -> Phase:
    out = Phase(phases[0].label, phases[0].clients, common.LoadResult(phases[0].label))
    for p in phases:
        out.load.merge(p.load)
        out.server_cpu += p.server_cpu
        out.client_cpu += p.client_cpu
        out.kinds += p.kinds
    return out


def print_verdicts(pairs: dict[int, tuple[Phase, Phase]]) -> bool:
    print("\nMixed load against the bare read, per client count (both phases summed):")
    ok = True
    for clients, (mixed, bare) in pairs.items():
        ratio = mixed.load.rps / bare.load.rps if bare.load.rps else float("nan")
        cpu_ratio = bare.cpu_ms(bare.server_cpu) / mixed.cpu_ms(mixed.server_cpu)
        mix = ", ".join(f"{k} {n}" for k, n in sorted(mixed.kinds.items()))
        line = (f"  {clients:>3} clients: throughput {ratio:.1%} of the bare read, server CPU per "
                f"request {cpu_ratio:.1%} of the bare read's; p99 {mixed.load.pct(99):.0f} ms; "
                f"errors {mixed.load.errors}; mix: {mix}")
        print(line)
        if clients == P99_TARGET_CLIENTS:
            ok &= mixed.load.pct(99) <= P99_TARGET_MS
            ok &= ratio >= MIXED_VS_BARE_TARGET
            print(f"    targets at {clients}: throughput ≥ {MIXED_VS_BARE_TARGET:.0%} "
                  f"{common.mark(ratio >= MIXED_VS_BARE_TARGET)}, p99 ≤ {P99_TARGET_MS:.0f} ms "
                  f"{common.mark(mixed.load.pct(99) <= P99_TARGET_MS)}")
        ok &= mixed.load.errors == 0
    return ok


async def run(args: argparse.Namespace, base_url: str, server: ServerProcs,
              city: ticket_bench.City, worker_points: list[int]) -> bool:
    from app.core.security import issue_access_token

    clients_max = max(args.clients)
    worker_token = issue_access_token(city.grid_worker_id)[0]
    dispatcher_token = city.staff_tokens[0][1]
    if args.client == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=clients_max,
                              max_keepalive_connections=clients_max)
        http: Any = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0)
    else:
        http = common.LeanClient(base_url, connections=clients_max)
    async with http as client:
        mix = Mix(client, city, worker_token, dispatcher_token, args.district,
                  worker_points, args.mix)
        # Fill the district: reports for the reads to find, tasks for the work to take.
        filled = await common.closed_loop(
            "fill", lambda w, s: mix.report(s * 8 + w), concurrency=8, seconds=3600,
            max_requests=args.fill)
        if filled.errors or not mix.tickets:
            raise RuntimeError(f"filling failed: {filled.error_samples}")
        print(f"filled: {len(mix.tickets)} tickets ({len(mix.tasks)} open tasks) in "
              f"{filled.elapsed:.1f} s")
        await common.closed_loop("warm-up", mix.request, concurrency=8, seconds=3)
        await common.closed_loop("warm-up", mix.bare, concurrency=8, seconds=2)

        gc_before = await _gc_stats(client)
        phases: list[Phase] = []
        for clients in args.clients:
            for label in ("mixed", "bare read", "bare read", "mixed"):
                request = mix.request if label == "mixed" else mix.bare
                phases.append(await timed(label, request, clients=clients,
                                          seconds=args.seconds / 2, server=server.api.proc.pid,
                                          mix=mix))
        gc_stats = _gc_since(gc_before, await _gc_stats(client))
        if args.profile_seconds:
            workers = [p for p in _tree(server.api.proc.pid)
                       if b"SANIC_WORKER_NAME=Sanic-Server" in _environ(p)]
            busiest = max(workers, key=lambda p: ticket_bench._cpu_seconds(p))
            out = Path(tempfile.mkdtemp(prefix="gongzhi-spy-")) / "profile.txt"
            spy = _profile(busiest, args.profile_seconds, out)
            if spy is not None:
                await common.closed_loop("profiled", mix.request,
                                         concurrency=P99_TARGET_CLIENTS,
                                         seconds=args.profile_seconds + 1)
                _, err = spy.communicate(timeout=60)
                if out.exists():
                    print_profile(out)
                else:
                    print(f"  py-spy wrote nothing: {err.decode(errors='replace')[-400:]}")
    pairs = print_phases(phases, args.workers)
    print_kinds(mix.latencies)
    print_gc(gc_stats)
    return print_verdicts(pairs)


async def _worker_points(settings: Any, city: ticket_bench.City) -> list[int]:
    """Indexes of city.points that lie in the demo grid worker's cells."""
    from app.accounts.models import RoleGrant
    from app.core import db

    await db.init_db(settings)
    try:
        cells = set(await RoleGrant.filter(user_id=city.grid_worker_id).values_list(
            "area_id", flat=True))
    finally:
        await db.close_db()
    return [i for i, cell in enumerate(city.cells) if cell["id"] in cells]


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


@dataclass
class ServerProcs:
    api: common.ServerProcess
    jobs: subprocess.Popen[bytes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", default="8,32,128",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="per phase and client count, split over two interleaved halves")
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--fill", type=int, default=600, help="reports made before the load")
    parser.add_argument("--district", default="370811")
    parser.add_argument("--profile-seconds", type=float, default=0.0)
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the load generator's HTTP client (httpx costs several times "
                        "the CPU per request, taken from the server's 2 cores)")
    parser.add_argument("--mix", type=parse_mix, default=MIX,
                        help="kind=weight,... instead of the documented mix, e.g. list=1 to "
                        "measure one kind's server CPU alone")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: the server
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.workers)

    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required (MariaDB/MySQL)")
    target = common.MySQLTarget.from_url(args.database_url)
    # Redis db 15, as scripts/bench/tickets.py: the rate-limit keys it leaves are forgotten.
    redis_url = ticket_bench._redis_url(args.redis_url, 15) if args.redis_url else ""
    database = common.new_bench_database_name("load")
    bench_url = target.url(database)
    jwt_secret = secrets.token_urlsafe(32)
    work = Path(tempfile.mkdtemp(prefix="gongzhi-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "QINIU_"))}
    env.update({"APP_ENV": "test", "DATABASE_URL": bench_url, "REDIS_URL": redis_url,
                "JOBS_IN_PROCESS": "false", "RATE_WRITES_PER_MINUTE": "100000000",
                "RATE_LOGIN_PER_MINUTE": "100000000", "JWT_SECRET": jwt_secret,
                "ACCESS_TOKEN_TTL": "7200", "VAR_DIR": str(work)})
    from app.settings import configure

    settings = configure(app_env="test", database_url=bench_url, redis_url="",
                         jwt_secret=jwt_secret, access_token_ttl=7200, var_dir=work)
    common.create_database(target, database)
    api: common.ServerProcess | None = None
    jobs: subprocess.Popen[bytes] | None = None
    city: ticket_bench.City | None = None
    try:
        city = asyncio.run(ticket_bench.set_up(settings, args.residents))
        port = common.free_port()
        api = common.ServerProcess([sys.executable, str(Path(__file__).resolve()), "--serve",
                                    str(port), "--workers", str(args.workers)], env, port,
                                   work / "server.log")
        jobs = subprocess.Popen([sys.executable, "-m", "app", "jobs"], cwd=common.ROOT, env=env,
                                stdout=(work / "jobs.log").open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        api.wait_ready(timeout=120)
        print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; {args.workers} API "
              f"workers on port {port} + job process; {len(city.residents)} residents; "
              f"database {database} on {target.host}:{target.port}; "
              f"redis {redis_url or 'none (in-process)'}; client {args.client}")
        worker_points = asyncio.run(_worker_points(settings, city))
        ok = asyncio.run(run(args, api.base_url, ServerProcs(api, jobs), city, worker_points))
        return 0 if ok else 1
    except BaseException:
        if api is not None:
            print("server log (tail):\n" + api.tail(), file=sys.stderr)
        raise
    finally:
        if jobs is not None:
            jobs.terminate()
            jobs.wait(timeout=30)
        if api is not None:
            api.stop()
        common.drop_database(target, database)
        if redis_url and city is not None:
            ticket_bench._forget_rate_limit_keys(redis_url, [uid for uid, _ in city.residents])
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
