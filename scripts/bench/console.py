"""Benchmark the console's workbench and case pages at 1,000,000 tickets on MariaDB/MySQL.

Usage: python scripts/bench/console.py [--database-url mysql://...] [--rows 1000000]
       [--database gongzhi_bench_<name>] [--keep] [--runs 15] [--load-only]
       [--same-kind-open N]

It loads a district of `--rows` tickets (the ticket bench's generator, scripts/bench/tickets.py:
the demo district, a few hundred residents, tickets written in SQL in their final states, the
daily rollups recounted), or reuses the database named by `--database` when it is already
loaded; `--keep` leaves it for the next run (scripts/bench/dashboard.py takes the same flags).
Then, against one Sanic process (`create_app()`, started by this script in a subprocess):

1. The workbench list as the district dispatcher, for a few filter sets (a queue tab, category
   + overdue, a community + a date range, a keyword): the full page, the htmx fragment a filter
   change swaps in, and `GET /api/v1/tickets` with the same filters where the API has them,
   requested one after the other (console, fragment, API, console, ...) so that load from other
   processes hits all alike. Median and p90 latency, and the server's CPU time per request.
   The queue tabs' six counts are not part of the list (the tabs load them from
   /console/queue-counts, cached per scope for a few seconds): timed apart, fresh and cached.
2. A case: `/console/tickets/<id>` (page and side panel) and `GET /api/v1/tickets/<id>`, for
   cases filed through the API (with a timeline) and generated ones.
3. The map data: the grid GeoJSON (size, cells) and the markers the page embeds; a
   bounds-limited marker endpoint when the app has one.

Targets (issue 12): each list and the case answer within 300 ms at the median; the console's
list costs at most 2x the API's for the same query. A throw-away database is dropped at the end
unless `--keep`. See docs/benchmarks.md ("Console").
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, tickets

import _common as common  # puts the repository root on sys.path
import tickets as ticket_bench

LIST_TARGET_MS = 300.0
CONSOLE_VS_API_TARGET = 2.0
ROWS_DEFAULT = 1_000_000


def _rows(value: str) -> int:
    return int(value.replace("_", "").replace(",", ""))


# --- the database: loaded once, reused by console.py and dashboard.py ---------------------------


@dataclass
class Env:
    """A loaded bench database, the settings to reach it and the server's environment."""

    target: common.MySQLTarget
    database: str
    settings: Any
    overrides: dict[str, str]
    var_dir: Path
    city: ticket_bench.City
    rows: int
    created: bool
    notes: list[str] = field(default_factory=list)


def add_env_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="mysql://user:pass@host:port/any — the bench database lives next to "
                        "it (default: $DATABASE_URL)")
    parser.add_argument("--redis-url", default=None,
                        help="default: $REDIS_URL on logical database 15; 'none' for none")
    parser.add_argument("--database", default="",
                        help="a bench database name (gongzhi_bench_...): reused when it is "
                        "loaded, else created and loaded; default: a throw-away one")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database at the end (to reuse it with --database)")
    parser.add_argument("--rows", type=_rows, default=ROWS_DEFAULT)
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)


def _exists(target: common.MySQLTarget, database: str) -> bool:
    conn = target.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s",
                        (database,))
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


def scalar(target: common.MySQLTarget, database: str | None, statement: str) -> Any:
    conn = target.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone()[0]
    finally:
        conn.close()


