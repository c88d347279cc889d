"""Tortoise ORM configuration, start-up and shut-down; the migrations own the schema."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

from app.settings import Settings, current

MODEL_MODULES = [
    "app.core.models",
    "app.accounts.models",
    "app.areas.models",
    "app.units.models",
    "app.media.models",
    "app.catalog.models",
    "app.routing.models",
    "app.calendar.models",
    "app.tickets.models",
    "app.supervision.models",
    "app.approvals.models",
    "app.escalation.models",
    "app.notifications.models",
    "app.ratings.models",
    "app.stats.models",
    "app.polls.models",
    "app.console.models",
    "app.screen.models",
    "app.open311.models",
    "app.integrations.models",
    "app.hotline.models",
    "app.evaluation.models",
    "app.devices.models",
    "app.conversation.models",
    "app.review.models",
]
APP_LABEL = "models"


def _connection(url: str, settings: Settings) -> dict[str, Any]:
    connection: dict[str, Any] = expand_db_url(url)
    if connection["engine"] == "tortoise.backends.mysql":
        # Our engine wraps every call in a time limit (aiomysql has no read timeout).
        connection["engine"] = "app.core.mysql_engine"
        creds = connection["credentials"]
        creds.setdefault("charset", "utf8mb4")
        creds.setdefault("maxsize", settings.db_pool_max)
        creds.setdefault("connect_timeout", 5)
        creds.setdefault("pool_recycle", 3600)
        creds["query_timeout"] = settings.db_timeout
    return connection


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise config for these settings: SQLite by default, MySQL/MariaDB when configured."""
    url = settings.effective_database_url
    if url.startswith("sqlite://"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    connections = {"default": _connection(url, settings)}
    extra: dict[str, Any] = {}
    if settings.effective_replica_url:  # heavy reads (app/core/replica.py)
        connections["replica"] = _connection(settings.effective_replica_url, settings)
        extra["routers"] = ["app.core.replica.HeavyReadRouter"]
    return {
        **extra,
        "connections": connections,
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings) -> None:
    """Open the connection pool. Never creates tables: run `python -m app migrate` for that."""
    # Global fallback: Sanic runs handlers in tasks that do not inherit the start-up task's
    # context, so the connections must be reachable process-wide (as register_tortoise does).
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


# Read by `python -m tortoise` (see [tool.tortoise] in pyproject.toml).
TORTOISE_ORM = tortoise_config(current())
