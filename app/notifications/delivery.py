"""Deliver the outbox: in-app messages and WeChat subscribe messages.

Delivery of one outbox row (see docs/notifications.md):
1. claim: a batch is leased to one worker (`locked_by`/`locked_until`, `attempts + 1`), chosen
   with `SELECT … FOR UPDATE SKIP LOCKED` on MySQL/MariaDB; the claim commits at once.
2. in-app: the `Message` is written (unique per outbox row: a redelivery never shows twice).
3. WeChat: if the kind has a template, the recipient an openid and a consent left, one consent
   is taken (conditional `UPDATE … WHERE remaining > 0`) in the same transaction that records
   `push_state = reserved` on the row; then the send, outside any transaction, in a thread.
4. mark: `sent` (with the msgid) in one statement, fenced by our lease token; a failure moves
   `available_at` forward (exponential backoff) or parks the row after `max_attempts`.
Every write after the claim is conditional on still holding the lease.

A row without a recipient is a broadcast (its kind's audience, registered in `outbox` by the
owning domain): delivering it inserts one keyed row per recipient, batch by batch, records how
far it got in its payload, then finishes.

This module imports no domain but accounts: what it needs from tickets (their description for
WeChat) comes through `outbox.tickets()`, the kinds' texts through `outbox.kind_for`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction
from wechatpy.exceptions import WeChatClientException

from app.accounts.models import User
from app.notifications import outbox
from app.notifications.models import (
    CLAIM_INDEX,
    Message,
    Outbox,
    OutboxStatus,
    PushState,
    SubscriptionQuota,
)
from app.notifications.templates import render, template_for, wechat_fields
from app.settings import Settings, current

log = logging.getLogger("gongzhi.notifications")

# WeChat errors after which retrying cannot help: the row is done (its in-app message stands).
PERMANENT_ERRORS: dict[int, PushState] = {
    43101: PushState.REFUSED,  # user refused / unsubscribed / no consent left
    47003: PushState.REJECTED,  # template parameters invalid
    40037: PushState.REJECTED,  # template id invalid
    40003: PushState.REJECTED,  # openid invalid
}

Sender = Callable[[dict[str, Any]], Mapping[str, Any]]


def _setting_default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class DeliveryConfig:
    """How the outbox is delivered. Built from settings by `config_from_settings`."""

    templates: Mapping[str, str] = field(default_factory=dict)  # template name → WeChat id
    wechat_enabled: bool = False
    # The mini-program's ticket and poll pages, and its state: the settings' defaults.
    page: str = _setting_default("wechat_message_page")
    poll_page: str = _setting_default("wechat_poll_page")
    miniprogram_state: str = _setting_default("wechat_miniprogram_state")
    lang: str = "zh_CN"
    max_attempts: int = 8
    lease_s: float = 120.0  # longer than a batch can take (5 s WeChat timeout per send)
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 3600.0
    concurrency: int = 4  # sends in flight per worker
    fanout_batch: int = 500  # recipients a broadcast row inserts per statement
    sender: Sender | None = None  # default: wechatpy against settings.wechat_api_base

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after `attempts` failed claims: 30 s, 60 s, … ≤ 1 h."""
        return timedelta(seconds=min(self.backoff_cap_s,
                                     self.backoff_base_s * 2 ** max(0, attempts - 1)))


def config_from_settings(settings: Settings | None = None) -> DeliveryConfig:
    """The delivery config for these settings (the template ids are WECHAT_TEMPLATES)."""
    settings = settings or current()
    return DeliveryConfig(
        templates=dict(settings.wechat_templates),
        wechat_enabled=settings.wechat_configured,
        page=settings.wechat_message_page,
        poll_page=settings.wechat_poll_page,
        miniprogram_state=settings.wechat_miniprogram_state,
    )


def wechat_send(body: dict[str, Any]) -> Mapping[str, Any]:
    """POST /cgi-bin/message/subscribe/send through wechatpy (blocking: run it in a thread).

    wechatpy 1.8's `wxa.send_subscribe_message` cannot pass `miniprogram_state` or `lang`,
    so the generic `post` is used (same URL, same errcode handling, token refresh on 40001).
    """
    from app.core import wechat

    return wechat.client().post("message/subscribe/send", data=body)


class DeliveryFailed(Exception):
    """A registered sender could not deliver: retried with backoff, parked after max_attempts."""


