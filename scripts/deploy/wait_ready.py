"""Wait until a URL answers 200 (default: the local API's /readyz); exit 1 after the deadline.

    python scripts/deploy/wait_ready.py [URL] [SECONDS]

For systemd's ExecStartPost (so `systemctl start` returns once the server is ready) and for
rolling-restart scripts. Standard library only: runs with any Python 3.
"""

from __future__ import annotations

import sys
import time
import urllib.request


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/readyz"
    deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 90.0)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return 0
        except OSError:  # refused, timed out, or an HTTP error status (503 while starting)
            pass
        time.sleep(0.5)
    print(f"{url} did not answer 200 in time", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