async def existing_city(settings: Any) -> ticket_bench.City:
    """The City of a database `tickets.set_up` loaded before, with fresh tokens."""
    import shapely
    from shapely.geometry import shape

    from app.accounts.models import User
    from app.areas.models import Area, AreaKind
    from app.core import db
    from app.core.security import issue_access_token
    from app.units.models import Unit, UnitKind

    await db.init_db(settings)
    try:
        ids = await User.filter(openid__startswith="dev-bench-").order_by("id").values_list(
            "id", flat=True)
        residents = [(uid, issue_access_token(uid)[0]) for uid in ids]
        teams = {u.area_id: u.id for u in await Unit.filter(kind=UnitKind.GRID_TEAM)}
        cells = []
        for area in await Area.filter(kind=AreaKind.GRID).order_by("code"):
            inside = shapely.point_on_surface(shape(area.geometry))
            cells.append({"id": area.id, "path": area.path, "lng": inside.x, "lat": inside.y,
                          "team": teams.get(area.parent_id)})
        from app.areas.geo import wgs84_to_gcj02

        points = [wgs84_to_gcj02(c["lng"], c["lat"]) for c in cells]
        admin = await User.get(username="admin")
        worker = await User.get(username="grid_worker")
        dispatcher = await User.get(username="dispatcher")
        return ticket_bench.City(
            residents=residents, points=points, admin_id=admin.id, grid_worker_id=worker.id,
            dispatcher_id=dispatcher.id,
            staff_tokens=[(dispatcher.id, issue_access_token(dispatcher.id)[0])], cells=cells)
    finally:
        await db.close_db()


async def rebuild_rollups(settings: Any) -> int:
    from app.core import db
    from app.stats import service

    await db.init_db(settings)
    try:
        return int(await service.rebuild())
    finally:
        await db.close_db()


def fill_enum_defaults(target: common.MySQLTarget, database: str) -> list[str]:
    """Give enum columns the generator left empty their model default.

    `tickets.generate_tickets` writes '' into NOT NULL columns it does not know (added after
    it was written); an enum column holding '' cannot be read back by the ORM.
    """
    from tortoise.fields.data import CharEnumFieldInstance

    from app.tickets.models import Ticket

    fixed = []
    conn = target.connect(database)
    try:
        with conn.cursor() as cur:
            for name, f in Ticket._meta.fields_map.items():
                if isinstance(f, CharEnumFieldInstance) and f.default is not None \
                        and not callable(f.default):
                    column = f.source_field or name  # a model's column name, not input
                    statement = f"UPDATE tickets SET `{column}` = %s WHERE `{column}` = ''"  # noqa: S608
                    cur.execute(statement, (str(f.default.value),))
                    if cur.rowcount:
                        fixed.append(f"{column}: {cur.rowcount:,} rows set to {f.default.value}")
    finally:
        conn.close()
    return fixed


def open_env(args: argparse.Namespace, tag: str) -> Env:
    """Reuse `--database` when it holds the tickets, else create and load it."""
    if not args.database_url:
        raise SystemExit("--database-url or DATABASE_URL is required (MariaDB/MySQL)")
    target = common.MySQLTarget.from_url(args.database_url)
    database = args.database or common.new_bench_database_name(tag)
    if not database.startswith(common.BENCH_DB_PREFIX):
        raise SystemExit(f"--database must start with {common.BENCH_DB_PREFIX}")
    if args.redis_url is None:
        env_redis = os.environ.get("REDIS_URL", "")
        args.redis_url = ticket_bench._redis_url(env_redis, 15) if env_redis else "none"
    redis_url = "" if args.redis_url == "none" else args.redis_url
    jwt_secret = secrets.token_urlsafe(32)
    var_dir = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))
    bench_url = target.url(database)
    overrides = {
        "APP_ENV": "test", "DATABASE_URL": bench_url, "REDIS_URL": redis_url,
        "JOBS_IN_PROCESS": "false", "RATE_WRITES_PER_MINUTE": "100000000",
        "RATE_LOGIN_PER_MINUTE": "100000000", "JWT_SECRET": jwt_secret, "ACCESS_TOKEN_TTL": "7200", "VAR_DIR": str(var_dir),
        "WECHAT_APPID": "",
    }
    from app.settings import configure

    settings = configure(app_env="test", database_url=bench_url, redis_url="",
                         jwt_secret=jwt_secret, access_token_ttl=7200, var_dir=var_dir,
                         db_timeout=120.0)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; database {database} on "
          f"{target.host}:{target.port} ({scalar(target, None, 'SELECT VERSION()')}); redis "
          f"{redis_url or 'none'}")
    if _exists(target, database):
        have = int(scalar(target, database, "SELECT COUNT(*) FROM tickets"))
        if have < args.rows:
            raise SystemExit(f"{database} holds {have:,} tickets, fewer than --rows {args.rows:,}"
                             "; drop it or pick another name")
        for note in fill_enum_defaults(target, database):
            print(f"  fixed generated rows: {note}")
        city = asyncio.run(existing_city(settings))
        print(f"reusing {database}: {have:,} tickets, {len(city.cells)} cells, "
              f"{len(city.residents)} residents")
        return Env(target, database, settings, overrides, var_dir, city, have, created=False)
    common.create_database(target, database)
    env = Env(target, database, settings, overrides, var_dir,
              ticket_bench.City([], [], 0, 0, 0, []), args.rows, created=True)
    try:
        t0 = time.perf_counter()
        env.city = asyncio.run(ticket_bench.set_up(settings, args.residents))
        print(f"set-up: migrations, demo district, {len(env.city.residents)} residents in "
              f"{time.perf_counter() - t0:.0f} s")
        now = datetime.now(UTC).replace(microsecond=0)
        gen_s = ticket_bench.generate_tickets(target, database, env.city, args.rows, now,
                                              args.seed)
        for note in fill_enum_defaults(target, database):
            print(f"  fixed generated rows: {note}")
        t0 = time.perf_counter()
        read = asyncio.run(rebuild_rollups(settings))
        print(f"{args.rows:,} tickets generated in {gen_s:.0f} s; daily rollups recounted from "
              f"{read:,} tickets in {time.perf_counter() - t0:.0f} s")
    except BaseException:
        close_env(env, keep=False)
        raise
    return env


