"""Idempotency-Key: a write retried with the same key answers as the first did, never twice.

Reports keep the ticket they made (`IdempotencyRecord.ticket_id`) and answer with its detail;
every other state-changing call keeps its whole answer (status and body) and replays it.
A key belongs to one user; the same key on another call or with another body is refused
(422 idempotency_key_reused), so a client bug cannot turn a retry into a different write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.core.errors import Conflict, Invalid
from app.tickets.models import IdempotencyRecord

# What an idempotent call answers: its HTTP status and its JSON body.
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Replayable:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def valid_key(key: str) -> bool:
    return 0 < len(key) <= 128 and all(33 <= ord(c) <= 126 for c in key)


def checked_key(key: str | None) -> str | None:
    """The key as sent (None or empty: none), or 422 if it is malformed."""
    if key is not None and key != "" and not valid_key(key):
        raise Invalid("Idempotency-Key 格式有误", code="invalid_idempotency_key")
    return key or None


def request_hash(body: Any, *, scope: str = "") -> str:
    """The fingerprint of a request: its call (`scope`, e.g. "POST /tasks/7/claim") and body.

    Reports hash their body alone (scope ""), as they always have, so keys stored before
    this module keep replaying.
    """
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    if scope:
        text = f"{scope}\n{text}"
    return hashlib.sha256(text.encode()).hexdigest()


async def lookup(*, actor: User, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """The record of an earlier request with this key, or None; 422 if its content differed."""
    record = await IdempotencyRecord.get_or_none(user_id=actor.id, key=key)
    if record is not None and record.request_hash != fingerprint:
        raise Invalid("同一个 Idempotency-Key 用于了不同的内容", code="idempotency_key_reused")
    return record


def _in_progress() -> Conflict:
    return Conflict("相同的请求正在处理中，请稍后", code="idempotency_in_progress")


async def once(*, actor: User, key: str | None, scope: str, body: Any,
               run: Callable[[], Awaitable[Answer]]) -> Replayable:
    """Run `run` once per (actor, key): a retry replays the stored answer.

    The key is written first, in the transaction of the write itself: a concurrent twin
    waits on the unique index (MariaDB) or on the transaction (SQLite) and then replays;
    an answer lost after the commit is still stored; a failed write stores nothing, so its
    retry runs again.
    """
    key = checked_key(key)
    if key is None:
        status, payload = await run()
        return Replayable(status, payload)
    fingerprint = request_hash(body, scope=scope)
    if (replay := await _stored(actor, key, fingerprint)) is not None:
        return replay
    try:
        async with in_transaction("default"):
            record = await IdempotencyRecord.create(user_id=actor.id, key=key,
                                                    request_hash=fingerprint)
            status, payload = await run()
            record.response_status, record.response = status, payload
            await record.save(update_fields=["response_status", "response"])
    except IntegrityError:
        # A twin with the same key committed first (only the key's insert can collide:
        # the write itself conflicts as 409, not as an integrity error).
        if (replay := await _stored(actor, key, fingerprint)) is not None:
            return replay
        raise _in_progress() from None
    return Replayable(status, payload)


async def _stored(actor: User, key: str, fingerprint: str) -> Replayable | None:
    record = await lookup(actor=actor, key=key, fingerprint=fingerprint)
    if record is None:
        return None
    if record.response_status is None or record.response is None:
        raise _in_progress()  # a report's key (ticket_id) cannot answer another call
    return Replayable(record.response_status, record.response, replayed=True)
