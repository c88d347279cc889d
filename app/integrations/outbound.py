"""Requests we send to a partner, signed as theirs to us (docs/integrations.md), for the
outbox's registered senders: a failure raises DeliveryFailed, and the outbox retries."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import requests

from app.integrations import signing
from app.integrations.models import Integration
from app.integrations.service import current_secret
from app.notifications.delivery import DeliveryFailed

TIMEOUT_S = 5.0


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S).status_code


async def post_signed(*, integration_id: Any, payload: dict[str, Any], request_id: str) -> None:
    """POST `payload` to the integration's endpoint; a 2xx, or 409 (already received), is done.

    The caller gives the same `request_id` on every attempt of one delivery, so the partner
    can drop a second copy when our record of a success was lost.
    """
    integration = await Integration.get_or_none(id=integration_id)
    if integration is None or not integration.is_active or not integration.endpoint_url:
        raise DeliveryFailed("integration inactive or without endpoint_url")
    secret = await current_secret(integration_id=integration.id)
    if secret is None:
        raise DeliveryFailed("integration has no valid key")
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = signing.headers(secret, integration=integration.code,
                              timestamp=str(int(time.time())), request_id=request_id, body=body)
    try:
        status = await asyncio.to_thread(_post, integration.endpoint_url, body, headers)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{integration.code} unreachable: {type(exc).__name__}") from None
    if not (200 <= status < 300 or status == 409):
        raise DeliveryFailed(f"{integration.code} answered HTTP {status}")
