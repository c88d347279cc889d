"""Test harness: a freshly migrated database (SQLite, or MariaDB/MySQL from DATABASE_URL), the
app served in-process over ASGI (httpx), Redis from REDIS_URL or in-process stand-ins.

Every test starts from empty tables; the schema comes only from migrations/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from app import settings as settings_module
from tests.support import (
    BASE_URL,
    MYSQL_DB,
    Lifespan,
    _drop_mysql_database,
    base_settings,
    migrate_fresh_database,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-skips", action="store_true",
                     help="a skipped test fails the run (CI's MariaDB stage, where every test "
                     "that needs MySQL/MariaDB or Redis must really run)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and item.config.getoption("--no-skips"):
        report.outcome = "failed"
        report.longrepr = f"skipped under --no-skips: {report.longrepr}"


@pytest.fixture(scope="session")
async def migrated() -> AsyncIterator[None]:
    await migrate_fresh_database()
    yield
    if MYSQL_DB:
        await _drop_mysql_database()


@pytest.fixture(scope="session")
async def app(migrated: None) -> AsyncIterator[object]:
    from app.main import create_app

    sanic_app = create_app(settings_module.current(), name="gongzhi_test")
    async with Lifespan(sanic_app):
        yield sanic_app


async def _empty_all_tables() -> None:
    from tortoise import connections

    models = list(Tortoise.apps.get_models_iterable())
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        # SQLite ignores this pragma inside a transaction; its client is one connection.
        await conn.execute_script("PRAGMA foreign_keys = OFF")
        for model in models:
            await conn.execute_script(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
        await conn.execute_script("PRAGMA foreign_keys = ON")
        return
    async with in_transaction("default") as tx:  # one connection, so the session setting applies
        await tx.execute_script("SET FOREIGN_KEY_CHECKS = 0")
        for model in models:
            await tx.execute_script(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
        await tx.execute_script("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, against empty tables and fresh counters."""
    from app.areas import service as areas_service
    from app.core import config_cache, ratelimit
    from app.core import redis as redis_core

    base_settings()
    await _empty_all_tables()
    areas_service.invalidate_index()
    config_cache.invalidate()
    ratelimit.counters.memory = ratelimit.MemoryCounters()
    redis = redis_core.client()
    if redis is not None:
        await redis.flushdb()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as http:
        yield http
    base_settings()


@pytest.fixture
async def city(client):
    """A small city: areas, categories, units, a routing rule, staff of every role."""
    from tests.tickets.helpers import build_city

    return await build_city(client)
