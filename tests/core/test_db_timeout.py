"""A hung database call ends with a clear 503 instead of holding the request forever."""

import asyncio

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from app.accounts import service as accounts
from app.core.mysql_engine import DBTimeout, _limited
from tests.factories import resident
from tests.support import MYSQL_DB

# The time limit wraps aiomysql only (aiosqlite runs in-process, with no network to hang), so
# the tests that hang a real server run where one is configured: .ci/run's MariaDB stage runs
# them on every submission. The mechanism itself and the 503 it turns into are tested below on
# any database.
needs_mysql = pytest.mark.skipif(not MYSQL_DB, reason="hangs a MySQL/MariaDB server "
                                 "(DATABASE_URL=mysql://...); .ci/run's MariaDB stage runs it")


class _Connection:
    closed = False

    def close(self) -> None:
        self.closed = True


class _Client:
    query_timeout = 0.05

    def __init__(self) -> None:
        self._connection = _Connection()


async def test_a_call_over_the_limit_raises_and_closes_its_connection():
    client = _Client()
    assert await _limited(client, lambda: asyncio.sleep(0, result="answered")) == "answered"
    assert not client._connection.closed
    with pytest.raises(DBTimeout):
        await _limited(client, lambda: asyncio.sleep(5))
    assert client._connection.closed  # never handed out again half-read


async def test_a_database_timeout_is_a_503_in_the_envelope_on_any_database(client, monkeypatch):
    headers = await resident(client)

    async def hung(**_: object) -> None:
        raise DBTimeout("database call exceeded 10.0s")

    monkeypatch.setattr(accounts, "get_active_user", hung)
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"]


def mysql_connection():
    return connections.get("default")


@needs_mysql
async def test_a_slow_query_is_cut_off_and_the_pool_recovers(client, monkeypatch):
    conn = mysql_connection()
    monkeypatch.setattr(conn, "query_timeout", 0.3)
    with pytest.raises(DBTimeout):
        await conn.execute_query("SELECT SLEEP(5)")
    # The cut connection was closed, not returned half-read: the next calls work.
    for _ in range(3):
        assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]


@needs_mysql
async def test_a_slow_query_inside_a_transaction_is_cut_off_too(client, monkeypatch):
    conn = mysql_connection()
    monkeypatch.setattr(conn, "query_timeout", 0.3)
    with pytest.raises(DBTimeout):
        async with in_transaction("default") as tx:
            await tx.execute_query("SELECT SLEEP(5)")
    assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]


@needs_mysql
async def test_a_timed_out_request_gets_a_503_in_the_envelope(client, monkeypatch):
    conn = mysql_connection()
    headers = await resident(client)
    monkeypatch.setattr(conn, "query_timeout", 0.0001)
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"]


def test_lost_connections_and_lock_timeouts_are_retryable_others_are_not():
    import pymysql
    from tortoise.exceptions import OperationalError

    from app.core.errors import RETRYABLE_MYSQL_ERRORS, _mysql_errno

    for errno, retry in ((2003, True), (2013, True), (1205, True), (1213, True), (1064, False)):
        exc = OperationalError(pymysql.err.OperationalError(errno, "message"))
        assert (_mysql_errno(exc) in RETRYABLE_MYSQL_ERRORS) is retry
    assert _mysql_errno(OperationalError("no such table")) is None
