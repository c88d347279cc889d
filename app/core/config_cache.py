"""Per-process snapshots of configuration that changes rarely and is read on every report.

The category tree, the routing rules, the units, the calendar overrides and the area names
are edited by admins a few times a day but read by every submit and every ticket page.
Each process keeps a snapshot of them and reloads it when the configuration revision moves on:

* a change made through a service calls `bump()` inside its transaction: the database
  counter goes up (other processes notice within `config_check_s`, default 2 s) and this
  process drops its snapshots at once;
* code that writes configuration rows directly (fixtures, the demo loader) calls
  `invalidate()` afterwards.

Snapshots are shared between requests: treat what `Snapshot.get()` returns as read-only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.core.models import ConfigRevision
from app.settings import current

T = TypeVar("T")
NAME = "config"  # one counter for all snapshots: edits are rare, reloads are cheap


class _Revision:
    """The revision this process believes current: (database counter, local generation)."""

    def __init__(self) -> None:
        self.database: int | None = None
        self.generation = 0
        self.checked_at = 0.0

    async def key(self) -> tuple[int, int]:
        interval = current().config_check_s
        if self.database is None or time.monotonic() - self.checked_at >= interval:
            row = await ConfigRevision.filter(name=NAME).first()
            self.database = row.revision if row else 0
            self.checked_at = time.monotonic()
        return self.database or 0, self.generation


_revision = _Revision()


class Snapshot(Generic[T]):
    """A loader's result, reloaded when the configuration revision changes."""

    def __init__(self, loader: Callable[[], Awaitable[T]]) -> None:
        self.loader = loader
        self.value: T | None = None
        self.key: tuple[int, int] | None = None
        self.lock = asyncio.Lock()

    async def get(self) -> T:
        key = await _revision.key()
        if self.key == key and self.value is not None:
            return self.value
        async with self.lock:
            if self.key != key or self.value is None:
                self.value = await self.loader()
                self.key = key
            return self.value


def snapshot(loader: Callable[[], Awaitable[T]]) -> Snapshot[T]:
    """Decorator: `@snapshot async def load() -> X` makes `load.get()` the cached read."""
    return Snapshot(loader)


def invalidate() -> None:
    """This process reloads every snapshot on its next read (after direct writes)."""
    _revision.generation += 1
    _revision.database = None


async def bump() -> None:
    """Call in the transaction that changed configuration: every process reloads."""
    updated = await ConfigRevision.filter(name=NAME).update(revision=F("revision") + 1)
    if not updated:
        try:
            async with in_transaction("default"):  # a savepoint inside the caller's transaction
                await ConfigRevision.create(name=NAME, revision=1)
        except IntegrityError:  # created concurrently: count on theirs
            await ConfigRevision.filter(name=NAME).update(revision=F("revision") + 1)
    invalidate()


K = TypeVar("K")


class Lookup(Generic[K, T]):
    """Rows by key, loaded on first use in batches and forgotten when the revision changes.

    For tables too large to load whole (grid cells by id): each process keeps the rows it
    has needed, up to `max_size` (then it starts over).
    """

    def __init__(self, loader: Callable[[list[K]], Awaitable[dict[K, T]]],
                 max_size: int = 50_000) -> None:
        self.loader = loader
        self.max_size = max_size
        self.rows: dict[K, T] = {}
        self.key: tuple[int, int] | None = None

    async def get_many(self, keys: Iterable[K]) -> dict[K, T]:
        """The rows of `keys` that exist (a missing key is simply absent)."""
        key = await _revision.key()
        if self.key != key or len(self.rows) > self.max_size:
            self.rows, self.key = {}, key
        wanted = set(keys)
        missing = [k for k in wanted if k not in self.rows]
        if missing:
            self.rows.update(await self.loader(missing))
        return {k: self.rows[k] for k in wanted if k in self.rows}

    async def get(self, key: K) -> T | None:
        return (await self.get_many([key])).get(key)


def lookup(loader: Callable[[list[K]], Awaitable[dict[K, T]]]) -> Lookup[K, T]:
    """Decorator: `@lookup async def load(ids) -> {id: row}` makes `load.get_many(ids)`."""
    return Lookup(loader)
