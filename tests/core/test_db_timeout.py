"""A hung database call ends with a clear 503 instead of holding the request forever."""

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from app.core.mysql_engine import DBTimeout


def mysql_connection():
    conn = connections.get("default")
    if conn.capabilities.dialect != "mysql":
        # aiosqlite runs in-process with no network to hang; the limit exists for aiomysql.
        pytest.skip("the time limit wraps the MySQL driver; CI runs this on MariaDB")
    return conn


async def test_a_slow_query_is_cut_off_and_the_pool_recovers(client, monkeypatch):
    conn = mysql_connection()
    monkeypatch.setattr(conn, "query_timeout", 0.3)
    with pytest.raises(DBTimeout):
        await conn.execute_query("SELECT SLEEP(5)")
    # The cut connection was closed, not returned half-read: the next calls work.
    for _ in range(3):
        assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]


async def test_a_slow_query_inside_a_transaction_is_cut_off_too(client, monkeypatch):
    conn = mysql_connection()
    monkeypatch.setattr(conn, "query_timeout", 0.3)
    with pytest.raises(DBTimeout):
        async with in_transaction() as tx:
            await tx.execute_query("SELECT SLEEP(5)")
    assert (await conn.execute_query_dict("SELECT 1 AS one")) == [{"one": 1}]


async def test_a_timed_out_request_gets_a_503_in_the_envelope(client, monkeypatch):
    conn = mysql_connection()
    from tests.factories import resident

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
