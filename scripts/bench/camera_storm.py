"""Camera storm: N devices post M signed events each, concurrently, to a real server on SQLite.

    .venv/bin/python scripts/bench/camera_storm.py [--devices 100] [--per-device 10]
        [--concurrency 32] [--snapshot 320x240]

The script makes a throw-away VAR_DIR (SQLite file, media), migrates it, loads one small
district, registers a camera integration and the devices, and starts `create_app()` in a
child process (one Sanic process, as `python -m app serve --workers 1`). It then sends every
event once (a JPEG snapshot with EXIF GPS in each) in shuffled order with `--concurrency`
requests in flight, resending a 503 (photo workers full) as a platform should, and prints:
events per second, the cases made (and whether they are the expected number), how the
events ended, and the server's CPU time per event (the server process plus its photo
worker processes, from /proc). The default run takes well under a minute.

Per device the events are 6 of `illegal_parking` (one below the confidence threshold) and 4
of `garbage_overflow`: 2 cases per device, 1 event per device for review.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench import _common as common  # noqa: E402

SECRET = "bench-secret-" + uuid.uuid4().hex
INTEGRATION = "bench-cam"
WEST, SOUTH, EAST, NORTH = 116.50, 35.40, 116.54, 35.42
POINT = (116.505, 35.405)


def serve(port: int) -> None:
    """The server child: what `python -m app serve --workers 1` runs."""
    from sanic import Sanic

    from app.main import create_app

    app = create_app(name="gongzhi_camera_bench")
    app.prepare(host="127.0.0.1", port=port, workers=1, single_process=True, access_log=False,
                motd=False)
    Sanic.serve_single(primary=app)


def _tree() -> dict:
    def feature(code: str, kind: str, parent: str | None, x0: float, x1: float) -> dict:
        ring = [[x0, SOUTH], [x1, SOUTH], [x1, NORTH], [x0, NORTH], [x0, SOUTH]]
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"code": code, "name": f"基准{code}", "kind": kind,
                               "parent_code": parent}}

    return {"type": "FeatureCollection", "crs": "wgs84", "features": [
        feature("990100", "district", None, WEST, EAST),
        feature("990100001", "street", "990100", WEST, EAST),
        feature("990100001001", "community", "990100001", WEST, EAST),
        feature("990100001001001", "grid", "990100001001", WEST, (WEST + EAST) / 2),
        feature("990100001001002", "grid", "990100001001", (WEST + EAST) / 2, EAST)]}


async def _set_up(devices: int) -> None:
    """In this process, on the bench database: areas, a camera platform, its devices."""
    from app.areas import service as areas
    from app.areas.schemas import FeatureCollection
    from app.core import db
    from app.devices.models import Device
    from app.integrations.models import Integration, IntegrationKey
    from app.settings import current

    await db.init_db(current())
    try:
        await areas.import_areas(collection=FeatureCollection.model_validate(_tree()), crs=None,
                                 actor=None)
        cell = await areas.locate_cell(lng=POINT[0], lat=POINT[1], crs="wgs84")
        assert cell is not None
        platform = await Integration.create(code=INTEGRATION, name="基准摄像头平台",
                                            kind="camera", rate_per_minute=100_000)
        await IntegrationKey.create(integration_id=platform.id, secret=SECRET,
                                    prefix=SECRET[:6])
        await Device.bulk_create([
            Device(code=f"CAM-{i:04d}", name=f"路口 {i}", kind="camera", lng=POINT[0],
                   lat=POINT[1], crs="wgs84", cell_id=cell.id, area_path=cell.path,
                   integration_id=platform.id) for i in range(devices)])
    finally:
        await db.close_db()


def _snapshot(size: tuple[int, int]) -> str:
    from PIL import Image

    image = Image.new("RGB", size, "gray")
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (35.0, 24.0, 18.0), "E", (116.0, 30.0, 18.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, exif=exif)
    return base64.b64encode(out.getvalue()).decode()


def _events(devices: int, per_device: int, snapshot: str) -> list[dict]:
    events = []
    for i in range(devices):
        for j in range(per_device):
            kind = "illegal_parking" if j < 6 else "garbage_overflow"
            events.append({"event_id": f"EV-{i:04d}-{j:03d}", "device_code": f"CAM-{i:04d}",
                           "event_type": kind, "confidence": 0.3 if j == 5 else 0.95,
                           "occurred_at": datetime.now(UTC).isoformat(),
                           "snapshot": snapshot})
    random.Random(14).shuffle(events)
    return events


async def _storm(base_url: str, events: list[dict], concurrency: int
                 ) -> tuple[list[dict], int, float]:
    import httpx

    from app.integrations import signing

    gate = asyncio.Semaphore(concurrency)
    retries = 0

    async def one(http: httpx.AsyncClient, payload: dict) -> dict:
        nonlocal retries
        body = json.dumps(payload).encode()
        async with gate:
            for _ in range(100):
                stamp, request_id = str(int(time.time())), uuid.uuid4().hex
                answer = await http.post("/api/v1/hooks/devices/events", content=body,
                                         headers=signing.headers(
                                             SECRET, integration=INTEGRATION, timestamp=stamp,
                                             request_id=request_id, body=body))
                if answer.status_code != 503:
                    answer.raise_for_status()
                    return dict(answer.json())
                retries += 1
                await asyncio.sleep(0.05)
        raise RuntimeError("still 503 after 100 tries")

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        started = time.perf_counter()
        answers = await asyncio.gather(*(one(http, e) for e in events))
        return answers, retries, time.perf_counter() - started


def _tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its children (the photo worker processes)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--per-device", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--snapshot", default="320x240", help="snapshot size, WxH")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server child
    args = parser.parse_args(argv)
    if args.serve_port:
        serve(args.serve_port)
        return 0

    var_dir = Path(tempfile.mkdtemp(prefix="gongzhi-camera-bench-"))
    env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": "", "REDIS_URL": "",
           "VAR_DIR": str(var_dir), "JOBS_IN_PROCESS": "false", "WECHAT_APPID": "",
           "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex, "QINIU_ACCESS_KEY": ""}
    os.environ.update(env)
    server: common.ServerProcess | None = None
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        asyncio.run(_set_up(args.devices))
        port = common.free_port()
        server = common.ServerProcess([sys.executable, str(Path(__file__).resolve()),
                                       "--serve-port", str(port)], env, port,
                                      var_dir / "server.log")
        # Polled before its worker is up, this single-process server kept the early
        # connections hanging (seen here): wait for its log line first, then ask /readyz.
        deadline = time.monotonic() + 90
        while "Worker ready" not in server.tail() and time.monotonic() < deadline:
            time.sleep(0.5)
        server.wait_ready()
        width, height = (int(v) for v in args.snapshot.split("x"))
        events = _events(args.devices, args.per_device, _snapshot((width, height)))
        cpu_before = _tree_cpu(server.proc.pid)
        answers, retries, elapsed = asyncio.run(_storm(server.base_url, events,
                                                       args.concurrency))
        cpu = _tree_cpu(server.proc.pid) - cpu_before
        server.stop()
        server = None
        ended = Counter(a["status"] for a in answers)
        db = sqlite3.connect(var_dir / "gongzhi.sqlite3")
        tickets = db.execute("SELECT count(*) FROM tickets WHERE source = 'camera'").fetchone()[0]
        recorded = db.execute("SELECT count(DISTINCT external_id), count(*) "
                              "FROM device_events").fetchone()
        db.close()
        expected = args.devices * (min(args.per_device, 6) > 0) + \
            args.devices * (args.per_device > 6)
        print(f"camera storm: {len(events):,} events from {args.devices} devices, "
              f"{args.concurrency} in flight, snapshot {args.snapshot} JPEG with EXIF GPS, SQLite")
        print(f"  events/s            {len(events) / elapsed:,.0f}  ({elapsed:.1f} s)")
        print(f"  cases made          {tickets}  (expected {expected}: "
              f"{'OK' if tickets == expected else 'WRONG'})")
        print(f"  events recorded     {recorded[1]:,} rows, {recorded[0]:,} distinct ids "
              f"({'each once' if recorded == (len(events), len(events)) else 'WRONG'})")
        print(f"  how they ended      {dict(sorted(ended.items()))}")
        print(f"  503 resent          {retries}")
        print(f"  server CPU/event    {cpu / len(events) * 1000:.1f} ms "
              "(server process + photo workers)")
        return 0 if tickets == expected and recorded == (len(events), len(events)) else 1
    finally:
        if server is not None:
            print(server.tail())
            server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
