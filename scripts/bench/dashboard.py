"""Benchmark the dashboard's views at 1,000,000 tickets, and 50 big screens under a reports load.

Usage: python scripts/bench/dashboard.py [--database-url mysql://...] [--rows 1000000]
       [--database gongzhi_bench_<name>] [--keep] [--runs 5] [--duration 300]
       [--report-seconds 30] [--report-clients 4] [--screens 50] [--skip-views] [--skip-screens]

The database: as scripts/bench/console.py (the ticket bench's 1,000,000 generated tickets and
recounted rollups; `--database NAME` reuses a loaded one, `--keep` keeps it). Against one Sanic
process (`create_app()`, in a subprocess):

1. Views, as the district dispatcher, requests one at a time (median of `--runs`, server CPU per
   request): `/console/dashboard` for today/week/month/year (the whole page: summary with 环比
   and 同比, the eight breakdowns, the trend, the ranking), its heat map `heat.json`, and the
   `/api/v1/stats/*` calls the page makes (summary for the period, the period before and a year
   earlier; breakdown by street/community/grid/unit/category_major/category/source/urgency; the
   trend by day/week/month), plus `/api/v1/evaluation/units` (the ranking, from the rollups)
   and, beside it for the month, its CSV (the 考核 export, counted from the timelines).
   Target: 500 ms.
2. Big screens through display links (`/screen/<token>`: the page, its grid and data, then
   server-sent events, or polling `data.json` every SCREEN_REFRESH_S for a share of them):
   one screen, then `--screens` screens on as many links, then on one link, each for
   `--duration` seconds; the database's statements (MariaDB `Questions`, `Com_select`) counted
   per phase, less the idle rate, and the statements the bench's server process itself sent
   (every aiomysql cursor execute, counted in the process: MariaDB's counters are global, and
   another bench on the same MariaDB shows up in them). Target: 50 screens <= 2x the
   statements of one.
3. Residents' reports (`POST /api/v1/tickets`, `--report-clients` closed loop) alone and with
   the screens connected, alternating (alone, screens, screens, alone; `--report-seconds` each).
   Target: p95 with the screens within 20 % of p95 alone.

See docs/benchmarks.md ("Dashboard and big screens").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, tickets, console

import _common as common  # puts the repository root on sys.path
import console as console_bench
import tickets as ticket_bench

VIEW_TARGET_MS = 500.0
SCREENS_VS_ONE_TARGET = 2.0
REPORT_P95_TARGET = 0.20
PERIODS = ("today", "week", "month", "year")
BREAKDOWNS = ("street", "community", "grid", "unit", "category_major", "category", "source",
              "urgency")


# --- 1. the views ----------------------------------------------------------------------------


def windows(kind: str) -> dict[str, tuple[datetime, datetime]]:
    """The period the page shows, the one before (环比) and a year earlier (同比)."""
    from app.console import periods

    now = datetime.now(UTC)
    period = periods.current(kind, now)
    before = periods.previous(kind, period)
    last_year = periods.year_earlier(period)
    return {"": (period.start, period.end), " 环比": (before.start, before.end),
            " 同比": (last_year.start, last_year.end)}


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


async def views(env: console_bench.Env, server: common.ServerProcess, runs: int,
                slow_s: float) -> list[console_bench.Timing]:
    import httpx

    cookie, _ = await console_bench.console_session(env.settings, env.city.dispatcher_id)
    token = next(t for uid, t in env.city.staff_tokens if uid == env.city.dispatcher_id)
    bearer = {"Authorization": f"Bearer {token}"}
    timer = console_bench.SideBySide(server.proc.pid, console_bench.mariadb_pid(env))
    out: list[console_bench.Timing] = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=900.0,
                                 cookies={"gz_console": cookie}) as client:

        async def time_one(label: str, path: str, params: dict[str, str],
                           headers: dict[str, str] | None = None) -> None:
            """The first request is timed too: when it is slower than `slow_s`, it is the only
            one (a view that takes minutes is not repeated)."""
            t = console_bench.Timing(label)

            def send() -> Any:
                return client.get(path, params=params, headers=headers)

            await timer.one(t, send)
            if not t.ms or t.ms[0] <= slow_s * 1000:
                t.ms.clear()
                t.server_cpu = t.db_cpu = 0.0
                await timer.rounds([(t, send)], runs, warm=0)
            else:
                t.label += " (once)"
            print(f"  {t.label}: median {t.median:,.0f} ms ({len(t.ms)} runs)", flush=True)
            out.append(t)

        for kind in PERIODS:
            await time_one(f"console dashboard, {kind}", "/console/dashboard", {"period": kind})
            await time_one(f"console heat.json, {kind}", "/console/dashboard/heat.json",
                           {"period": kind})
            for suffix, (start, end) in windows(kind).items():
                await time_one(f"API summary, {kind}{suffix}", "/api/v1/stats/summary",
                               _window(start, end), bearer)
        for kind in ("month", "year"):
            start, end = windows(kind)[""]
            for by in BREAKDOWNS:
                await time_one(f"API breakdown by {by}, {kind}", "/api/v1/stats/breakdown",
                               {**_window(start, end), "by": by}, bearer)
            await time_one(f"API ranking (evaluation/units), {kind}", "/api/v1/evaluation/units",
                           _window(start, end), bearer)
            if kind == "month":  # side by side: the 考核 export still reads the timelines
                await time_one("API 考核 export (evaluation/units.csv, timelines), month",
                               "/api/v1/evaluation/units.csv", _window(start, end), bearer)
        for by, kind in (("day", "month"), ("week", "year"), ("month", "year")):
            start, end = windows(kind)[""]
            await time_one(f"API trend by {by}, {kind}", "/api/v1/stats/breakdown",
                           {**_window(start, end), "by": by}, bearer)
        start, end = windows("today")[""]
        await time_one("API trend by day, last 7 days (today's)", "/api/v1/stats/breakdown",
                       {**_window(start - timedelta(days=6), end), "by": "day"}, bearer)
    return out


# --- 2. big screens ---------------------------------------------------------------------------

STATEMENTS_ENV = "BENCH_STATEMENTS_FILE"


def count_statements(path: Path) -> None:
    """In the server process: count every statement its aiomysql cursors execute and write the
    running total to `path` twice a second (read by `server_statements`)."""
    import threading

    from aiomysql import cursors

    count = [0]
    original = cursors.Cursor.execute

    async def execute(self: Any, query: Any, args: Any = None) -> Any:
        count[0] += 1
        return await original(self, query, args)

    cursors.Cursor.execute = execute  # type: ignore[method-assign]

    def write() -> None:
        part = path.with_suffix(".part")
        while True:  # replaced whole: a reader never sees a half-written number
            part.write_text(str(count[0]))
            part.replace(path)
            time.sleep(0.5)

    threading.Thread(target=write, daemon=True).start()


def server_statements(path: Path) -> int:
    time.sleep(0.6)  # the file is written twice a second
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


async def display_links(settings: Any, dispatcher_id: int, n: int) -> tuple[list[str], str]:
    """`n` display links for the district (bench set-up, in-process), and the district code."""
    from app.accounts import service as accounts
    from app.areas.models import Area, AreaKind
    from app.core import db
    from app.screen import service

    await db.init_db(settings)
    try:
        actor = await accounts.get_active_user(user_id=dispatcher_id)
        district = await Area.filter(kind=AreaKind.DISTRICT).order_by("id").first()
        assert actor is not None and district is not None
        tokens = []
        for i in range(n):
            _, token = await service.create_link(actor=actor, name=f"压测大屏{i}",
                                                 area_code=district.code)
            tokens.append(token)
        return tokens, district.code
    finally:
        await db.close_db()


async def time_figures(settings: Any, dispatcher_id: int, district: str, runs: int = 3
                       ) -> list[float]:
    """Seconds per computation of the district screen's figures (in-process, uncached)."""
    from app.accounts import service as accounts
    from app.core import db
    from app.screen import service

    await db.init_db(settings)
    try:
        actor = await accounts.get_active_user(user_id=dispatcher_id)
        assert actor is not None
        scope = await service.scope_for(viewer=actor, area_code=district)
        took = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await service.compute(scope)
            took.append(time.perf_counter() - t0)
        return took
    finally:
        await db.close_db()