# Kinds delivered by another domain's sender instead of as a message (e.g. an HTTP push to an
# outside system, app/hotline/push.py), registered by the composition root (app/wiring.py).
ExternalSender = Callable[[Outbox], Awaitable[None]]
_senders: dict[str, ExternalSender] = {}


def register_sender(kind: str, send: ExternalSender) -> None:
    """Have rows of `kind` delivered by `send`, which raises DeliveryFailed to be retried."""
    _senders[kind] = send


class LeaseLost(Exception):
    """Another worker took the row over (our lease expired): leave it to them."""


# --- delivery -------------------------------------------------------------------------------


def _unleased(now: datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lte=now)


def due_for_update(*, now: datetime, limit: int) -> Any:
    """The claim's locking read: the oldest due, unleased rows, skipping rows others lock.

    MySQL/MariaDB: `FOR UPDATE SKIP LOCKED` on `CLAIM_INDEX`, read in index order so the scan
    stops after `limit` rows (with a filesort InnoDB would lock every pending row until
    commit, and concurrent claimers would find nothing). SQLite: Tortoise drops both hints;
    its transactions are serialised (one job process there), so the read is the claim.
    """
    return (Outbox.filter(status=OutboxStatus.PENDING, available_at__lte=now)
            .filter(_unleased(now)).order_by("available_at", "id").limit(limit)
            .force_index(CLAIM_INDEX).select_for_update(skip_locked=True))


async def claim(*, worker_id: str, limit: int, now: datetime, lease_s: float) -> list[Outbox]:
    """Lease up to `limit` due rows to this worker; no row is leased to two workers at once."""
    token = f"{worker_id[:54]}#{secrets.token_hex(4)}"
    async with in_transaction("default"):
        ids = [row.id for row in await due_for_update(now=now, limit=limit)]
        if not ids:
            return []
        # One primary-key lookup per row: the rows are ours until commit (locked on MySQL,
        # the one serialised transaction on SQLite). `id IN (…)` or any other condition may
        # make MySQL scan the table and wait on rows that other claimers hold.
        until = now + timedelta(seconds=lease_s)
        for row_id in ids:
            await Outbox.filter(id=row_id).update(locked_by=token, locked_until=until,
                                                  attempts=F("attempts") + 1)
    return await Outbox.filter(id__in=ids, locked_by=token).order_by("available_at", "id")


async def deliver_batch(*, worker_id: str, limit: int = 20, now: datetime | None = None,
                        config: DeliveryConfig | None = None) -> int:
    """Claim and deliver one batch; returns how many rows were claimed (0: nothing due)."""
    now = now or datetime.now(UTC)
    config = config or config_from_settings()
    rows = await claim(worker_id=worker_id, limit=limit, now=now, lease_s=config.lease_s)
    if not rows:
        return 0
    gate = asyncio.Semaphore(max(1, config.concurrency))
    reads = await read_for(rows, config=config)

    async def one(row: Outbox) -> None:
        async with gate:
            try:
                await deliver_one(row, now=now, config=config, reads=reads)
            except LeaseLost:
                log.warning("outbox %s: lease lost to another worker", row.id)
            except Exception:  # the database went away mid-row: the lease expires, retried
                log.exception("outbox %s: could not record the outcome", row.id)

    await asyncio.gather(*(one(row) for row in rows))
    return len(rows)


