"""Command line: `python -m app serve|migrate|demo|users|areas|check-migrations`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.settings import current, refusal_lines


def _ticker(bar: Any) -> Callable[[int], None]:
    """A progress callback that moves a tqdm bar."""

    def step(count: int) -> None:
        bar.update(count)

    return step


async def _with_db(coro_factory):
    from app.core import db

    await db.init_db(current())
    try:
        return await coro_factory()
    finally:
        await db.close_db()


def cmd_serve(args: argparse.Namespace) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from app.core import supervise
    from app.main import create_app

    # Always Sanic's worker manager, even for one worker: the main process then replaces a
    # worker that dies (app/core/supervise.py), and workers die with the main process.
    loader = AppLoader(factory=partial(supervise.served, partial(create_app, name="gongzhi")))
    app = loader.load()
    # Sanic's loggers print through their own handlers; through the root's too they came out
    # twice in the main process.
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets"):
        logging.getLogger(name).propagate = False
    app.prepare(host=args.host, port=args.port, workers=args.workers, access_log=args.access_log,
                motd=True)
    supervise.warn_about_deployment(current())
    watch = supervise.WorkerWatch()
    watch.install(app)
    supervise.tie_state_manager()
    Sanic.serve(primary=app, app_loader=loader)
    return watch.exit_code


def cmd_migrate(args: argparse.Namespace) -> int:
    from tortoise.migrations.api import migrate

    from app.core.db import tortoise_config

    async def run() -> None:
        from tortoise import Tortoise

        try:
            await migrate(config=tortoise_config(current()),
                          progress=lambda event, app, name: print(f"  {event} {app}.{name}"))
        finally:
            await Tortoise.close_connections()

    asyncio.run(run())
    from app.catalog.service import seed_default_categories

    # Seed data, not schema: the default category tree, only into an empty table.
    seeded = asyncio.run(_with_db(seed_default_categories))
    print("migrations applied" + (f"; default category tree seeded ({seeded})" if seeded else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.demo import load_demo, write_accounts_file

    async def run():
        with tqdm(desc="demo areas", unit=" areas", disable=not sys.stderr.isatty()) as bar:
            return await load_demo(progress=_ticker(bar))

    accounts = asyncio.run(_with_db(run))
    if accounts is None:
        print("demo data already present (passwords were printed on the first run, "
              f"and kept in {current().var_dir / 'demo-accounts.txt'})")
        return 0
    path = write_accounts_file(accounts)
    print(f"demo district 任城区 loaded. Staff accounts (also saved to {path}):")
    for a in accounts:
        print(f"  {a.username:<16} {a.password:<14} {a.role.value:<16} {a.scope}")
    print("Residents log in from the mini-program (dev mode: POST /api/v1/auth/dev).")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from app.accounts.models import Role, RoleGrant, User
    from app.areas.models import Area
    from app.core import security
    from app.units.models import Unit

    password = args.password or (sys.stdin.readline().strip() if args.password_stdin
                                 else getpass.getpass("password: "))
    if len(password) < 10:
        print("password must be at least 10 characters", file=sys.stderr)
        return 2

    async def run() -> int:
        from tortoise.transactions import in_transaction

        from app.core import config_cache

        role = Role(args.role)
        area = await Area.get_or_none(code=args.area) if args.area else None
        if args.area and area is None:
            print(f"unknown area {args.area}", file=sys.stderr)
            return 2
        unit = await Unit.get_or_none(id=args.unit) if args.unit else None
        if role == Role.HANDLER and unit is None:
            print("a handler needs --unit", file=sys.stderr)
            return 2
        if role not in (Role.ADMIN, Role.HANDLER) and area is None:
            print(f"a {role.value} needs --area", file=sys.stderr)
            return 2
        if await User.filter(username=args.username).exists():
            print(f"username {args.username} is taken", file=sys.stderr)
            return 1
        async with in_transaction("default"):
            user = await User.create(username=args.username, display_name=args.name,
                                     surname=args.name[:1],
                                     password_hash=await security.hash_password(password))
            await RoleGrant.create(user=user, role=role, area=area, unit=unit)
            await config_cache.bump()  # running servers learn of a new handler
        print(f"created {args.username} ({role.value}) id={user.id}")
        return 0

    return asyncio.run(_with_db(run))


def cmd_areas_import(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from tqdm import tqdm

    from app.areas import service
    from app.areas.schemas import FeatureCollection
    from app.core.errors import AppError

    try:
        raw = json.loads(Path(args.file).read_text(encoding="utf-8"))
        collection = FeatureCollection.model_validate(raw)
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        with tqdm(total=len(collection.features), unit=" areas", desc="importing") as bar:
            try:
                result = await service.import_areas(collection=collection, crs=args.crs,
                                                    replace=args.replace, actor=None,
                                                    progress=_ticker(bar))
            except AppError as exc:
                bar.close()
                print(exc.message, file=sys.stderr)
                for error in exc.details.get("errors", []):
                    where = "area" if error["feature"] is None else f"feature {error['feature']}"
                    print(f"  {where} ({error['code']}): {error['message']}", file=sys.stderr)
                return 1
        print(f"imported {result.created} areas {result.by_kind}"
              + (f", redrew {result.updated}, removed {result.removed}" if args.replace else ""))
        if result.crs_source == "assumed":
            print("the file declares no CRS and --crs was not given: assumed WGS-84 "
                  "(use --crs gcj02 for data traced on Amap or Tencent maps)", file=sys.stderr)
        return 0

    return asyncio.run(_with_db(run))


def cmd_stats_rebuild(args: argparse.Namespace) -> int:
    from app.stats import service

    async def run() -> int:
        started = time.perf_counter()
        read = await service.rebuild()
        print(f"recounted the daily and monthly statistics from {read} tickets in "
              f"{time.perf_counter() - started:.1f} s")
        return 0

    return asyncio.run(_with_db(run))


def cmd_check_migrations(args: argparse.Namespace) -> int:
    from app.core.schema_check import check_migrations

    problems = asyncio.run(check_migrations())
    for p in problems:
        print(p, file=sys.stderr)
    print("migrations match the models" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Gongzhi (共治)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=cmd_serve)

    from app.jobs import add_arguments, cmd_jobs

    jobs = sub.add_parser("jobs", help="run the job process: outbox delivery and periodic jobs")
    add_arguments(jobs)
    jobs.set_defaults(func=cmd_jobs)

    sub.add_parser("migrate", help="apply migrations/ to the database").set_defaults(
        func=cmd_migrate)
    sub.add_parser("demo", help="load the demo district and staff (once)").set_defaults(
        func=cmd_demo)
    sub.add_parser("check-migrations",
                   help="fail if the models differ from migrations/ or the migrated schema"
                   ).set_defaults(func=cmd_check_migrations)

    users = sub.add_parser("users", help="manage accounts").add_subparsers(dest="users_cmd",
                                                                           required=True)
    create = users.add_parser("create", help="create a staff account")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="display name, e.g. 王芳")
    create.add_argument("--role", required=True,
                        choices=["admin", "dispatcher", "supervisor", "community_staff",
                                 "grid_worker", "handler"])
    create.add_argument("--area", help="area code the role covers (omit for a city-wide admin)")
    create.add_argument("--unit", type=int, help="unit id (handlers)")
    create.add_argument("--password", help="prefer --password-stdin or the prompt")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=cmd_users_create)

    areas = sub.add_parser("areas", help="manage the area tree").add_subparsers(
        dest="areas_cmd", required=True)
    imp = areas.add_parser("import", help="import a GeoJSON FeatureCollection (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--crs", choices=["wgs84", "gcj02"], help="overrides the file's crs member")
    imp.add_argument("--replace", metavar="CODE",
                     help="redraw: the file replaces the grid cells under this area")
    imp.set_defaults(func=cmd_areas_import)

    stats = sub.add_parser("stats", help="the statistics rollup").add_subparsers(
        dest="stats_cmd", required=True)
    stats.add_parser("rebuild", help="recount the daily rollup from the tickets (maintenance: "
                     "run while nothing changes tickets)").set_defaults(func=cmd_stats_rebuild)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    # Read the settings before any command: a refusal is one line per problem, no traceback.
    try:
        settings = current()
    except ValidationError as exc:
        for line in refusal_lines(exc):
            print(line, file=sys.stderr)
        return 2
    for warning in settings.deployment_warnings():
        logging.getLogger("gongzhi").error("%s\n%s\n%s", "!" * 78, warning, "!" * 78)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
