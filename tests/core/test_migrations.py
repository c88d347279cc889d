"""Migrations upgrade a database that holds data, not only an empty one.

Tortoise's AddField adds a NOT NULL column without a database default: SQLite refuses that
on a table with rows, and MariaDB fills enum columns with an empty string no page can read
(app/core/migration_ops.py). Every test database here starts empty, so nothing else would
notice: a district running on the embedded default could not upgrade past 0009.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField
from tests.live import ROOT, live_server

BEFORE_ADDED_COLUMNS = "0008_evaluation"  # the last migration before the first AddField issue


def test_every_added_column_fills_the_rows_already_there():
    for path in sorted((ROOT / "migrations").glob("0*.py")):
        module = importlib.import_module(f"migrations.{path.stem}")
        for op in module.Migration.operations:
            if isinstance(op, ops.AddField):
                assert isinstance(op, AddFilledField), (path.stem, op.name)


def _run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _fill(url: str, var_dir: Path) -> dict[str, int]:
    """A resident's report with a photo and a community poll, through the API."""
    resident = httpx.post(f"{url}/api/v1/auth/dev", json={"openid": "alice"}).json()
    res = {"Authorization": f"Bearer {resident['access_token']}"}
    upload = httpx.post(f"{url}/api/v1/media/uploads", headers=res,
                        json={"purpose": "report"}).json()
    path = httpx.URL(upload["upload_url"]).raw_path.decode()  # the server's PUBLIC_BASE_URL
    sent = httpx.post(f"{url}{path}", headers=res,
                      files={"file": ("p.jpg", _photo(), "image/jpeg")})
    assert sent.status_code == 201, sent.text
    ticket = httpx.post(f"{url}/api/v1/tickets", headers=res, json={
        "category_code": "2004", "description": "三楼楼道堆满纸箱",
        "location": {"lng": 116.5703, "lat": 35.4418, "crs": "gcj02"},
        "media_ids": [upload["media_id"]]})
    assert ticket.status_code == 201, ticket.text
    passwords = dict(line.split("\t")[:2] for line in
                     (var_dir / "demo-accounts.txt").read_text().splitlines() if "\t" in line)
    login = httpx.post(f"{url}/api/v1/auth/login", json={
        "username": "community_staff", "password": passwords["community_staff"]}).json()
    staff = {"Authorization": f"Bearer {login['access_token']}"}
    poll = httpx.post(f"{url}/api/v1/polls", headers=staff, json={
        "area_code": "370811001001", "title": "加装电梯意见征集",
        "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "questions": [{"kind": "single", "prompt": "是否同意？",
                       "options": [{"id": "a", "label": "同意"}, {"id": "b", "label": "不同意"}]}]})
    assert poll.status_code == 201, poll.text
    return {"ticket": ticket.json()["id"], "poll": poll.json()["id"],
            "resident": resident["access_token"], "staff": login["access_token"]}


def test_an_upgrade_keeps_and_reads_the_rows_already_there(tmp_path):
    """Data written at the newest schema, the columns added since 0008 dropped (downgrade),
    then the migrations applied again over the rows: everything reads as before."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "QINIU_", "REDIS_URL", "DATABASE_"))}
    env.update({"APP_ENV": "dev", "DATABASE_URL": f"sqlite://{tmp_path / 'gongzhi.sqlite3'}",
                "VAR_DIR": str(tmp_path), "JOBS_IN_PROCESS": "false"})
    _run(env, "-m", "app", "migrate")
    _run(env, "-m", "app", "demo")
    with live_server(env, timeout=120) as url:
        made = _fill(url, tmp_path)
    _run(env, "-m", "app", "stats", "rebuild")  # rows in the rollups too
    _run(env, "-m", "tortoise", "downgrade", "models", BEFORE_ADDED_COLUMNS)
    _run(env, "-m", "app", "migrate")
    _run(env, "-m", "app", "check-migrations")
    with live_server(env, timeout=120) as url:
        res = {"Authorization": f"Bearer {made['resident']}"}
        ticket = httpx.get(f"{url}/api/v1/tickets/{made['ticket']}", headers=res)
        assert ticket.status_code == 200, ticket.text
        assert ticket.json()["description"] == "三楼楼道堆满纸箱"
        mine = httpx.get(f"{url}/api/v1/tickets/mine", headers=res)
        assert mine.status_code == 200 and mine.json()["items"], mine.text
        staff = {"Authorization": f"Bearer {made['staff']}"}
        poll = httpx.get(f"{url}/api/v1/polls/{made['poll']}", headers=staff)
        assert poll.status_code == 200, poll.text
        assert poll.json()["status"] == "open"  # a poll from before drafts is published
        summary = httpx.get(f"{url}/api/v1/stats/summary", headers=staff)
        assert summary.status_code == 200, summary.text
