"""The schema is the migrations': a fresh migrated database matches the models exactly."""

import pytest
from tortoise import connections

from app.core.schema_check import schema_problems


async def test_the_migrated_database_matches_the_models(client):
    assert await schema_problems() == []


async def test_a_stray_table_is_reported(client):
    conn = connections.get("default")
    await conn.execute_script("CREATE TABLE stray_table (id INT PRIMARY KEY)")
    try:
        problems = await schema_problems()
    finally:
        await conn.execute_script("DROP TABLE stray_table")
    assert problems == ["table stray_table is in the database but not in the models"]


def test_the_app_never_creates_tables_behind_the_migrations_back(tmp_path):
    import httpx

    from tests.live import live_server

    database = tmp_path / "empty.sqlite3"
    with live_server({"APP_ENV": "test", "DATABASE_URL": f"sqlite://{database}",
                      "VAR_DIR": str(tmp_path)}) as url:
        response = httpx.post(f"{url}/api/v1/auth/dev", json={"openid": "x"})
    # Without migrations the request fails cleanly, and the server created nothing.
    assert response.status_code >= 500
    assert response.json()["error"]["code"] in ("server_error", "service_unavailable")
    import sqlite3

    with sqlite3.connect(database) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == []


@pytest.mark.parametrize("text", ["𠀾𪚥", "🙂🏠", "網格員"])
async def test_four_byte_characters_are_stored_as_sent(client, text):
    from app.accounts.models import User

    user = await User.create(username=f"u{ord(text[0])}", display_name=text)
    assert (await User.get(id=user.id)).display_name == text