def db_status(env: console_bench.Env) -> dict[str, int]:
    conn = env.target.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select')")
            return {name: int(value) for name, value in cur.fetchall()}
    finally:
        conn.close()


@dataclass
class ScreenStats:
    events: int = 0
    polls: int = 0
    loads: int = 0
    errors: list[str] = field(default_factory=list)


async def screen(client: Any, token: str, *, sse: bool, refresh_s: float,
                 stats: ScreenStats) -> None:
    """What the screen page's script does: the page, the grid, the figures, then live."""
    base = f"/screen/{token}"
    for path in (base, f"{base}/grid.geojson", f"{base}/data.json"):
        response = await client.get(path)
        if response.status_code != 200:
            stats.errors.append(f"{path.replace(token, '<token>')}: {response.status_code}")
            return
        stats.loads += 1
    if not sse:
        while True:
            await asyncio.sleep(refresh_s)
            response = await client.get(f"{base}/data.json")
            stats.polls += 1
            if response.status_code != 200:
                stats.errors.append(f"poll: {response.status_code}")
    while True:  # the browser reconnects when a stream ends
        async with client.stream("GET", f"{base}/events", timeout=None) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: figures"):
                    stats.events += 1


@dataclass
class Soak:
    label: str
    screens: int
    seconds: float
    questions: int
    selects: int
    stats: ScreenStats
    server_cpu: float
    db_cpu: float
    sent: int = 0  # statements the server process sent (its own count)

    def per_minute(self, count: int, idle_per_s: float) -> float:
        return (count - idle_per_s * self.seconds) / self.seconds * 60


