"""Folding the statistics deltas never holds up a report (issue 16).

The fold job locks the delta rows it folds. On MySQL/MariaDB a locking read over a range that
reaches the end of the table also locks the gap after its last row, where every new delta goes:
every report and status change then waited for the fold to commit. It locks its rows by id.
"""

from __future__ import annotations

import asyncio

import pytest

from app.stats import rollups
from app.stats import service as stats
from app.stats.models import StatsDelta
from tests.support import MYSQL_DB
from tests.tickets.helpers import report


# SQLite serialises writers by locking the whole file (a SQLite deployment has one writer at a
# time by design), so there is no row or gap lock to observe; .ci/run's MariaDB stage runs it.
@pytest.mark.skipif(not MYSQL_DB, reason="gap locks are InnoDB's; .ci/run's MariaDB stage "
                    "runs this")
async def test_a_report_is_not_held_up_while_the_deltas_are_folded(client, city, monkeypatch):
    for _ in range(3):
        await report(client, city.resident, "9904")
    waiting = await StatsDelta.all().values_list("id", flat=True)
    assert waiting

    holding, release = asyncio.Event(), asyncio.Event()
    fold = rollups._Rollups.fold

    async def held_fold(self: rollups._Rollups) -> None:  # the fold, paused mid-transaction
        holding.set()
        await release.wait()
        await fold(self)

    monkeypatch.setattr(rollups._Rollups, "fold", held_fold)
    folding = asyncio.create_task(stats.compact())  # its own task: its own transaction
    await holding.wait()
    try:
        # With the rows locked by a range, this report's delta insert waited for the fold
        # (innodb_lock_wait_timeout, 50 s by default).
        late = await asyncio.wait_for(
            client.post("/api/v1/tickets", headers=city.resident, json={
                "category_code": "9904", "description": "楼道里堆满了杂物",
                "location": {"lng": 116.505, "lat": 35.405, "crs": "wgs84"},
                "address": "古槐路 12 号"}), timeout=10)
    finally:
        release.set()
        folded = await folding
    assert late.status_code == 201, late.text
    assert folded == len(waiting)  # what was there when the fold began …
    left = await StatsDelta.all().values_list("id", flat=True)
    assert left and min(left) > max(waiting)  # … and the late report's delta stays for the next
    assert await stats.compact() == len(left)
    assert await StatsDelta.all().count() == 0
