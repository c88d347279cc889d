"""Tortoise's MySQL backend with a time limit on every database call.

aiomysql has only a connect timeout: a hung server (network partition, `kill -STOP`) would
block a query, and the request waiting on it, forever. Every call here runs under
`asyncio.timeout(query_timeout)`; a connection that timed out mid-protocol is closed so the
pool never hands it out again, and the caller gets a `DBTimeout` (rendered as 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.backends.base.client import (
    NestedTransactionContext,
    PoolConnectionWrapper,
    TransactionContextPooled,
)
from tortoise.backends.mysql.client import MySQLClient, TransactionWrapper
from tortoise.exceptions import OperationalError

T = TypeVar("T")


class DBTimeout(OperationalError):
    """A database call exceeded the configured time limit."""


async def _limited(client: Any, call: Callable[[], Awaitable[T]]) -> T:
    try:
        async with asyncio.timeout(client.query_timeout):
            return await call()
    except TimeoutError:
        conn = getattr(client, "_connection", None)
        if conn is not None and not getattr(conn, "closed", True):
            conn.close()
        raise DBTimeout(f"database call exceeded {client.query_timeout}s") from None


class TimedTransactionWrapper(TransactionWrapper):
    query_timeout: float = 10.0

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.query_timeout = connection.query_timeout

    def _in_transaction(self) -> Any:
        return NestedTransactionContext(TimedTransactionWrapper(self))

    async def rollback(self) -> None:
        # After a timeout the connection is closed; the server rolls back on disconnect.
        if self._connection is None or self._connection.closed:
            self._finalized = True
            return
        await super().rollback()

    async def execute_insert(self, query: str, values: list) -> int:
        return await _limited(
            self, lambda: super(TimedTransactionWrapper, self).execute_insert(query, values)
        )

    async def execute_many(self, query: str, values: list) -> None:
        await _limited(
            self, lambda: super(TimedTransactionWrapper, self).execute_many(query, values)
        )

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, list[dict]]:
        return await _limited(
            self, lambda: super(TimedTransactionWrapper, self).execute_query(query, values)
        )

    async def execute_script(self, query: str) -> None:
        await _limited(self, lambda: super(TimedTransactionWrapper, self).execute_script(query))


class _ClosingPoolConnectionWrapper(PoolConnectionWrapper):
    """Releases as usual, but closes a connection whose call was cancelled mid-protocol."""

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            if self.connection is not None:
                self.connection.close()
        await super().__aexit__(exc_type, exc_val, exc_tb)


class TimedMySQLClient(MySQLClient):
    """Pooled client whose calls are time-limited."""

    def __init__(self, *, query_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query_timeout = float(query_timeout)

    def acquire_connection(self) -> Any:
        return _ClosingPoolConnectionWrapper(self, self._pool_init_lock)

    def _in_transaction(self) -> Any:
        return TransactionContextPooled(TimedTransactionWrapper(self), self._pool_init_lock)

    async def execute_insert(self, query: str, values: list) -> int:
        return await _limited(
            self, lambda: super(TimedMySQLClient, self).execute_insert(query, values)
        )

    async def execute_many(self, query: str, values: list) -> None:
        await _limited(self, lambda: super(TimedMySQLClient, self).execute_many(query, values))

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, list[dict]]:
        return await _limited(
            self, lambda: super(TimedMySQLClient, self).execute_query(query, values)
        )

    async def execute_script(self, query: str) -> None:
        await _limited(self, lambda: super(TimedMySQLClient, self).execute_script(query))


client_class = TimedMySQLClient