@contextlib.asynccontextmanager
async def screens_on(base_url: str, tokens: list[str], *, polling_share: float,
                     refresh_s: float, stats: ScreenStats):  # type: ignore[no-untyped-def]
    import httpx

    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:
        polling = round(len(tokens) * polling_share) if len(tokens) > 1 else 0
        tasks = [asyncio.create_task(screen(client, tok, sse=i >= polling, refresh_s=refresh_s,
                                            stats=stats)) for i, tok in enumerate(tokens)]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def soak(env: console_bench.Env, server: common.ServerProcess, label: str,
               tokens: list[str], seconds: float, polling_share: float, refresh_s: float
               ) -> Soak:
    stats = ScreenStats()
    async with screens_on(server.base_url, tokens, polling_share=polling_share,
                          refresh_s=refresh_s, stats=stats):
        await asyncio.sleep(min(3.0, seconds / 10))  # every screen has loaded its page
        db_pid = console_bench.mariadb_pid(env)
        counted = env.var_dir / "statements"
        n0 = server_statements(counted)
        s0, c0 = db_status(env), ticket_bench._cpu_seconds(server.proc.pid)
        d0 = ticket_bench._cpu_seconds(db_pid) if db_pid else float("nan")
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - t0
        s1, c1 = db_status(env), ticket_bench._cpu_seconds(server.proc.pid)
        d1 = ticket_bench._cpu_seconds(db_pid) if db_pid else float("nan")
        n1 = server_statements(counted)
    return Soak(label, len(tokens), elapsed, s1["Questions"] - s0["Questions"],
                s1["Com_select"] - s0["Com_select"], stats, c1 - c0, d1 - d0, n1 - n0)


# --- 3. residents' reports with and without the screens --------------------------------------


