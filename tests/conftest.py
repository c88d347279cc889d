"""Test harness: a freshly migrated database (SQLite, or MariaDB/MySQL from DATABASE_URL), the
app served in-process over ASGI (httpx), Redis from REDIS_URL or in-process stand-ins.

Every test starts from empty tables; the schema comes only from migrations/.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

os.environ["APP_ENV"] = "test"
os.environ.pop("WECHAT_APPID", None)
os.environ.pop("QINIU_ACCESS_KEY", None)

import httpx
import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from app import settings as settings_module

VAR_DIR = Path(tempfile.mkdtemp(prefix="gongzhi-test-"))
BASE_URL = "http://testserver"
# Environment for subprocesses (the CLI, a live server): the test database, no outside services.
ROOT_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "QINIU_"))}


def _test_database_url() -> tuple[str, str | None]:
    """(url, database to drop afterwards): a fresh database for this run, never the real one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite://{VAR_DIR / 'test.sqlite3'}", None
    parsed = urlparse(url)
    name = f"gongzhi_test_{uuid.uuid4().hex[:8]}"
    return urlunparse(parsed._replace(path=f"/{name}")), name


DATABASE_URL, MYSQL_DB = _test_database_url()


def base_settings(**overrides: object) -> settings_module.Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": DATABASE_URL,
        "redis_url": os.environ.get("REDIS_URL", ""),
        "var_dir": VAR_DIR,
        "jwt_secret": "test-secret-0123456789abcdef-0123456789",
        "public_base_url": BASE_URL,
        "rate_writes_per_minute": 100_000,
        "rate_login_per_minute": 100_000,
        "wechat_appid": "",
        "qiniu_access_key": "",
    }
    values.update(overrides)
    return settings_module.configure(**values)


base_settings()


async def _create_mysql_database() -> None:
    import aiomysql

    parsed = urlparse(DATABASE_URL)
    conn = await aiomysql.connect(host=parsed.hostname, port=parsed.port or 3306,
                                  user=parsed.username, password=parsed.password or "")
    async with conn.cursor() as cur:
        await cur.execute(f"CREATE DATABASE `{MYSQL_DB}` CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci")
    conn.close()


async def _drop_mysql_database() -> None:
    import aiomysql

    parsed = urlparse(DATABASE_URL)
    conn = await aiomysql.connect(host=parsed.hostname, port=parsed.port or 3306,
                                  user=parsed.username, password=parsed.password or "")
    async with conn.cursor() as cur:
        await cur.execute(f"DROP DATABASE IF EXISTS `{MYSQL_DB}`")
    conn.close()


async def migrate_fresh_database() -> None:
    from tortoise.migrations.api import migrate

    from app.core.db import tortoise_config

    if MYSQL_DB:
        await _create_mysql_database()
    await migrate(config=tortoise_config(settings_module.current()))
    await Tortoise.close_connections()


class Lifespan:
    """Drive the ASGI lifespan of a Sanic app (httpx's ASGITransport does not)."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.to_app: asyncio.Queue = asyncio.Queue()
        self.from_app: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))  # type: ignore[operator]
        await self.to_app.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self.from_app.get(), 30)
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.from_app.get(), 30)
        if self.task:
            await asyncio.wait_for(self.task, 30)


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
    async with in_transaction() as tx:  # one connection, so the session setting applies
        await tx.execute_script("SET FOREIGN_KEY_CHECKS = 0")
        for model in models:
            await tx.execute_script(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
        await tx.execute_script("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, against empty tables and fresh counters."""
    from app.areas import service as areas_service
    from app.core import ratelimit
    from app.core import redis as redis_core

    base_settings()
    await _empty_all_tables()
    areas_service.invalidate_index()
    ratelimit.counters.memory = ratelimit.MemoryCounters()
    redis = redis_core.client()
    if redis is not None:
        await redis.flushdb()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as http:
        yield http
    base_settings()
