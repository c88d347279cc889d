"""Benchmark: 10,000 residents answer one poll at once; then the results query at that size.

Usage: python scripts/bench/polls.py [--voters 10000] [--replays 1000] [--concurrency 200]
       [--via http|service] [--named] [--database-url mysql://user:pass@host:port/any]

In-process, no server: `create_app()` served over httpx's ASGITransport (`--via http`, the
default: token check, write throttle, JSON parsing, the service, the envelope), or the service
layer called directly (`--via service`). SQLite in a temporary folder by default; with
--database-url a throw-away database `gongzhi_bench_polls_<pid>_<hex>` on that MySQL/MariaDB
server, dropped at the end (also on failure). Nothing else on the server is touched.

1. Votes: every resident submits one response, `--replays` of them a second time at the same
   moment (a double tap); all requests in flight together, at most --concurrency at a time.
   Checked: exactly `voters` 201s and `replays` 409 already_voted, and the results equal the
   tallies of the answers that were sent, option by option.
   Side by side with the same concurrency, one request per resident, half before and half
   after the votes: `GET /healthz` (the framework's floor) and `GET /api/v1/me` (token check +
   the user's row, grants and home area), so the ratios mean something on a shared machine.
2. Results at that size, median of --repeats, interleaved: `results()` (totals, free-text
   sample), `results(by=community)`, `results(by=grid)`, the same over HTTP, the summary CSV
   and the all-texts CSV, each against the floor `SELECT COUNT(*)` of the poll's ballots.
See docs/benchmarks.md (Polls).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common  # puts the repository root on sys.path
import httpx
from tortoise import Tortoise, connections

from app import settings as settings_module

GRIDS_PER_COMMUNITY = 4
TEXTS = ["希望增加充电桩", "晚上路灯太暗", "非机动车乱停", "支持改造", "注意施工噪音"]


# --- data -------------------------------------------------------------------------------------


async def build_town(n_voters: int) -> tuple[Any, list[int], list[str]]:
    """A district › 2 streets › 4 communities › 16 cells, one staff member, n residents."""
    from app.accounts.models import Role, RoleGrant, User
    from app.areas.models import Area, AreaKind

    district = await Area.create(code="990100", name="测试区", kind=AreaKind.DISTRICT,
                                 path="/990100/")
    grids: list[Area] = []
    for s in (1, 2):
        street = await Area.create(code=f"990100{s:03d}", name=f"第{s}街道", parent=district,
                                   kind=AreaKind.STREET, path=f"{district.path}990100{s:03d}/")
        for c in (1, 2):
            code = f"{street.code}{c:03d}"
            community = await Area.create(code=code, name=f"{s}街第{c}社区", parent=street,
                                          kind=AreaKind.COMMUNITY, path=f"{street.path}{code}/")
            for g in range(1, GRIDS_PER_COMMUNITY + 1):
                grids.append(await Area.create(
                    code=f"{code}{g:03d}", name=f"{s}街{c}社区第{g}网格", parent=community,
                    kind=AreaKind.GRID, path=f"{community.path}{code}{g:03d}/"))
    staff = await User.create(username="bench-staff", display_name="王社区", surname="王")
    await RoleGrant.create(user=staff, role=Role.COMMUNITY_STAFF, area=district)
    await User.bulk_create([
        User(openid=f"bench-{i}", display_name=f"居民{i}", home_area_id=grids[i % len(grids)].id)
        for i in range(n_voters)], batch_size=1000)
    ids = await User.filter(openid__startswith="bench-").order_by("id").values_list("id",
                                                                                    flat=True)
    return staff, list(ids), [g.path for g in grids]


def poll_body(named: bool) -> Any:
    from app.polls.schemas import PollCreate

    return PollCreate.model_validate({
        "area_code": "990100", "title": "全区停车改造意见征集",
        "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "is_anonymous": not named, "results_visibility": "after_vote",
        "questions": [
            {"kind": "single", "prompt": "您是否支持改造？",
             "options": [{"id": "yes", "label": "支持"}, {"id": "no", "label": "不支持"},
                         {"id": "unsure", "label": "说不清"}]},
            {"kind": "multiple", "prompt": "希望增加的设施（最多三项）", "max_choices": 3,
             "options": [{"label": x} for x in ("充电桩", "车棚", "绿化", "照明", "监控")]},
            {"kind": "scale", "prompt": "对目前停车秩序的满意度"},
            {"kind": "text", "prompt": "其他建议", "required": False, "max_length": 200},
        ]})


def make_answers(poll: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    by_kind = {q["kind"]: q for q in poll["questions"]}
    multiple = by_kind["multiple"]
    out = [
        {"question_id": by_kind["single"]["id"],
         "option_ids": [rng.choice(["yes", "yes", "no", "unsure"])]},
        {"question_id": multiple["id"], "option_ids": rng.sample(
            [o["id"] for o in multiple["options"]], rng.randint(1, 3))},
        {"question_id": by_kind["scale"]["id"], "value": rng.randint(1, 5)},
    ]
    if rng.random() < 0.3:
        out.append({"question_id": by_kind["text"]["id"], "text": rng.choice(TEXTS)})
    return {"answers": out}


@dataclass
class Expected:
    """What the results must say, tallied from the answers actually sent."""

    respondents: int = 0
    answered: Counter = field(default_factory=Counter)
    options: Counter = field(default_factory=Counter)
    scale: Counter = field(default_factory=Counter)

    def add(self, body: dict[str, Any]) -> None:
        self.respondents += 1
        for a in body["answers"]:
            self.answered[a["question_id"]] += 1
            for option in a.get("option_ids", []):
                self.options[(a["question_id"], option)] += 1
            if "value" in a:
                self.scale[(a["question_id"], a["value"])] += 1


def check_results(results: Any, expected: Expected) -> list[str]:
    problems = []
    if results.respondent_count != expected.respondents:
        problems.append(f"respondents {results.respondent_count} != {expected.respondents}")
    for q in results.questions:
        if q.answered != expected.answered[q.question_id]:
            problems.append(f"question {q.position}: answered {q.answered}")
        for o in q.options:
            if o.count != expected.options[(q.question_id, o.id)]:
                problems.append(f"question {q.position} option {o.id}: {o.count}")
        for s in q.scale:
            if s.count != expected.scale[(q.question_id, s.value)]:
                problems.append(f"question {q.position} value {s.value}: {s.count}")
    return problems


# --- timing -----------------------------------------------------------------------------------


async def run_all(calls: list[Callable[[], Awaitable[int]]], concurrency: int
                  ) -> tuple[float, Counter]:
    """Start every call at once, at most `concurrency` in flight; (seconds, status counts)."""
    gate = asyncio.Semaphore(concurrency or len(calls) or 1)  # 0: no limit

    async def one(call: Callable[[], Awaitable[int]]) -> int:
        async with gate:
            return await call()

    t0 = time.perf_counter()
    statuses = await asyncio.gather(*[one(c) for c in calls])
    return time.perf_counter() - t0, Counter(statuses)


async def median_ms(fns: dict[str, Callable[[], Awaitable[Any]]], repeats: int
                    ) -> dict[str, float]:
    """Median milliseconds of each function, run in turn within each round (interleaved, so
    load from other processes hits all of them alike)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        await fn()  # warm up
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


