"""Heavy reads on a read replica (app/core/replica.py): the statistics are answered by the
replica while it is healthy and by the primary when replication stops, and the figures are
right either way. Needs a real replica (DATABASE_REPLICA_URL): .ci/run's MariaDB stage starts
one (scripts/services.sh with REPLICA_PORT) and runs the whole suite with causal reads, so
every statistics test there reads through the replica too."""

from __future__ import annotations

import aiomysql
import pytest

from app import settings as settings_module
from app.core import replica
from tests.support import DATABASE_REPLICA_URL, DATABASE_URL, base_settings
from tests.tickets.helpers import report

needs_replica = pytest.mark.skipif(
    not DATABASE_REPLICA_URL,
    reason="needs a MariaDB replica (DATABASE_REPLICA_URL); .ci/run's MariaDB stage has one")


async def _on(url: str, statement: str) -> list[tuple]:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    conn = await aiomysql.connect(host=parsed.hostname, port=parsed.port or 3306,
                                  user=parsed.username, password=parsed.password or "",
                                  autocommit=True)
    try:
        async with conn.cursor() as cur:
            await cur.execute(statement)
            return list(await cur.fetchall())
    finally:
        conn.close()


async def _selects(url: str) -> int:
    rows = await _on(url, "SHOW GLOBAL STATUS LIKE 'Com_select'")
    return int(rows[0][1])


async def _reported(client, headers) -> int:
    response = await client.get("/api/v1/stats/summary", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["counts"]["reported"]


@needs_replica
async def test_statistics_read_the_replica_and_fall_back_to_the_primary(client, city):
    base_settings(replica_check_s=0.0, replica_max_lag_s=10.0, replica_causal_reads=True)
    try:
        await report(client, city.resident, "9904")
        before = await _selects(DATABASE_REPLICA_URL)
        # Causal: the report made a moment ago is counted, read from the replica.
        assert await _reported(client, city.dispatcher) == 1
        on_replica = await _selects(DATABASE_REPLICA_URL) - before
        assert on_replica >= 3, on_replica  # health + causal wait + the summary's own reads
        assert replica.reading_from() == replica.PRIMARY  # nothing leaks out of the request

        await _on(DATABASE_REPLICA_URL, "STOP SLAVE")
        try:
            await report(client, city.resident, "9904")
            before = await _selects(DATABASE_REPLICA_URL)
            # Replication stopped: the primary answers, and the new report is counted.
            assert await _reported(client, city.dispatcher) == 2
            assert await _selects(DATABASE_REPLICA_URL) - before <= 1  # the health check only
        finally:
            await _on(DATABASE_REPLICA_URL, "START SLAVE")
        # Back in use once replication runs again (and has caught up: causal reads).
        before = await _selects(DATABASE_REPLICA_URL)
        assert await _reported(client, city.dispatcher) == 2
        assert await _selects(DATABASE_REPLICA_URL) - before >= 3
    finally:
        base_settings()


@needs_replica
async def test_without_causal_reads_a_stale_replica_answers_within_the_lag_bound(client, city):
    """Proof that the replica, not the primary, answers: with its SQL thread paused (the IO
    thread still running) it is behind, and a figure read from it misses the newest report."""
    base_settings(replica_check_s=60.0, replica_causal_reads=False)
    try:
        await report(client, city.resident, "9904")
        replica.recheck()
        assert await _reported(client, city.dispatcher) in (0, 1)  # primes the health check
        await _on(DATABASE_REPLICA_URL, "STOP SLAVE SQL_THREAD")
        try:
            await report(client, city.resident, "9904")
            stale = await _reported(client, city.dispatcher)
            assert stale <= 1  # the second report has not reached the replica
        finally:
            await _on(DATABASE_REPLICA_URL, "START SLAVE SQL_THREAD")
    finally:
        replica.recheck()
        base_settings()


def test_a_replica_is_used_only_behind_a_mysql_primary():
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL"):
        settings_module.Settings(database_url="mysql://u@h/db",
                                 database_replica_url="sqlite:///tmp/x.sqlite3")
    ok = settings_module.Settings(database_url="mysql://u@h/db",
                                  database_replica_url="mysql://u@replica/db")
    assert ok.effective_replica_url.endswith("@replica/db")
    # SQLite has no replicas: a leftover DATABASE_REPLICA_URL is ignored, and said so.
    embedded = settings_module.Settings(database_url="", database_replica_url="mysql://r@h/db")
    assert embedded.effective_replica_url == ""
    assert "DATABASE_REPLICA_URL is ignored: the primary is SQLite" in \
        embedded.deployment_warnings()


def test_without_a_replica_heavy_reads_use_the_primary():
    from app.core.db import tortoise_config

    config = tortoise_config(settings_module.Settings(database_url=DATABASE_URL,
                                                      database_replica_url=""))
    assert list(config["connections"]) == ["default"] and "routers" not in config
