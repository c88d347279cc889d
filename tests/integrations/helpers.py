"""Integrations in tests: registered through the admin API, requests signed as a partner does."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.accounts.models import Role
from app.integrations import signing
from tests.factories import load_small_tree, make_staff


@dataclass
class Partner:
    code: str
    secret: str
    admin: dict[str, str]


async def register(client: httpx.AsyncClient, *, code: str = "hotline-jn",
                   kind: str = "hotline12345", admin: dict[str, str] | None = None,
                   **extra: Any) -> Partner:
    if admin is None:
        await load_small_tree()
        _, admin = await make_staff(Role.ADMIN, area_code="990100")
    created = await client.post("/api/v1/admin/integrations", headers=admin, json={
        "code": code, "name": "济南12345热线", "kind": kind, **extra})
    assert created.status_code == 201, created.text
    return Partner(code=code, secret=created.json()["secret"], admin=admin)


def signed(partner: Partner, payload: Any, *, secret: str | None = None,
           timestamp: int | None = None, request_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `client.post`: the body and its four signed headers."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    request_id = request_id or uuid.uuid4().hex
    return {"content": body, "headers": {
        "Content-Type": "application/json",
        signing.HEADER_INTEGRATION: partner.code,
        signing.HEADER_TIMESTAMP: stamp,
        signing.HEADER_REQUEST_ID: request_id,
        signing.HEADER_SIGNATURE: signing.sign(secret or partner.secret, timestamp=stamp,
                                               request_id=request_id, body=body),
    }}