def close_env(env: Env, *, keep: bool) -> None:
    """Drop the database this run created, unless `keep`; a reused one is never dropped."""
    if keep or not env.created:
        print(f"kept {env.database} (reuse it with --database {env.database})")
    else:
        common.drop_database(env.target, env.database)
        print(f"dropped {env.database}")
    shutil.rmtree(env.var_dir, ignore_errors=True)


def start_server(env: Env, script: Path, extra_env: dict[str, str] | None = None
                 ) -> common.ServerProcess:
    """One Sanic process: `create_app()` (tickets.py `serve`), in a subprocess."""
    port = common.free_port()
    server = common.ServerProcess(
        [sys.executable, str(script), "--serve-port", str(port)],
        env={**os.environ, **env.overrides, **(extra_env or {})}, port=port,
        log_path=env.var_dir / f"server-{port}.log")
    server.wait_ready(timeout=120)
    return server


def mariadb_pid(env: Env) -> int | None:
    """This database server's pid (from its pid file), to read its CPU time."""
    try:
        path = scalar(env.target, None, "SELECT @@pid_file")
        return int(Path(str(path)).read_text().strip())
    except (OSError, ValueError):
        return None


async def console_session(settings: Any, user_id: int) -> tuple[str, str]:
    """A console session for `user_id` (its cookie value and CSRF token), as sign-in makes one
    (bench set-up: no password involved)."""
    from app.console.models import ConsoleSession
    from app.core import db

    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await db.init_db(settings)
    try:
        await ConsoleSession.create(token_hash=hashlib.sha256(token.encode()).hexdigest(),
                                    user_id=user_id, csrf_token=csrf, ip="127.0.0.1",
                                    last_seen_at=datetime.now(UTC))
    finally:
        await db.close_db()
    return token, csrf


# --- timing requests one at a time, side by side -------------------------------------------------


@dataclass
class Timing:
    """One request kind: latencies (ms), server and database CPU (s), bytes of the last body."""

    label: str
    ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    size: int = 0
    status: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return common.median(self.ms)

    def pct(self, q: float) -> float:
        if not self.ms:
            return float("nan")
        data = sorted(self.ms)
        return data[min(len(data) - 1, max(0, round(q / 100 * len(data) + 0.5) - 1))]

    def cpu_ms(self, seconds: float) -> float:
        return seconds / len(self.ms) * 1000 if self.ms else float("nan")


Send = Callable[[], Awaitable[Any]]  # returns an httpx.Response