# --- the run ----------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> int:
    from tortoise.migrations.api import migrate

    from app.accounts import service as accounts
    from app.core import security
    from app.core.db import tortoise_config
    from app.main import create_app
    from app.polls import queries as poll_reads
    from app.polls import service as polls
    from app.polls.models import PollAnswer, PollBallot
    from app.polls.schemas import ResponseIn

    # Never the database named in --database-url: a throw-away one beside it.
    target = common.MySQLTarget.from_url(args.database_url) if args.database_url else None
    mysql_db = common.new_bench_database_name("polls") if target else None
    folder = Path(tempfile.mkdtemp(prefix="gongzhi-bench-polls-"))  # removed at the end
    url = target.url(mysql_db) if target and mysql_db else f"sqlite://{folder / 'db.sqlite3'}"
    settings = settings_module.configure(
        app_env="test", database_url=url, redis_url="", var_dir=folder,
        jwt_secret="bench-secret-0123456789abcdef-0123456789", jobs_in_process=False,
        rate_writes_per_minute=10_000_000, rate_login_per_minute=10_000_000,
        db_pool_max=args.pool, db_timeout=60.0, wechat_appid="", qiniu_access_key="")
    if target and mysql_db:
        await asyncio.to_thread(common.create_database, target, mysql_db)
    try:
        await migrate(config=tortoise_config(settings))
        await Tortoise.close_connections()
        app = create_app(settings, name="gongzhi_bench_polls")
        async with common.Lifespan(app):
            conn = connections.get("default")
            version = (await conn.execute_query_dict("SELECT VERSION() AS v"))[0]["v"] \
                if mysql_db else f"SQLite {__import__('sqlite3').sqlite_version}"
            t0 = time.perf_counter()
            staff_row, voter_ids, _ = await build_town(args.voters)
            staff = await accounts.get_active_user(user_id=staff_row.id)
            poll_row = await polls.create_poll(actor=staff, body=poll_body(args.named))
            poll = (await poll_reads.detail(user=staff, poll_id=poll_row.id)).model_dump(mode="json")
            setup_s = time.perf_counter() - t0

            rng = random.Random(args.seed)
            bodies = {uid: make_answers(poll, rng) for uid in voter_ids}
            expected = Expected()
            for body in bodies.values():
                expected.add(body)
            twice = set(rng.sample(voter_ids, min(args.replays, len(voter_ids))))
            tokens = {uid: bearer(security, uid) for uid in voter_ids}
            order = [*voter_ids, *twice]
            rng.shuffle(order)  # replays land among first tries, not after them

            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         timeout=600) as client:
                path = f"/api/v1/polls/{poll['id']}/responses"

                if args.via == "http":
                    def vote(uid: int) -> Callable[[], Awaitable[int]]:
                        async def call() -> int:
                            r = await client.post(path, json=bodies[uid], headers=tokens[uid])
                            return r.status_code
                        return call
                else:
                    def vote(uid: int) -> Callable[[], Awaitable[int]]:
                        async def call() -> int:
                            user = await accounts.get_active_user(user_id=uid)
                            try:
                                await polls.respond(user=user, poll_id=poll["id"],  # type: ignore[arg-type]
                                                    body=ResponseIn.model_validate(bodies[uid]))
                                return 201
                            except Exception as exc:  # the API's status for the refusal
                                return int(getattr(exc, "status_code", 500))
                        return call

                async def get(url: str, headers: dict[str, str] | None = None) -> int:
                    return (await client.get(url, headers=headers)).status_code

                async def baselines(uids: list[int]) -> tuple[float, Counter, float, Counter]:
                    me_s, me = await run_all(
                        [lambda uid=uid: get("/api/v1/me", tokens[uid]) for uid in uids],
                        args.concurrency)
                    health_s, health = await run_all(
                        [lambda: get("/healthz") for _ in uids], args.concurrency)
                    return me_s, me, health_s, health

                # The baselines run half before and half after the votes, so a change of load
                # on the shared machine during the run hits both sides of the ratio alike.
                half = len(voter_ids) // 2
                before = await baselines(voter_ids[:half])
                vote_s, statuses = await run_all([vote(uid) for uid in order], args.concurrency)
                after = await baselines(voter_ids[half:])
                me_s, health_s = before[0] + after[0], before[2] + after[2]
                me, health = before[1] + after[1], before[3] + after[3]

                results = await poll_reads.results(user=staff, poll_id=poll["id"], by=None)  # type: ignore[arg-type]
                problems = check_results(results, expected)
                ballots = await PollBallot.filter(poll_id=poll["id"]).count()
                answers = await PollAnswer.filter(poll_id=poll["id"]).count()
                if ballots != args.voters:
                    problems.append(f"{ballots} ballots stored")
                if answers != sum(expected.answered.values()):
                    problems.append(f"{answers} answers stored")
                if statuses != Counter({201: args.voters, 409: len(twice)}):
                    problems.append(f"statuses {dict(statuses)}")

                pid = poll["id"]
                staff_headers = bearer(security, staff_row.id)
                timings = await median_ms({
                    "floor: COUNT(*) ballots": lambda: PollBallot.filter(poll_id=pid).count(),
                    "results()": lambda: poll_reads.results(user=staff, poll_id=pid, by=None),  # type: ignore[arg-type]
                    "results(by=community)": lambda: poll_reads.results(
                        user=staff, poll_id=pid, by="community"),  # type: ignore[arg-type]
                    "results(by=grid)": lambda: poll_reads.results(
                        user=staff, poll_id=pid, by="grid"),  # type: ignore[arg-type]
                    "GET …/results?by=grid (HTTP)": lambda: get(
                        f"/api/v1/polls/{pid}/results?by=grid", staff_headers),
                    "summary CSV (by=grid)": lambda: poll_reads.results_csv(
                        user=staff, poll_id=pid, by="grid", view="summary"),  # type: ignore[arg-type]
                    "all-texts CSV": lambda: poll_reads.results_csv(
                        user=staff, poll_id=pid, by=None, view="texts"),  # type: ignore[arg-type]
                }, args.repeats)
        report(args, version, setup_s, vote_s, statuses, health_s, health, me_s, me, results,
               answers, timings, problems)
        return 1 if problems else 0
    finally:
        await Tortoise.close_connections()
        if target and mysql_db:
            await asyncio.to_thread(common.drop_database, target, mysql_db)
        shutil.rmtree(folder, ignore_errors=True)


