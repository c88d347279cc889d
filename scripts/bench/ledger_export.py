"""The case ledger export (`/console/dashboard/ledger.csv`) at 200,000 tickets on SQLite:
rows per second and the process's peak memory, to show the export streams in bounded memory.

    .venv/bin/python scripts/bench/ledger_export.py                  # 200,000 tickets, < 1 min
    .venv/bin/python scripts/bench/ledger_export.py --tickets 20000  # a quick check

A throw-away SQLite database under /tmp is migrated, the small test city is loaded, one ticket
is filed through the ORM and copied in SQL into `--tickets` rows spread over 30 days (a third
closed, some late); then `app.stats.ledger` writes the whole month's ledger, as the console
route does, to a null sink. Peak RSS is read before the export and after it (ru_maxrss): the
difference is what the export added; the resident set is also sampled after every chunk. Nothing here belongs to the product.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    """The resident set now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def copy_tickets(path: str, template_id: int, count: int, base: datetime) -> None:
    """`count` copies of the template ticket in one INSERT … SELECT over a counter."""
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(tickets)") if row[1] != "id"]
    start = base.strftime("%Y-%m-%d %H:%M:%S")
    moment = "strftime('%Y-%m-%d %H:%M:%f+00:00', '{start}', '+' || ({offset}) || ' seconds')"
    created = "(n * 13) % 2592000"  # spread over 30 days
    overrides = {
        "number": "printf('B%012d', n)",
        "created_at": moment.format(start=start, offset=created),
        "updated_at": moment.format(start=start, offset=created),
        "accepted_at": moment.format(start=start, offset=f"{created} + 60"),
        "first_dispatched_at": moment.format(start=start, offset=f"{created} + 120"),
        "dispatched_at": moment.format(start=start, offset=f"{created} + 120"),
        "deadline_at": moment.format(start=start, offset=f"{created} + 14400"),
        "first_handled_at": f"CASE WHEN n % 3 = 0 THEN {moment.format(start=start, offset=f'{created} + 3600 + (n % 7) * 3600')} END",
        "handled_at": f"CASE WHEN n % 3 = 0 THEN {moment.format(start=start, offset=f'{created} + 3600')} END",
        "closed_at": f"CASE WHEN n % 3 = 0 THEN {moment.format(start=start, offset=f'{created} + 7200 + (n % 7) * 3600')} END",
        "status": "CASE WHEN n % 3 = 0 THEN 'closed' ELSE 'dispatched' END",
        "handled_on_time": "CASE WHEN n % 3 = 0 THEN (n % 7) < 3 END",
        "closed_on_time": "CASE WHEN n % 3 = 0 THEN (n % 7) < 2 END",
        "urgency": "CASE WHEN n % 10 = 0 THEN 'urgent' ELSE 'normal' END",
        "address": "'测试路' || (n % 500) || '号'",
    }
    select = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    # Column names from the schema and constants of this script: no outside input.
    statement = (
        f"INSERT INTO tickets ({', '.join(columns)}) "  # noqa: S608
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?) "
        f"SELECT {select} FROM seq, tickets t WHERE t.id = ?")
    db.execute(statement, (count, template_id))
    db.execute("DELETE FROM tickets WHERE id = ?", (template_id,))
    db.commit()
    db.close()


async def main(args: argparse.Namespace) -> None:
    folder = tempfile.mkdtemp(prefix="gongzhi-bench-ledger-")
    path = os.path.join(folder, "bench.sqlite3")
    os.environ["DATABASE_URL"] = f"sqlite://{path}"
    os.environ.pop("DATABASE_REPLICA_URL", None)
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    from app import settings as settings_module
    from app.accounts.models import Role
    from app.core.db import close_db, init_db, tortoise_config
    from app.stats import ledger
    from app.stats.schemas import StatsQuery
    from app.tickets.models import Ticket, TicketSource
    from tests.factories import load_small_tree, make_category, make_staff, make_unit

    settings = settings_module.current()
    await migrate(config=tortoise_config(settings))
    await Tortoise.close_connections()
    await init_db(settings)
    await load_small_tree()
    category = await make_category("9901", "井盖破损")
    unit = await make_unit()
    viewer, _ = await make_staff(Role.ADMIN, area_code="990100", username="bench-admin")
    from app.areas.models import Area

    cell = await Area.get(code="990100001001001")
    now = datetime.now(UTC)
    template = await Ticket.create(
        source=TicketSource.RESIDENT, category_id=category.id, description="井盖松动",
        lng=116.505, lat=35.405, original_lng=116.505, original_lat=35.405,
        original_crs="wgs84", cell_id=cell.id, area_path=cell.path, unit_id=unit.id,
        status="dispatched")
    await close_db()
    started = time.perf_counter()
    copy_tickets(path, template.id, args.tickets, now - timedelta(days=30))
    print(f"generated {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
    await init_db(settings)
    query = StatsQuery.model_validate({"area": "990100", "from": now - timedelta(days=31),
                                       "to": now + timedelta(days=1)})
    from app.accounts.service import get_active_user

    viewer = await get_active_user(user_id=viewer.id)
    assert viewer is not None
    before, current_before = peak_rss_mb(), rss_mb()
    highest = current_before
    started = time.perf_counter()
    export = await ledger.open_ledger(viewer=viewer, query=query)
    rows, size = -1, 0  # the header line is not a ticket
    async for chunk in export.chunks():
        rows += chunk.count("\n")
        size += len(chunk.encode())
        highest = max(highest, rss_mb())
    seconds = time.perf_counter() - started
    after = peak_rss_mb()
    await close_db()
    print(f"ledger: {rows:,} rows, {size / 1e6:.1f} MB of CSV in {seconds:.1f} s "
          f"= {rows / seconds:,.0f} rows/s (batch {ledger.BATCH})")
    print(f"RSS: {current_before:.0f} MB when the export starts, at most {highest:.0f} MB "
          f"while it runs (+{highest - current_before:.0f} MB); process peak {before:.0f} MB "
          f"before, {after:.0f} MB after")
    assert rows == args.tickets, (rows, args.tickets)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    asyncio.run(main(parser.parse_args()))
