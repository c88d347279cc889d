"""Benchmark: hostile photo uploads at once, and what they do to the server's memory.

Usage: python scripts/bench/upload_memory.py [--hostile 50] [--normal 10] [--near-limit 50]
       [--workers 1] [--settle 15] [--retries 3]

Starts `python -m app serve` on 127.0.0.1 (its own process group, demo data, SQLite in a
temporary VAR_DIR, write limits raised so that the throttle does not answer for the decoder),
and while it runs samples the resident set size of every process in that group (the Sanic
manager, its API workers and any image workers they start: /proc/<pid>/status VmRSS, summed)
every 50 ms. Then, each phase with every upload in flight at once:

1. `hostile`: --hostile PNGs of 7000x7000 = 49 megapixels, palette + transparency, about 60 KB
   each (a decompression bomb below the old 50 MP header limit), plus --normal ordinary phone
   photos (4032x3024 JPEG) sent at the same moment; every normal photo must be accepted (an
   upload answered 503 image_workers_busy is sent again 2 s later, up to --retries times, as
   the mini-program does; the near-limit phase does the same).
2. `near-limit`: --near-limit PNGs at the largest size the server accepts (just under its
   decoded-pixel budget, IMAGE_MAX_DECODED_PIXELS), the worst case it must actually decode.

For each phase: the answers by status, wall time, peak RSS during the phase and the settled
RSS --settle seconds after its last answer, both against the idle baseline (after one small
warm-up upload). Only loopback traffic; the server's whole process group is stopped at the end.
See docs/benchmarks.md (Upload memory).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from _common import ROOT, ServerProcess, free_port

HOSTILE_SIDE = 7000  # 49 MP
RETRIES = 0  # --retries: resend an upload answered 503 image_workers_busy, 2 s later


def png_bomb(side: int) -> bytes:
    """A one-colour palette PNG with a transparent index: tiny on disk, RGBA when decoded."""
    from PIL import Image

    image = Image.new("P", (side, side), 1)
    image.putpalette([255, 255, 255, 200, 40, 40] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True, transparency=0)
    return out.getvalue()


def phone_photo() -> bytes:
    """A 12 MP JPEG with some texture, about what a phone sends."""
    from PIL import Image

    w, h = 4032, 3024
    image = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    noise = Image.effect_noise((w, h), 40).convert("RGB")
    image = Image.blend(image, noise, 0.3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def group_rss_kib(pgid: int) -> tuple[int, int]:
    """VmRSS summed over every live process in the group (the server and all its children),
    and the part of it in image worker processes."""
    total = workers = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            # Field 5 is the pgid; the command name (field 2) may hold spaces, skip past ")".
            if int(stat.rsplit(b")", 1)[1].split()[2]) != pgid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                is_worker = b"app.media.image_worker" in f.read()
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        workers += int(line.split()[1]) if is_worker else 0
                        break
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total, workers


class Sampler(threading.Thread):
    def __init__(self, pgid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pgid, self.every = pgid, every
        self.samples: list[tuple[float, tuple[int, int]]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic(), group_rss_kib(self.pgid)))
            time.sleep(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def between(self, start: float, end: float) -> list[int]:
        """Whole-group RSS samples in [start, end]."""
        return [kib for t, (kib, _) in self.samples if start <= t <= end]

    def api_between(self, start: float, end: float) -> list[int]:
        """The same without the image worker processes: the Sanic manager and API workers."""
        return [kib - w for t, (kib, w) in self.samples if start <= t <= end]


def mib(kib: float) -> str:
    return f"{kib / 1024:7.0f} MiB"


def _answer(response) -> str:
    """"201", or the status with the envelope's error code: "422 image_too_many_pixels"."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


