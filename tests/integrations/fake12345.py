"""A fake 12345 platform on 127.0.0.1: answers 500 to its first `failures` requests, then 200,
and keeps every request it accepted (headers and JSON body)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fake12345:
    failures: int = 2
    url: str = ""
    seen: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextlib.contextmanager
def fake_12345(*, failures: int = 2) -> Iterator[Fake12345]:
    fake = Fake12345(failures=failures)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with fake.lock:
                fake.seen += 1
                fail = fake.seen <= fake.failures
                if not fail:
                    fake.accepted.append({"headers": dict(self.headers), "raw": raw,
                                          "body": json.loads(raw)})
            self.send_response(500 if fail else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": false}' if fail else b'{"ok": true}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/orders/status"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
