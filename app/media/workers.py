"""A small, fixed pool of image worker processes for each API process.

Why: decoding one hostile 49 MP PNG took the API process from 287 MB to 493 MB, six at once
to 2 GB, and glibc kept 1.5 GB of it for good (issue 10). Here at most ``workers`` images are
decoded at a time per API process, however many cores or uploads there are; the others wait
in line (holding only their upload bytes). Each decode runs in a child process
(:mod:`app.media.image_worker`) whose address space the kernel caps, which is ended after
``max_tasks`` images, after a decode that overruns ``timeout_s``, or when it dies, so that
the memory a decode took always goes back to the system.

One thread per worker slot does the blocking pipe I/O, so the event loop never waits.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.media.image_worker import read_frame, write_frame
from app.media.images import ImageRejected, ProcessedImage

__all__ = ["PoolConfig", "WorkersBusy", "process_in_worker", "shutdown"]

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]  # where `app` is importable from


@dataclass(frozen=True, slots=True)
class PoolConfig:
    workers: int = 2
    max_tasks: int = 25
    timeout_s: float = 15.0
    memory_mb: int = 512
    queue_max: int = 16  # uploads decoding or waiting to, per API process; more: 503
    queue_wait_s: float = 15.0  # an upload that waited longer for a worker: 503, not decoded


class WorkersBusy(Exception):
    """Too many uploads already in line for an image worker here, or this one waited too long."""


class _Worker:
    """One child process; used by one pool thread at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.media.image_worker", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=_ROOT,
        )
        self.tasks = 0

    def run(self, header: dict[str, int], data: bytes, *, timeout_s: float,
            max_blob: int) -> tuple[dict[str, object], list[bytes]] | None:
        """The worker's answer, or None when it died or overran (then it is killed)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.tasks += 1
        timer = threading.Timer(timeout_s, self.proc.kill)
        timer.start()
        try:
            write_frame(self.proc.stdin, header, data)
            return read_frame(self.proc.stdout, max_blob=max_blob)
        except (OSError, ValueError):
            return None
        finally:
            timer.cancel()

    def stop(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            _close(stream)
        try:
            self.proc.wait(2)  # EOF on stdin: it exits by itself
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _close(stream: IO[bytes] | None) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass


class _Pool:
    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._local = threading.local()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self.in_line = 0  # submitted and not finished; guarded by _lock
        self.executor = ThreadPoolExecutor(max_workers=config.workers,
                                           thread_name_prefix="image-worker")

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is not None and worker.proc.poll() is not None:
            self._retire(worker)  # died while idle (e.g. the OOM killer): start another
            worker = None
        if worker is None:
            worker = _Worker(self.config.memory_mb)
            self._local.worker = worker
            with self._lock:
                self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        self._local.worker = None
        with self._lock:
            self._all.discard(worker)
        worker.stop()

    def process(self, data: bytes, limits: dict[str, int], queued_at: float) -> ProcessedImage:
        # Why: past this wait the answer would come after the client's (and Sanic's 30 s)
        # timeout; better a quick "retry later" than work nobody will receive.
        if time.monotonic() - queued_at > self.config.queue_wait_s:
            raise WorkersBusy
        worker = self._worker()
        answer = worker.run(limits, data, timeout_s=self.config.timeout_s,
                            max_blob=limits["max_bytes"] + (64 << 20))
        if answer is None:
            overran = worker.proc.poll() is not None and worker.proc.returncode < 0
            self._retire(worker)
            log.warning("image worker %s (exit %s): upload refused", "killed" if overran else
                        "failed", worker.proc.returncode)
            raise ImageRejected("image_too_complex",
                                "图片处理超时或失败，请压缩或换一张图片后重新上传")
        if worker.tasks >= self.config.max_tasks:
            self._retire(worker)  # a fresh process returns whatever this one still held
        header, blobs = answer
        if not header.get("ok"):
            if "error" in header:
                raise RuntimeError(f"image worker: {header['error']}")
            raise ImageRejected(str(header["code"]), str(header["message"]))
        content, thumbnail = blobs
        width, height = header["width"], header["height"]
        if not isinstance(width, int) or not isinstance(height, int):
            raise RuntimeError("image worker: malformed answer")
        return ProcessedImage(
            content=content, mime="image/jpeg", ext="jpg", width=width, height=height,
            thumbnail=thumbnail, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
        )

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _pool_for(config: PoolConfig) -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.config != config:
            old, _pool = _pool, _Pool(config)
            if old is not None:
                old.shutdown()
        return _pool


async def process_in_worker(data: bytes, *, config: PoolConfig, max_bytes: int, max_pixels: int,
                            max_decoded_pixels: int) -> ProcessedImage:
    """Run :func:`app.media.images.process_image` in the pool; same result, same errors.

    Raises ImageRejected (including ``image_too_complex`` when the worker overran its time or
    died on the input); a cancelled caller (client gone) drops its place in the line.
    """
    pool = _pool_for(config)
    limits = {"max_bytes": max_bytes, "max_pixels": max_pixels,
              "max_decoded_pixels": max_decoded_pixels}
    # Why a bound on the line: every waiting upload holds its body (up to MEDIA_MAX_BYTES)
    # in this process, and past a few seconds' worth of work the client times out anyway.
    with pool._lock:
        if pool.in_line >= config.queue_max:
            raise WorkersBusy
        pool.in_line += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool.executor, pool.process, data, limits,
                                          time.monotonic())
    finally:
        with pool._lock:
            pool.in_line -= 1


def shutdown() -> None:
    """Stop the pool's processes (tests; at exit they stop by themselves on EOF)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown()
            _pool = None
