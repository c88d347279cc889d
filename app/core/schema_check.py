"""Prove the schema is the migrations' and matches the models.

Two checks: (1) Tortoise's migration autodetector finds no model change missing from
migrations/; (2) the live, migrated database has exactly the models' tables and columns,
in utf8mb4 on MySQL/MariaDB. CI runs both on a fresh SQLite and a fresh MariaDB.
"""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.migrations.autodetector import MigrationAutodetector

from app.core.db import APP_LABEL, tortoise_config
from app.settings import current

MIGRATIONS_TABLE = "tortoise_migrations"


async def pending_model_changes() -> list[str]:
    """Operations the autodetector would write: non-empty means migrations/ is behind."""
    config = tortoise_config(current())
    writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
    return [f"{w.app_label}: {op.describe() if hasattr(op, 'describe') else op!r}"
            for w in writers for op in w.operations]


async def live_columns() -> dict[str, set[str]]:
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    tables: dict[str, set[str]] = {}
    if dialect == "sqlite":
        rows = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        for row in rows:
            cols = await conn.execute_query_dict(f'PRAGMA table_info("{row["name"]}")')
            tables[row["name"]] = {c["name"] for c in cols}
    else:
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = DATABASE()")
        for row in rows:
            tables.setdefault(row["t"], set()).add(row["c"])
    return tables


def model_columns() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for model in Tortoise.apps[APP_LABEL].values():
        tables[model._meta.db_table] = set(model._meta.fields_db_projection.values())
    return tables


async def non_utf8mb4_tables() -> list[str]:
    conn = connections.get("default")
    if conn.capabilities.dialect != "mysql":
        return []
    rows = await conn.execute_query_dict(
        "SELECT table_name AS t, table_collation AS c FROM information_schema.tables "
        "WHERE table_schema = DATABASE()")
    return [f"{r['t']} ({r['c']})" for r in rows if not str(r["c"]).startswith("utf8mb4")]


async def schema_problems() -> list[str]:
    """Everything that differs between the migrated database and the models."""
    problems = [f"model change without a migration: {c}" for c in await pending_model_changes()]
    live = await live_columns()
    live.pop(MIGRATIONS_TABLE, None)
    models = model_columns()
    for table in sorted(models.keys() - live.keys()):
        problems.append(f"table {table} is in the models but not in the database")
    for table in sorted(live.keys() - models.keys()):
        problems.append(f"table {table} is in the database but not in the models")
    for table in sorted(models.keys() & live.keys()):
        if models[table] != live[table]:
            problems.append(f"table {table}: missing {sorted(models[table] - live[table])}, "
                            f"extra {sorted(live[table] - models[table])}")
    problems += [f"table not utf8mb4: {t}" for t in await non_utf8mb4_tables()]
    return problems


async def check_migrations() -> list[str]:
    await Tortoise.init(config=tortoise_config(current()))
    try:
        return await schema_problems()
    finally:
        await Tortoise.close_connections()
