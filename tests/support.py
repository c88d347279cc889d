"""Shared test support: the per-run database, settings for tests, the ASGI lifespan driver.

Imported once as `tests.support` (conftest.py and the tests both use it), so the per-run
database name and temp folder are decided exactly once.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

os.environ["APP_ENV"] = "test"
os.environ.pop("WECHAT_APPID", None)
os.environ.pop("QINIU_ACCESS_KEY", None)

from tortoise import Tortoise

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


def _replica_url() -> str:
    """The replica of the per-run database (app/core/replica.py), when DATABASE_REPLICA_URL is
    set: the same database name on the replica server, which replication creates."""
    url = os.environ.get("DATABASE_REPLICA_URL", "")
    if not url or not MYSQL_DB:
        return ""
    return urlunparse(urlparse(url)._replace(path=f"/{MYSQL_DB}"))


DATABASE_REPLICA_URL = _replica_url()
ROOT_ENV["DATABASE_REPLICA_URL"] = DATABASE_REPLICA_URL  # subprocesses: this run's replica too


def base_settings(**overrides: object) -> settings_module.Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": DATABASE_URL,
        "database_replica_url": DATABASE_REPLICA_URL,
        "redis_url": os.environ.get("REDIS_URL", ""),
        "var_dir": VAR_DIR,
        "jwt_secret": "test-secret-0123456789abcdef-0123456789",
        "public_base_url": BASE_URL,
        "rate_writes_per_minute": 100_000,
        "rate_login_per_minute": 100_000,
        "wechat_appid": "",
        "qiniu_access_key": "",
        "jobs_in_process": False,  # tests call the jobs themselves, at chosen times
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