async def reports(base_url: str, city: ticket_bench.City, *, clients: int, seconds: float,
                  offset: int) -> common.LoadResult:
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:

        async def submit(w: int, seq: int) -> str | None:
            k = offset + seq * clients + w
            r = (k * 7919) % len(city.residents)
            lng, lat = city.points[(k * 31) % len(city.points)]
            response = await client.post(
                "/api/v1/tickets", headers={"Authorization": f"Bearer {city.residents[r][1]}"},
                json={"category_code": ticket_bench.AUTO_CATEGORY,
                      "description": ticket_bench.DESCRIPTIONS[k % 5],
                      "location": {"lng": lng, "lat": lat, "crs": "gcj02"},
                      "address": "任城区古槐路"})
            return None if response.status_code == 201 else \
                f"{response.status_code} {response.text[:200]}"

        return await common.closed_loop("reports", submit, concurrency=clients, seconds=seconds)


async def screens_and_reports(env: console_bench.Env, server: common.ServerProcess,
                              args: argparse.Namespace) -> dict[str, Any]:
    from app.settings import current

    refresh_s = float(os.environ.get("SCREEN_REFRESH_S") or current().screen_refresh_s)
    tokens, district = await display_links(env.settings, env.city.dispatcher_id, args.screens)
    out: dict[str, Any] = {"district": district, "refresh_s": refresh_s,
                           "clients": args.report_clients, "report_seconds": args.report_seconds}
    out["figures_s"] = await time_figures(env.settings, env.city.dispatcher_id, district)
    print("one computation of the district screen's figures (in-process): "
          + ", ".join(f"{t:.2f} s" for t in out["figures_s"]), flush=True)
    # Idle: what the server and the database do with nobody connected.
    s0 = db_status(env)
    t0 = time.perf_counter()
    await asyncio.sleep(args.idle_seconds)
    idle_s = time.perf_counter() - t0
    s1 = db_status(env)
    out["idle_per_s"] = (s1["Questions"] - s0["Questions"]) / idle_s
    out["idle_selects_per_s"] = (s1["Com_select"] - s0["Com_select"]) / idle_s
    out["soaks"] = [
        await soak(env, server, "1 screen (events)", tokens[:1], args.duration, 0.0, refresh_s),
        await soak(env, server, f"{args.screens} screens, {args.screens} links", tokens,
                   args.duration, args.polling_share, refresh_s),
        await soak(env, server, f"{args.screens} screens, 1 link", [tokens[0]] * args.screens,
                   args.duration, args.polling_share, refresh_s),
    ]
    alone, loaded = common.LoadResult("alone"), common.LoadResult("with screens")
    await reports(server.base_url, env.city, clients=args.report_clients, seconds=3, offset=0)
    offset = 100_000
    for r, with_screens in enumerate((False, True, True, False)):
        stats = ScreenStats()
        ctx = screens_on(server.base_url, tokens, polling_share=args.polling_share,
                         refresh_s=refresh_s, stats=stats) if with_screens \
            else contextlib.nullcontext()
        async with ctx:
            if with_screens:
                await asyncio.sleep(3.0)
            result = await reports(server.base_url, env.city, clients=args.report_clients,
                                   seconds=args.report_seconds, offset=offset * (r + 1))
        (loaded if with_screens else alone).merge(result)
    out["reports"] = (alone, loaded)
    return out


# --- main -----------------------------------------------------------------------------------