def bearer(security: Any, user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {security.issue_access_token(user_id)[0]}"}


def report(args: argparse.Namespace, version: str, setup_s: float, vote_s: float,
           statuses: Counter, health_s: float, health: Counter, me_s: float, me: Counter,
           results: Any, answers: int, timings: dict[str, float], problems: list[str]) -> None:
    n = sum(statuses.values())
    print(f"python {platform.python_version()}, {version}, {os.cpu_count()} CPUs; "
          f"{args.voters:,} voters + {args.replays:,} replays via {args.via}, "
          f"concurrency {args.concurrency}, pool {args.pool}, "
          f"{'named' if args.named else 'anonymous'} poll; setup {setup_s:.1f} s")
    print()
    header = f"{'phase':<34} | {'requests':>8} | {'seconds':>7} | {'req/s':>7} | {'vs /me':>6}"
    print(header)
    print("-" * len(header))
    me_rate = sum(me.values()) / me_s
    vote_name = "vote: POST …/responses" if args.via == "http" else "vote: service.respond()"
    for name, count, seconds in ((vote_name, n, vote_s),
                                 ("GET /api/v1/me (token + user read)", sum(me.values()), me_s),
                                 ("GET /healthz (framework floor)", sum(health.values()),
                                  health_s)):
        rate = count / seconds
        print(f"{name:<34} | {count:>8,} | {seconds:>7.2f} | {rate:>7,.0f} | "
              f"{rate / me_rate:>6.2f}")
    print(f"statuses: {dict(sorted(statuses.items()))}; /me {dict(me)}; /healthz {dict(health)}")
    print(f"counted: {results.respondent_count:,} respondents, {answers:,} answer rows; "
          f"question 1: " + ", ".join(f"{o.id} {o.count:,}" for o in results.questions[0].options))
    print()
    floor = timings["floor: COUNT(*) ballots"]
    header = f"{'results query (median of ' + str(args.repeats) + ')':<34} | {'ms':>8} | {'x floor':>7}"
    print(header)
    print("-" * len(header))
    for name, ms in timings.items():
        print(f"{name:<34} | {ms:>8.1f} | {ms / floor:>7.1f}")
    print()
    print("OK: every vote counted exactly once" if not problems
          else "PROBLEMS: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--replays", type=int, default=1_000,
                        help="voters who submit a second time at once (must get 409)")
    parser.add_argument("--concurrency", type=int, default=200,
                        help="requests in flight at most (0: all at once)")
    parser.add_argument("--via", choices=("http", "service"), default="http")
    parser.add_argument("--named", action="store_true", help="a named poll (default anonymous)")
    parser.add_argument("--database-url", default=None,
                        help="mysql://user:pass@host:port/any — a throw-away database is made")
    parser.add_argument("--pool", type=int, default=20, help="MySQL connection pool size")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    raise SystemExit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
