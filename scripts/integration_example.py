#!/usr/bin/env python3
"""Send one signed request to Gongzhi, as an outside system does (docs/integrations.md).

Standard library only, so it can be copied into any integration:

    GONGZHI_URL=http://127.0.0.1:8000 GONGZHI_INTEGRATION=hotline-jn GONGZHI_SECRET=... \
        python3 scripts/integration_example.py [path] [json-body]

The path defaults to /api/v1/hooks/ping (which answers what the request was accepted as); the
answer is printed, and the exit status is 0 for a 2xx, 1 otherwise. tests/integrations runs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def signed_headers(*, integration: str, secret: str, body: bytes) -> dict[str, str]:
    """The four headers of a signed request."""
    timestamp = str(int(time.time()))
    request_id = uuid.uuid4().hex  # new for every request; reuse it only to retry the same one
    message = f"{timestamp}.{request_id}.".encode() + body
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Gongzhi-Integration": integration,
        "X-Gongzhi-Timestamp": timestamp,
        "X-Gongzhi-Request-Id": request_id,
        "X-Gongzhi-Signature": f"sha256={signature}",
    }


def send(url: str, *, integration: str, secret: str, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers=signed_headers(integration=integration, secret=secret, body=body))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/api/v1/hooks/ping"
    payload = json.loads(argv[2]) if len(argv) > 2 else {"hello": "共治"}
    status, answer = send(os.environ.get("GONGZHI_URL", "http://127.0.0.1:8000") + path,
                          integration=os.environ["GONGZHI_INTEGRATION"],
                          secret=os.environ["GONGZHI_SECRET"], payload=payload)
    print(status, json.dumps(answer, ensure_ascii=False))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