def print_soaks(out: dict[str, Any]) -> None:
    idle = out["idle_per_s"]
    print(f"\nBig screens on the district's display links (SCREEN_REFRESH_S={out['refresh_s']:g}; "
          f"half of a multi-screen phase polls data.json, the rest keep an event stream); "
          f"idle: {idle:.2f} statements/s, subtracted")
    header = (f"{'phase':<26} | {'seconds':>7} | {'sent/min':>8} | {'x one':>9} | "
              f"{'statements/min':>14} | {'SELECT/min':>10} | "
              f"{'x one screen':>12} | {'events':>6} | {'polls':>5} | {'server CPU %':>12} | "
              f"{'DB CPU %':>8} | errors")
    print("(sent: statements this server process sent, its own count; statements and SELECT: "
          "MariaDB's global counters, less the idle rate: other clients of the same MariaDB "
          "count there too)")
    print(header)
    print("-" * len(header))
    soaks: list[Soak] = out["soaks"]
    one = soaks[0].per_minute(soaks[0].questions, idle)
    sent_one = soaks[0].per_minute(soaks[0].sent, 0.0)
    for s in soaks:
        per_min = s.per_minute(s.questions, idle)
        ratio = per_min / one if one > 0 else float("nan")
        sent = s.per_minute(s.sent, 0.0)
        sent_ratio = sent / sent_one if sent_one > 0 else float("nan")
        verdict = "" if s is soaks[0] else f" {common.mark(sent_ratio <= SCREENS_VS_ONE_TARGET)}"
        print(f"{s.label:<26} | {s.seconds:>7.0f} | {sent:>8.1f} | {sent_ratio:>5.2f}x{verdict:<3}| "
              f"{per_min:>14.1f} | "
              f"{s.per_minute(s.selects, out['idle_selects_per_s']):>10.1f} | "
              f"{ratio:>11.2f}x | {s.stats.events:>6} | {s.stats.polls:>5} | "
              f"{s.server_cpu / s.seconds * 100:>12.1f} | {s.db_cpu / s.seconds * 100:>8.1f} | "
              f"{'; '.join(s.stats.errors[:3])}")
    alone, loaded = out["reports"]
    print(f"\nResidents' reports (POST /api/v1/tickets), closed loop, {out['clients']} clients, "
          f"{out['report_seconds']:g} s rounds alone / with the screens / with / alone:")
    for r in (alone, loaded):
        print(f"  {r.name:<13} {r.ok:>6,} reports, {r.rps:>6.1f}/s, p50 {r.pct(50):>6.1f} ms, "
              f"p95 {r.pct(95):>6.1f} ms, errors {r.errors} {'; '.join(r.error_samples[:2])}")
    growth = loaded.pct(95) / alone.pct(95) - 1
    print(f"  p95 with the screens: {growth:+.1%} of p95 alone (target <= "
          f"+{REPORT_P95_TARGET:.0%}) {common.mark(growth <= REPORT_P95_TARGET)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    console_bench.add_env_arguments(parser)
    parser.add_argument("--runs", type=int, default=5, help="timed requests of each view")
    parser.add_argument("--slow-seconds", type=float, default=20.0,
                        help="a view whose first request takes longer is timed once")
    parser.add_argument("--duration", type=float, default=300.0,
                        help="seconds per screen phase (default 300, the issue's 5 minutes)")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--polling-share", type=float, default=0.5,
                        help="share of the screens that poll instead of keeping a stream")
    parser.add_argument("--report-seconds", type=float, default=30.0,
                        help="seconds per reports round (4 rounds)")
    parser.add_argument("--report-clients", type=int, default=4)
    parser.add_argument("--skip-views", action="store_true")
    parser.add_argument("--skip-screens", action="store_true")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server child
    args = parser.parse_args(argv)
    if args.serve_port:
        if counted := os.environ.get(STATEMENTS_ENV):
            count_statements(Path(counted))
        ticket_bench.serve(args.serve_port)
        return 0
    env = console_bench.open_env(args, "dashboard")
    try:
        server = console_bench.start_server(
            env, Path(__file__).resolve(), {STATEMENTS_ENV: str(env.var_dir / "statements")})
        try:
            if not args.skip_views:
                timings = asyncio.run(views(env, server, args.runs, args.slow_seconds))
                load = os.getloadavg()
                console_bench.print_timings(
                    f"\nDashboard views as the district dispatcher over {env.rows:,} tickets, one "
                    f"Sanic process, requests one at a time (median of {args.runs} after a first "
                    f"one; only the first when it took over {args.slow_seconds:g} s); load average {load[0]:.1f} / {load[1]:.1f}",
                    timings, VIEW_TARGET_MS)
            if not args.skip_screens:
                print_soaks(asyncio.run(screens_and_reports(env, server, args)))
        except BaseException:
            print("server log (tail):\n" + server.tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    finally:
        console_bench.close_env(env, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
