"""The image worker process: `python -m app.media.image_worker MEMORY_MB`.

Started and recycled by :mod:`app.media.workers`; runs :func:`process_image` on one upload at a
time, read from stdin, answered on stdout. Why a process of its own: decoding an untrusted image
costs hundreds of MB for a moment, and glibc rarely gives such memory back to the system, so in
the API process it stays taken for good. Here the kernel caps it (RLIMIT_AS), and the parent
ends the process after a number of tasks or when it overruns its time, which returns all of it.

Frames both ways: a 4-byte big-endian length, that many bytes of a JSON header whose "sizes"
lists the byte blobs that follow. No pickle: what comes back from a process that has just
decoded hostile bytes is parsed as data, never as code. This module imports nothing from the
app but the image code, so a worker stays small.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import struct
import sys
from typing import IO, Any

__all__ = ["read_frame", "write_frame", "main"]

_MAX_HEADER = 64 * 1024


def write_frame(stream: IO[bytes], header: dict[str, Any], *blobs: bytes) -> None:
    head = json.dumps({**header, "sizes": [len(b) for b in blobs]}).encode()
    stream.write(struct.pack(">I", len(head)) + head)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes], *, max_blob: int) -> tuple[dict[str, Any], list[bytes]] | None:
    """The next frame, or None at end of stream (the other side is gone)."""
    raw = _read_exact(stream, 4)
    if raw is None:
        return None
    (size,) = struct.unpack(">I", raw)
    if size > _MAX_HEADER:
        raise ValueError("frame header too large")
    head = _read_exact(stream, size)
    if head is None:
        return None
    header = json.loads(head)
    if not isinstance(header, dict) or not isinstance(header.get("sizes"), list):
        raise ValueError("malformed frame header")
    blobs = []
    for n in header["sizes"]:
        if not isinstance(n, int) or not 0 <= n <= max_blob:
            raise ValueError("frame blob size out of range")
        blob = _read_exact(stream, n)
        if blob is None:
            return None
        blobs.append(blob)
    return header, blobs


def _malloc_trim() -> None:
    """Hand freed heap back to the system (glibc only; elsewhere a no-op)."""
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def main() -> None:
    import resource

    from PIL import Image

    from app.media.images import ImageRejected, process_image

    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if memory_mb > 0:  # a decode that needs more fails here with MemoryError, not the host
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    while True:
        frame = read_frame(inp, max_blob=1 << 30)
        if frame is None:
            return  # the API process closed the pipe (recycling, or it exited)
        header, blobs = frame
        limits = {k: int(header[k]) for k in ("max_bytes", "max_pixels", "max_decoded_pixels")}
        # Pillow's own bomb guard, at our limit: only this process decodes, so setting the
        # global is safe here (it would not be in the threaded API process).
        Image.MAX_IMAGE_PIXELS = limits["max_pixels"]
        try:
            image = process_image(blobs[0], **limits)
        except ImageRejected as exc:
            code, message = exc.code, exc.message
            if isinstance(exc.__cause__, MemoryError):  # over RLIMIT_AS: too big to decode
                code, message = "image_too_many_pixels", "图片分辨率过高，请压缩后重新上传"
            write_frame(out, {"ok": False, "code": code, "message": message})
        except Exception as exc:  # a bug, not the image: the parent answers 500
            write_frame(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        else:
            write_frame(out, {"ok": True, "width": image.width, "height": image.height},
                        image.content, image.thumbnail)
            del image
        del blobs, frame
        gc.collect()
        _malloc_trim()


if __name__ == "__main__":
    main()