async def deliver_one(row: Outbox, *, now: datetime, config: DeliveryConfig,
                      reads: BatchReads | None = None) -> None:
    """Deliver one claimed row and record the outcome (raises LeaseLost if no longer ours)."""
    try:
        if (send := _senders.get(row.kind)) is not None:
            await send(row)
            await _finish(row, now=now, push_state=PushState.SKIPPED)
            return
        if row.recipient_id is None:
            await _fan_out(row, now=now, config=config)
            return
        if reads is None:
            reads = await read_for([row], config=config)
        if row.id not in reads.has_message:
            await ensure_message(row)
        state = PushState(row.push_state)
        if state == PushState.UNDECIDED:
            state = await _decide_push(row, now=now, config=config, reads=reads)
        if state == PushState.RESERVED:
            result = await _push(row, config=config, reads=reads)
            if result is None:  # WeChat unbound or the template removed since the consent
                await _finish(row, now=now, push_state=PushState.SKIPPED,
                              error="no openid or template any more")
            else:
                await _finish(row, now=now, push_state=PushState.SENT,
                              msgid=str(result.get("msgid", "")))
        else:
            await _finish(row, now=now, push_state=state)
    except LeaseLost:
        raise
    except WeChatClientException as exc:
        errcode = int(exc.errcode) if exc.errcode is not None else None
        error = f"wechat {errcode}: {exc.errmsg}" if errcode is not None else \
            f"wechat http error: {exc.response.status_code if exc.response is not None else '?'}"
        if errcode in PERMANENT_ERRORS:
            await _give_up_push(row, now=now, config=config, state=PERMANENT_ERRORS[errcode],
                                error=error)
        else:
            await _retry_later(row, now=now, config=config, error=error)
    except DeliveryFailed as exc:
        await _retry_later(row, now=now, config=config, error=str(exc))
    except requests.RequestException as exc:
        await _retry_later(row, now=now, config=config, error=f"wechat unreachable: {exc}")
    except Exception as exc:
        log.exception("outbox %s: delivery failed", row.id)
        await _retry_later(row, now=now, config=config, error=f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class BatchReads:
    """What delivering a batch needs from other tables: one query each per batch, not per row."""

    has_message: frozenset[int] = frozenset()  # outbox ids whose in-app message exists
    openids: Mapping[int | None, str | None] = field(default_factory=dict)  # recipient → openid
    descriptions: Mapping[int, str] = field(default_factory=dict)  # ticket → text (not held)


async def read_for(rows: Sequence[Outbox], *, config: DeliveryConfig) -> BatchReads:
    """Read what `rows` need; WeChat's parts only for rows that may be pushed."""
    has_message = frozenset(m["outbox_id"] for m in await Message.filter(
        outbox_id__in=[r.id for r in rows]).values("outbox_id"))
    pushable = [r for r in rows if r.recipient_id is not None and _template_id(r, config)]
    if not config.wechat_enabled or not pushable:
        return BatchReads(has_message=has_message)
    # A resident's login openid, or the WeChat a staff member bound (accounts: POST /me/wechat).
    openids: dict[int | None, str | None] = {
        uid: openid or bound for uid, openid, bound in await User.filter(
            id__in={r.recipient_id for r in pushable}).values_list("id", "openid", "wechat_openid")}
    ticket_ids = {r.ticket_id for r in pushable
                  if r.ticket_id is not None and openids.get(r.recipient_id)}
    lookup = outbox.tickets()
    descriptions: Mapping[int, str] = {}
    if ticket_ids and lookup is not None:
        descriptions = await lookup.descriptions(ticket_ids)
    return BatchReads(has_message=has_message, openids=openids, descriptions=descriptions)


async def ensure_message(row: Outbox) -> None:
    """Write the in-app message for this row; one already written (its outbox id is unique)
    stays, so a redelivered row never shows twice."""
    text = render(row.kind, row.payload or {})
    try:
        await Message.create(recipient_id=row.recipient_id, kind=row.kind, title=text.title,
                             body=text.body, ticket_id=row.ticket_id, outbox_id=row.id)
    except IntegrityError:
        pass  # written by an earlier attempt that died before marking the row


# --- rows written at most once, and broadcasts ------------------------------------------------


FANOUT_CURSOR = "fanout_after"  # payload key: the last user id a broadcast has covered


async def _fan_out(row: Outbox, *, now: datetime, config: DeliveryConfig) -> None:
    """Write one keyed copy of a broadcast row per recipient, then finish it.

    Progress is kept in the row's payload after each batch, fenced by the lease (which each
    batch extends): a worker that dies mid-way leaves a row the next worker resumes, and the
    copies it inserts again are skipped by their keys, so no recipient is lost or doubled.
    """
    spec = outbox.broadcast_for(row.kind)
    kind = outbox.kind_for(row.kind)
    payload = dict(row.payload or {})
    after = int(payload.get(FANOUT_CURSOR) or 0)
    copy = {k: v for k, v in payload.items() if k != FANOUT_CURSOR}
    while spec is not None:
        users = await spec.recipients(row, after, config.fanout_batch)
        if users:
            await outbox.enqueue([
                outbox.notice(kind, recipient_id=uid, ticket_id=row.ticket_id, payload=copy,
                              available_at=now, dedupe_key=spec.key(row, uid))
                for uid in users], once=True)
            after = users[-1]
        if len(users) < config.fanout_batch:
            break
        payload[FANOUT_CURSOR] = after
        until = max(now, datetime.now(UTC)) + timedelta(seconds=config.lease_s)
        if not await _mine(row).update(payload=payload, locked_until=until):
            raise LeaseLost()
    await _finish(row, now=now, push_state=PushState.SKIPPED)


# --- WeChat -----------------------------------------------------------------------------------


def _template_id(row: Outbox, config: DeliveryConfig) -> str | None:
    name = template_for(row.kind)
    return config.templates.get(name) if name else None


async def _decide_push(row: Outbox, *, now: datetime, config: DeliveryConfig,
                       reads: BatchReads) -> PushState:
    """Skip, or take one consent for this row (atomically with recording that we took it)."""
    template_id = _template_id(row, config)
    if not config.wechat_enabled or not template_id or not reads.openids.get(row.recipient_id):
        return PushState.SKIPPED
    async with in_transaction("default"):
        taken = await SubscriptionQuota.filter(
            user_id=row.recipient_id, template_id=template_id, remaining__gt=0,
        ).update(remaining=F("remaining") - 1, updated_at=now)
        state = PushState.RESERVED if taken else PushState.NO_QUOTA
        if not await Outbox.filter(id=row.id, locked_by=row.locked_by).update(push_state=state):
            raise LeaseLost()  # rolls the consent back
    row.push_state = state
    return state


async def _push(row: Outbox, *, config: DeliveryConfig,
                reads: BatchReads) -> Mapping[str, Any] | None:
    """Send the subscribe message; WeChat's answer, or None if it can no longer be sent."""
    openid = reads.openids.get(row.recipient_id)
    template_id = _template_id(row, config)
    if not openid or not template_id or not config.wechat_enabled:
        return None
    # What the template shows beyond the payload: the ticket's description, read this batch.
    description = reads.descriptions.get(row.ticket_id) if row.ticket_id is not None else None
    body = {
        "touser": openid,
        "template_id": template_id,
        "page": _page(row, config),
        "data": wechat_fields(row.kind, row.payload or {}, when=row.created_at,
                              context={"description": description} if description else {}),
        "miniprogram_state": config.miniprogram_state,
        "lang": config.lang,
    }
    return await asyncio.to_thread(config.sender or wechat_send, body)


def _page(row: Outbox, config: DeliveryConfig) -> str:
    """The mini-program page the message opens: the poll's for poll kinds, else the ticket's."""
    poll_id = (row.payload or {}).get("poll_id")
    if row.kind.startswith("poll.") and poll_id:
        return config.poll_page.format(poll_id=poll_id)
    return config.page.format(ticket_id=row.ticket_id or "")


def _mine(row: Outbox) -> Any:
    return Outbox.filter(id=row.id, locked_by=row.locked_by)


async def _finish(row: Outbox, *, now: datetime, push_state: PushState, msgid: str = "",
                  error: str = "") -> None:
    """Mark the row sent (one statement: the WeChat response and the status together)."""
    done = await _mine(row).update(
        status=OutboxStatus.SENT, sent_at=now, push_state=push_state, wechat_msgid=msgid[:64],
        last_error=error[:255], locked_by="", locked_until=None)
    if not done:
        raise LeaseLost()


async def _give_up_push(row: Outbox, *, now: datetime, config: DeliveryConfig, state: PushState,
                        error: str) -> None:
    """WeChat said no for good: the row is delivered (in-app); settle the consent count."""
    template_id = _template_id(row, config)
    log.info("outbox %s: wechat refused for good (%s); in-app only", row.id, error)
    async with in_transaction("default"):
        if template_id and row.recipient_id is not None:
            quota = SubscriptionQuota.filter(user_id=row.recipient_id, template_id=template_id)
            if state == PushState.REFUSED:
                # WeChat has no consent left for this user: our count was too high.
                await quota.update(remaining=0, updated_at=now)
            else:
                # Refused before delivery: the consent was not used up at WeChat.
                await quota.update(remaining=F("remaining") + 1, updated_at=now)
        await _finish(row, now=now, push_state=state, error=error)


async def _retry_later(row: Outbox, *, now: datetime, config: DeliveryConfig, error: str) -> None:
    """Back off, or park the row after `max_attempts` claims (admins can re-queue it)."""
    if row.attempts >= config.max_attempts:
        log.warning("outbox %s parked after %s attempts: %s", row.id, row.attempts, error)
        values: dict[str, Any] = {"status": OutboxStatus.PARKED, "available_at": now}
    else:
        values = {"available_at": now + config.backoff(row.attempts)}
    if not await _mine(row).update(last_error=error[:255], locked_by="", locked_until=None,
                                   **values):
        raise LeaseLost()