class SideBySide:
    """Sends requests one at a time and charges each the server's CPU time it took."""

    def __init__(self, server_pid: int, db_pid: int | None) -> None:
        self.server_pid, self.db_pid = server_pid, db_pid

    async def one(self, timing: Timing, send: Send, expect: int = 200) -> None:
        s0 = ticket_bench._cpu_seconds(self.server_pid)
        d0 = ticket_bench._cpu_seconds(self.db_pid) if self.db_pid else 0.0
        t0 = time.perf_counter()
        response = await send()
        ms = (time.perf_counter() - t0) * 1000
        timing.server_cpu += ticket_bench._cpu_seconds(self.server_pid) - s0
        if self.db_pid:
            timing.db_cpu += ticket_bench._cpu_seconds(self.db_pid) - d0
        timing.status, timing.size = response.status_code, len(response.content)
        if response.status_code != expect:
            if len(timing.errors) < 3:
                timing.errors.append(f"{response.status_code} {response.text[:200]}")
            return
        timing.ms.append(ms)

    async def rounds(self, pairs: list[tuple[Timing, Send]], runs: int, warm: int = 1) -> None:
        """`warm` untimed rounds, then `runs` rounds of every request in turn (order rotated)."""
        for _ in range(warm):
            for _timing, send in pairs:
                await send()
        for r in range(runs):
            k = r % len(pairs)
            for timing, send in pairs[k:] + pairs[:k]:
                await self.one(timing, send)


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (a CJK character takes two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def print_timings(title: str, rows: list[Timing], target_ms: float | None) -> None:
    print(title)
    header = (f"{'request':<58} | {'median ms':>9} | {'p90 ms':>7} | {'n':>3} | "
              f"{'server CPU ms/req':>17} | {'DB CPU ms/req':>13} | {'KB':>7} | verdict")
    print(header)
    print("-" * len(header))
    for t in rows:
        verdict = common.mark(t.median <= target_ms) if target_ms and t.ms else ""
        print(f"{pad(t.label, 58)} | {t.median:>9.1f} | {t.pct(90):>7.1f} | {len(t.ms):>3} | "
              f"{t.cpu_ms(t.server_cpu):>17.1f} | {t.cpu_ms(t.db_cpu):>13.1f} | "
              f"{t.size / 1024:>7.1f} | {verdict}")
        for e in t.errors:
            print(f"    error: {e}")


@dataclass(frozen=True)
class FilterSet:
    label: str
    console: dict[str, str]
    api: dict[str, str] | None  # None: the API has no such filter
    api_note: str = ""


def filter_sets(env: Env) -> list[FilterSet]:
    """Realistic views of a district dispatcher: a tab, category + overdue, a community and a
    month, a keyword (common and absent: the absent one reads every row it may)."""
    parts = env.city.cells[0]["path"].strip("/").split("/")
    community = parts[2]
    today = datetime.now(UTC).date()
    month = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    return [
        FilterSet("tab 待受理 (submitted)", {"queue": "accept"}, {"status": "submitted"}),
        FilterSet("tab 超期/即将超期", {"queue": "due"}, {"overdue": "true"},
                  "API: overdue=true (it has no 'due within 24 h')"),
        FilterSet("tab 全部, no filter", {"queue": "all"}, {}),
        FilterSet("全部 + 大类 10 + overdue", {"queue": "all", "category": "10",
                                              "deadline": "overdue"},
                  {"category": "10", "overdue": "true"}),
        FilterSet(f"全部 + community {community} + 30 days",
                  {"queue": "all", "area": community, **month}, {"area": community},
                  "API: the community only (it has no date filter)"),
        FilterSet("全部 + keyword 垃圾 (common)", {"queue": "all", "q": "垃圾"}, None),
        FilterSet("全部 + keyword 楼道 (absent), default window", {"queue": "all", "q": "楼道"},
                  None),
        FilterSet("全部 + keyword 楼道 (absent), 30 days", {"queue": "all", "q": "楼道",
                  "from": (today - timedelta(days=29)).isoformat()}, None),
        FilterSet("全部 + keyword 楼道 (absent), 1 year", {"queue": "all", "q": "楼道",
                  "from": (today - timedelta(days=365)).isoformat()}, None),
        *([FilterSet("全部 + keyword = a case number", {"queue": "all", "q": number}, None)]
          if (number := oldest_number(env)) else []),
    ]


def oldest_number(env: Env) -> str | None:
    """A case number to type into the keyword box (the oldest case: found at any date)."""
    found = scalar(env.target, env.database,
                   "SELECT number FROM tickets WHERE number IS NOT NULL ORDER BY id LIMIT 1")
    return str(found) if found else None


async def file_reports(base_url: str, city: ticket_bench.City, n: int) -> list[int]:
    """`n` reports through the API (auto-accepted and dispatched: cases with a timeline)."""
    import httpx

    ids = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        for k in range(n):
            lng, lat = city.points[(k * 7) % len(city.points)]
            response = await client.post(
                "/api/v1/tickets", headers={"Authorization": f"Bearer {city.residents[k][1]}"},
                json={"category_code": ticket_bench.AUTO_CATEGORY,
                      "description": ticket_bench.DESCRIPTIONS[k % 5],
                      "location": {"lng": lng, "lat": lat, "crs": "gcj02"},
                      "address": "任城区古槐路"})
            if response.status_code != 201:
                raise RuntimeError(f"report refused: {response.status_code} {response.text[:300]}")
            ids.append(int(response.json()["id"]))
    return ids


def crowd_same_kind(env: Env, n: int) -> int:
    """Write `n` more open cases of the 小类 the bench files (`AUTO_CATEGORY`) across the
    district, as the report benches leave them (~30 per cell point at 10,000): copies of the
    newest generated dispatched cases, moved to that 小类, created now (ids still follow time).
    The case pages of the filed reports then look up 相同问题 among thousands of open cases of
    their 小类, few of them near."""
    conn = env.target.connect(env.database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM categories WHERE code = %s", (ticket_bench.AUTO_CATEGORY,))
            (category_id,) = cur.fetchone()
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "%s AND table_name = 'tickets' AND column_name NOT IN ('id', 'number', "
                        "'category_id', 'created_at') ORDER BY ordinal_position", (env.database,))
            names = ", ".join(f"`{name}`" for (name,) in cur.fetchall())
            cur.execute(f"INSERT INTO tickets (number, category_id, created_at, {names}) "  # noqa: S608
                        f"SELECT CONCAT('C', id), %s, UTC_TIMESTAMP(6), {names} FROM tickets "
                        "WHERE status = 'dispatched' AND number LIKE 'B%%' ORDER BY id DESC "
                        "LIMIT %s", (category_id, n))
            written = int(cur.rowcount)
            cur.execute("ANALYZE TABLE tickets")
            cur.fetchall()
    finally:
        conn.close()
    return written


def generated_ids(env: Env) -> dict[str, int]:
    """One generated case per status worth opening (the newest of each)."""
    conn = env.target.connect(env.database)
    out = {}
    try:
        with conn.cursor() as cur:
            for status in ("submitted", "claimed", "closed"):
                cur.execute("SELECT MAX(id) FROM tickets WHERE status = %s AND number LIKE 'B%%'",
                            (status,))
                (found,) = cur.fetchone()
                if found:
                    out[status] = int(found)
    finally:
        conn.close()
    return out


async def bench(env: Env, server: common.ServerProcess, runs: int) -> dict[str, Any]:
    import httpx

    cookie, _csrf = await console_session(env.settings, env.city.dispatcher_id)
    token = next(t for uid, t in env.city.staff_tokens if uid == env.city.dispatcher_id)
    bearer = {"Authorization": f"Bearer {token}"}
    htmx = {"HX-Request": "true", "HX-Target": "queue-body"}
    timer = SideBySide(server.proc.pid, mariadb_pid(env))
    out: dict[str, Any] = {"lists": [], "cases": [], "map": []}
    filed = await file_reports(server.base_url, env.city, 5)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120.0,
                                 cookies={"gz_console": cookie}) as client:

        def get(path: str, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Send:
            return lambda: client.get(path, params=params, headers=headers)

        for fs in filter_sets(env):
            page, fragment = Timing(f"{fs.label}: page"), Timing(f"{fs.label}: fragment")
            pairs = [(page, get("/console/", fs.console)),
                     (fragment, get("/console/", fs.console, htmx))]
            api = None
            if fs.api is not None:
                api = Timing(f"{fs.label}: API")
                pairs.append((api, get("/api/v1/tickets", {**fs.api, "limit": "50"}, bearer)))
            await timer.rounds(pairs, runs)
            out["lists"].append((fs, page, fragment, api))

        tabs = {"HX-Request": "true"}
        fresh = Timing("tab counts, fresh (/console/queue-counts?fresh=1)")
        cached = Timing("tab counts, cached (/console/queue-counts)")
        await timer.rounds([(fresh, get("/console/queue-counts", {"fresh": "1"}, tabs)),
                            (cached, get("/console/queue-counts", None, tabs))], runs)
        out["counts"] = [fresh, cached]

        cases = [(f"filed via API #{i}", i) for i in filed[:3]]
        cases += [(f"generated, {status}", i) for status, i in generated_ids(env).items()]
        for label, ticket_id in cases:
            page, panel = Timing(f"case {label}: page"), Timing(f"case {label}: panel")
            api = Timing(f"case {label}: API")
            await timer.rounds([(page, get(f"/console/tickets/{ticket_id}")),
                                (panel, get(f"/console/tickets/{ticket_id}", None,
                                            {"HX-Request": "true"})),
                                (api, get(f"/api/v1/tickets/{ticket_id}", None, bearer))], runs)
            out["cases"].append((page, panel, api))

        grid = Timing("GET /console/map/grid.geojson")
        await timer.rounds([(grid, get("/console/map/grid.geojson"))], runs)
        response = await client.get("/console/map/grid.geojson")
        cells = len(response.json()["features"]) if response.status_code == 200 else 0
        out["map"].append((grid, f"{cells} cells"))
        page = await client.get("/console/", params={"queue": "all"})
        marker_bytes = _embedded_markers(page.text)
        out["map"].append((None, f"markers embedded in the page: {marker_bytes[0]} "
                                 f"({marker_bytes[1] / 1024:.1f} KB of JSON)"))
        for path, params in bounds_endpoints(env):
            where = "the district" if params["bbox"] == _bbox(env.city.cells, 0.01) else \
                "one community"
            t = Timing(f"GET {path}, tab {params['queue']}, {where}")
            await timer.rounds([(t, get(path, params))], runs)
            response = await client.get(path, params=params)
            body = response.json() if response.status_code == 200 else {}
            out["map"].append((t, f"{len(body.get('items', []))} markers, truncated "
                                  f"{body.get('truncated')}"))
    return out


def _embedded_markers(html: str) -> tuple[int, int]:
    """How many markers the workbench page embeds, and their JSON's size."""
    import json
    import re

    found = re.search(r'data-markers="([^"]*)"|id="markers"[^>]*>(.*?)</script>', html, re.S)
    if not found:
        return 0, 0
    import html as html_lib

    raw = html_lib.unescape(found.group(1) or found.group(2) or "[]")
    try:
        return len(json.loads(raw)), len(raw.encode())
    except ValueError:
        return 0, len(raw.encode())


def _bbox(cells: list[dict[str, Any]], margin: float) -> str:
    lngs, lats = [c["lng"] for c in cells], [c["lat"] for c in cells]
    return (f"{min(lngs) - margin:.5f},{min(lats) - margin:.5f},{max(lngs) + margin:.5f},"
            f"{max(lats) + margin:.5f}")


def bounds_endpoints(env: Env) -> list[tuple[str, dict[str, str]]]:
    """`/console/map/cases.json` (the list's view inside the map's bounds, at most MAP_LIMIT
    markers) for the whole district and one community, when the app has the route."""
    routes = (common.ROOT / "app" / "console" / "routes.py").read_text(encoding="utf-8")
    if '"/map/cases.json"' not in routes:
        return []
    cells = env.city.cells
    community = "/".join(cells[0]["path"].split("/")[:4]) + "/"
    mine = [c for c in cells if c["path"].startswith(community)]
    district, one = _bbox(cells, 0.01), _bbox(mine, 0.002)
    path = "/console/map/cases.json"
    return [(path, {"queue": "accept", "bbox": district}),
            (path, {"queue": "due", "bbox": district}),
            (path, {"queue": "all", "bbox": district}),
            (path, {"queue": "all", "bbox": one})]


def run(env: Env, args: argparse.Namespace) -> None:
    server = start_server(env, Path(__file__).resolve())
    try:
        out = asyncio.run(bench(env, server, args.runs))
        if any(t.errors for trio in [*out["lists"], *out["cases"]] for t in trio
               if isinstance(t, Timing)):
            print("server log (tail):\n" + server.tail(60), file=sys.stderr)
    except BaseException:
        print("server log (tail):\n" + server.tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
    load = os.getloadavg()
    print(f"\nOne Sanic process, requests one at a time ({args.runs} timed rounds after one "
          f"warm-up, the kinds interleaved), as the district dispatcher over {env.rows:,} "
          f"tickets; load average {load[0]:.1f} / {load[1]:.1f} at the end")
    rows = [t for fs, page, frag, api in out["lists"] for t in (page, frag, api) if t]
    print_timings("\nThe workbench list (50 rows) and GET /api/v1/tickets (limit=50)", rows,
                  LIST_TARGET_MS)
    print_timings("\nThe queue tabs' six counts (a request of their own, not the list's)",
                  out["counts"], None)
    print(f"\nConsole list / API list (target <= {CONSOLE_VS_API_TARGET:g}x), by median "
          "latency and by server CPU per request:")
    for fs, page, frag, api in out["lists"]:
        if api is None or not api.ms:
            print(f"  {fs.label}: no API equivalent")
            continue
        for what, t in (("page", page), ("fragment", frag)):
            lat = t.median / api.median
            cpu = t.cpu_ms(t.server_cpu) / api.cpu_ms(api.server_cpu) if api.server_cpu else \
                float("nan")
            print(f"  {fs.label}, {what}: {lat:.2f}x latency, {cpu:.2f}x server CPU "
                  f"{common.mark(lat <= CONSOLE_VS_API_TARGET)}"
                  f"{'; ' + fs.api_note if fs.api_note else ''}")
    print_timings("\nA case: the console page, its side panel (htmx) and GET /api/v1/tickets/{id}",
                  [t for trio in out["cases"] for t in trio], LIST_TARGET_MS)
    print("\nMap data:")
    for t, note in out["map"]:
        if t is None:
            print(f"  {note}")
        else:
            print(f"  {t.label}: median {t.median:.1f} ms, {t.size / 1024:.1f} KB, server CPU "
                  f"{t.cpu_ms(t.server_cpu):.1f} ms/req; {note}")
    if not bounds_endpoints(env):
        print("  no bounds-limited marker endpoint in the app yet")


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_arguments(parser)
    parser.add_argument("--runs", type=int, default=15, help="timed requests of each kind")
    parser.add_argument("--load-only", action="store_true",
                        help="load (or check) the database and stop; with --keep")
    parser.add_argument("--same-kind-open", type=_rows, default=0, metavar="N",
                        help="first write N open cases of the filed reports' 小类 across the "
                        "district (the 相同问题 look-up's worst case; docs/benchmarks.md)")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server child
    args = parser.parse_args(argv)
    if args.serve_port:
        ticket_bench.serve(args.serve_port)
        return 0
    env = open_env(args, "console")
    try:
        if args.same_kind_open:
            print(f"wrote {crowd_same_kind(env, args.same_kind_open):,} open cases of "
                  f"{ticket_bench.AUTO_CATEGORY} across the district")
        if not args.load_only:
            run(env, args)
    finally:
        close_env(env, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
