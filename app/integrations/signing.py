"""The signature of an integration request, as pure functions (docs/integrations.md).

    signature = hex(HMAC-SHA256(secret, f"{timestamp}.{request_id}.".encode() + body))

sent as `X-Gongzhi-Signature: sha256=<hex>`. The request id is signed too, so that a captured
request cannot be replayed under a fresh id inside the clock window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

HEADER_INTEGRATION = "X-Gongzhi-Integration"
HEADER_TIMESTAMP = "X-Gongzhi-Timestamp"
HEADER_REQUEST_ID = "X-Gongzhi-Request-Id"
HEADER_SIGNATURE = "X-Gongzhi-Signature"
SCHEME = "sha256="
MAX_SKEW_S = 300  # ±5 minutes
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, *, timestamp: str, request_id: str, body: bytes) -> str:
    """The header value `sha256=<hex>` for this request."""
    message = f"{timestamp}.{request_id}.".encode() + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def matches(secrets: Iterable[str], *, signature: str, timestamp: str, request_id: str,
            body: bytes) -> bool:
    """Whether `signature` was made with one of `secrets` (compared in constant time)."""
    found = False
    for secret in secrets:  # every key is tried, so timing does not tell which one matched
        expected = sign(secret, timestamp=timestamp, request_id=request_id, body=body)
        found |= hmac.compare_digest(expected.encode(), signature.encode())
    return found


def within_skew(timestamp: str, *, now: float, skew_s: int = MAX_SKEW_S) -> bool:
    """Whether a Unix-seconds timestamp lies within ±`skew_s` of `now`."""
    return bool(TIMESTAMP.fullmatch(timestamp)) and abs(int(timestamp) - now) <= skew_s


def headers(secret: str, *, integration: str, timestamp: str, request_id: str,
            body: bytes) -> dict[str, str]:
    """The headers of a signed JSON request (what we send to a partner, as they send to us)."""
    return {
        "Content-Type": "application/json",
        HEADER_INTEGRATION: integration,
        HEADER_TIMESTAMP: timestamp,
        HEADER_REQUEST_ID: request_id,
        HEADER_SIGNATURE: sign(secret, timestamp=timestamp, request_id=request_id, body=body),
    }
