"""What Redis trouble costs a write: p50/p95/p99 of `PATCH /api/v1/me` with Redis healthy, frozen
(SIGSTOP), thawed again, and killed outright.

The script starts everything itself: a private redis-server on a free port (it has to stop it),
a throw-away SQLite database under a temp VAR_DIR, and `python -m app serve --workers N` with
REDIS_URL pointing at that Redis. Each client logs in as its own resident (dev login) and sends
one write after another (closed loop). A write makes two rate-limit counter calls (per address,
per user) before its database update, so it is what a Redis in trouble slows down. Writes are
limited high enough that none is refused.

    .venv/bin/python scripts/bench/redis_freeze.py                   # 4 clients, 10 s a phase
    .venv/bin/python scripts/bench/redis_freeze.py --clients 8 --seconds 20 --workers 2

Target (issue 16): p95 with Redis frozen ≤ 2 × p95 with Redis healthy.
Needs redis-server on PATH (`apt-get install -y redis-server`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

from _common import ROOT, LoadResult, ServerProcess, closed_loop, free_port, mark


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        check = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if check.stdout.strip() == b"PONG":
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("redis-server did not answer within 30 s")


def row(label: str, r: LoadResult) -> str:
    slow = sum(1 for x in r.latencies if x > 0.25)
    return (f"{label:<26} {r.ok:>7,} {r.errors:>6} {r.rps:>8.0f} {r.pct(50):>8.1f} "
            f"{r.pct(95):>8.1f} {r.pct(99):>8.1f} {max(r.latencies, default=0) * 1000:>9.1f} "
            f"{slow:>7}")


async def measure(base_url: str, redis: subprocess.Popen[bytes],
                  args: argparse.Namespace) -> list[tuple[str, LoadResult]]:
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=60,
                                 limits=httpx.Limits(max_connections=args.clients)) as http:
        headers = []
        for i in range(args.clients):
            answer = await http.post("/api/v1/auth/dev", json={"openid": f"bench-{i}"})
            answer.raise_for_status()
            headers.append({"Authorization": f"Bearer {answer.json()['access_token']}"})

        async def write(w: int, seq: int) -> str | None:
            answer = await http.patch("/api/v1/me", json={"display_name": f"n{seq % 97}"},
                                      headers=headers[w])
            return None if answer.status_code == 200 else f"{answer.status_code}"

        async def phase(name: str) -> LoadResult:
            return await closed_loop(name, write, concurrency=args.clients, seconds=args.seconds)

        await phase("warm-up")
        results = [("Redis healthy", await phase("healthy"))]
        os.kill(redis.pid, signal.SIGSTOP)
        try:
            results.append(("Redis frozen (SIGSTOP)", await phase("frozen")))
        finally:
            os.kill(redis.pid, signal.SIGCONT)
        await asyncio.sleep(3)  # the breaker's probe runs every 2 s
        results.append(("Redis thawed (SIGCONT)", await phase("thawed")))
        redis.kill()
        redis.wait(10)
        results.append(("Redis killed", await phase("killed")))
    return results


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="gongzhi-redis-freeze-"))
    redis, redis_port = start_redis(workdir)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "QINIU_", "DATABASE_", "REDIS_"))}
    env.update(APP_ENV="test", VAR_DIR=str(workdir / "var"), JOBS_IN_PROCESS="false",
               REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
               RATE_WRITES_PER_MINUTE="10000000", RATE_LOGIN_PER_MINUTE="10000000")
    if args.redis_timeout is not None:
        env["REDIS_TIMEOUT"] = str(args.redis_timeout)
    server = None
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        port = free_port()
        server = ServerProcess([sys.executable, "-m", "app", "serve", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(args.workers)],
                               env, port, workdir / "server.log")
        server.wait_ready(timeout=180)
        results = asyncio.run(measure(server.base_url, redis, args))
    finally:
        if server is not None:
            server.stop()
        if redis.poll() is None:
            os.kill(redis.pid, signal.SIGCONT)
            redis.kill()
            redis.wait(10)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"PATCH /api/v1/me, {args.clients} clients, {args.workers} worker(s), "
          f"{args.seconds:g} s a phase, REDIS_TIMEOUT "
          f"{args.redis_timeout if args.redis_timeout is not None else 'default'}")
    print(f"{'phase':<26} {'writes':>7} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>9} {'>250ms':>7}")
    for label, result in results:
        print(row(label, result))
    healthy, frozen = results[0][1], results[1][1]
    ratio = frozen.pct(95) / healthy.pct(95)
    ok = ratio <= 2.0 and not frozen.errors
    print(f"p95 frozen / healthy = {ratio:.2f} (target ≤ 2.00: {mark(ok)})")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-timeout", type=float, default=None,
                        help="REDIS_TIMEOUT for the server (default: the setting's default)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH (apt-get install -y redis-server)", file=sys.stderr)
        return 2
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