async def upload(client, token: str, data: bytes, name: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    start = await client.post("/api/v1/media/uploads", json={"purpose": "report"}, headers=headers)
    if start.status_code != 201:
        return _answer(start)
    ticket = start.json()
    for attempt in range(RETRIES + 1):
        sent = await client.post(f"/api/v1/media/uploads/{ticket['media_id']}/file",
                                 headers=headers,
                                 files={"file": (name, data, "application/octet-stream")})
        answer = _answer(sent)
        if answer != "503 image_workers_busy" or attempt == RETRIES:
            break
        await asyncio.sleep(2.0)  # as the mini-program does: "busy, retry later"
    return answer if attempt == 0 else f"{answer} (after {attempt} busy)"


async def phase(base: str, token: str,
                batches: list[tuple[str, bytes, int]]) -> dict[str, Counter[str]]:
    import httpx

    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(base_url=base, timeout=120.0, limits=limits) as client:
        jobs = [(label, upload(client, token, data, f"{label}.bin"))
                for label, data, count in batches for _ in range(count)]
        codes = await asyncio.gather(*(job for _, job in jobs))
    result: dict[str, Counter[str]] = {}
    for (label, _), code in zip(jobs, codes, strict=True):
        result.setdefault(label, Counter())[code] += 1
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hostile", type=int, default=50)
    parser.add_argument("--normal", type=int, default=10)
    parser.add_argument("--near-limit", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes")
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--retries", type=int, default=3,
                        help="resend a photo answered 503 image_workers_busy up to this often")
    args = parser.parse_args()
    global RETRIES
    RETRIES = args.retries

    import httpx

    sys.path.insert(0, str(ROOT))
    from app.settings import Settings

    # The largest PNG the server will decode: its budget if it has one, else its header limit.
    fields = Settings.model_fields
    budget = fields["image_max_decoded_pixels"].default if "image_max_decoded_pixels" in fields \
        else 50_000_000
    near_side = int((budget - 1) ** 0.5)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; building the files…")
    bomb, photo, near = png_bomb(HOSTILE_SIDE), phone_photo(), png_bomb(near_side)
    print(f"hostile PNG {HOSTILE_SIDE}x{HOSTILE_SIDE} {len(bomb) / 1024:.0f} KB, "
          f"phone JPEG 4032x3024 {len(photo) / 1024:.0f} KB, "
          f"near-limit PNG {near_side}x{near_side} {len(near) / 1024:.0f} KB")

    work = Path(tempfile.mkdtemp(prefix="gongzhi-upmem."))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET")}
    env.update(APP_ENV="dev", VAR_DIR=str(work / "var"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               RATE_WRITES_PER_MINUTE="100000", RATE_LOGIN_PER_MINUTE="100000")
    py = sys.executable
    for step in ("migrate", "demo"):
        import subprocess

        subprocess.run([py, "-m", "app", step], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ServerProcess([py, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(args.workers)], env, port, work / "server.log")
    sampler = Sampler(server.proc.pid)
    try:
        server.wait_ready("/healthz")
        sampler.start()
        base = server.base_url
        token = httpx.post(f"{base}/api/v1/auth/dev", json={"openid": "bench-uploader"}).json()[
            "access_token"]
        warm = asyncio.run(phase(base, token, [("warm-up", photo, 1)]))
        assert warm["warm-up"] == Counter({"201": 1}), warm
        time.sleep(3)
        t = time.monotonic()
        idle = max(sampler.between(t - 2, t))
        print(f"\nidle baseline (after one upload): {mib(idle)}, "
              f"of which image workers {mib(idle - max(sampler.api_between(t - 2, t)))}")

        plan = [("hostile", [("hostile-png-49MP", bomb, args.hostile),
                             ("phone-jpeg-12MP", photo, args.normal)]),
                ("near-limit", [(f"png-{near_side}x{near_side}", near, args.near_limit)])]
        failed = False
        for name, batches in plan:
            if not any(count for _, _, count in batches):
                continue
            start = time.monotonic()
            codes = asyncio.run(phase(base, token, batches))
            done = time.monotonic()
            time.sleep(args.settle)
            end = time.monotonic()
            peak = max(sampler.between(start, done + 1))
            api_peak = max(sampler.api_between(start, done + 1))
            settled = max(sampler.between(end - 2, end))
            api_settled = max(sampler.api_between(end - 2, end))
            answers = "; ".join(f"{label}: " + ", ".join(f"{n}× {code}"
                                                          for code, n in sorted(c.items()))
                                for label, c in codes.items())
            print(f"\n[{name}] {answers}  ({done - start:.1f} s)")
            print(f"  peak    {mib(peak)}  (+{(peak - idle) / 1024:.0f} MiB over idle)")
            print(f"  settled {mib(settled)}  (+{(settled - idle) / 1024:.0f} MiB, "
                  f"{args.settle:g} s after the last answer)")
            print(f"  without image workers: peak {mib(api_peak)}, settled {mib(api_settled)}")
            if not all(code.startswith("201")
                       for code in codes.get("phone-jpeg-12MP", Counter({"201": 1}))):
                failed = True
                print("  FAIL: an ordinary photo was not accepted")
            # 503 image_workers_busy is the deliberate answer past the line limit; any other
            # 5xx (a crash, Sanic's response timeout) is a failure.
            if any(code.startswith("5") and not code.startswith("503 image_workers_busy")
                   for c in codes.values() for code in c):
                failed = True
                print("  FAIL: server errors")
        return 1 if failed else 0
    finally:
        sampler.stop()
        server.stop()
        try:  # anything of ours left in the group (image workers of a killed API worker)
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    sys.exit(main())
