"""Notifications: deliver the outbox (in-app messages, WeChat subscribe messages) and read it.

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

A row without a recipient is a broadcast (`BROADCASTS`): delivering it inserts one keyed row
per recipient, batch by batch, records how far it got in its payload, then finishes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction
from wechatpy.exceptions import WeChatClientException

from app.accounts.models import Role, User
from app.accounts.service import scope_of
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.paths import under_any
from app.notifications.models import (
    CLAIM_INDEX,
    JobCursor,
    Message,
    Outbox,
    OutboxStatus,
    PushState,
    SubscriptionQuota,
)
from app.notifications.schemas import (
    MessageOut,
    MessagePage,
    OutboxOut,
    OutboxPage,
    QuotaList,
    QuotaOut,
    ReadAllOut,
)
from app.notifications.templates import render, template_for, wechat_fields
from app.settings import Settings, current

log = logging.getLogger("gongzhi.notifications")
# MySQL's INSERT IGNORE reports every key it skipped as a warning, which aiomysql re-raises
# as a Python warning; skipping a key already present is the point of `enqueue_once`.
warnings.filterwarnings("ignore", message=r"Duplicate entry .* for key '(outbox\.)?dedupe_key'")

# WeChat errors after which retrying cannot help: the row is done (its in-app message stands).
PERMANENT_ERRORS: dict[int, PushState] = {
    43101: PushState.REFUSED,  # user refused / unsubscribed / no consent left
    47003: PushState.REJECTED,  # template parameters invalid
    40037: PushState.REJECTED,  # template id invalid
    40003: PushState.REJECTED,  # openid invalid
}
# Distinct templates a user may hold consents for (template ids are user input).
MAX_TEMPLATES_PER_USER = 50

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
    async with in_transaction():
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
    except requests.RequestException as exc:
        await _retry_later(row, now=now, config=config, error=f"wechat unreachable: {exc}")
    except Exception as exc:
        log.exception("outbox %s: delivery failed", row.id)
        await _retry_later(row, now=now, config=config, error=f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class BatchReads:
    """What delivering a batch needs from other tables: one query each per batch, not per row."""

    has_message: frozenset[int] = frozenset()  # outbox ids whose in-app message exists
    openids: Mapping[int, str | None] = field(default_factory=dict)  # recipient → openid
    descriptions: Mapping[int, str] = field(default_factory=dict)  # ticket → text (not held)


async def read_for(rows: Sequence[Outbox], *, config: DeliveryConfig) -> BatchReads:
    """Read what `rows` need; WeChat's parts only for rows that may be pushed."""
    has_message = frozenset(await Message.filter(outbox_id__in=[r.id for r in rows])
                            .values_list("outbox_id", flat=True))
    pushable = [r for r in rows if r.recipient_id is not None and _template_id(r, config)]
    if not config.wechat_enabled or not pushable:
        return BatchReads(has_message=has_message)
    openids = dict(await User.filter(id__in={r.recipient_id for r in pushable})
                   .values_list("id", "openid"))
    ticket_ids = {r.ticket_id for r in pushable
                  if r.ticket_id is not None and openids.get(r.recipient_id)}
    descriptions: dict[int, str] = {}
    if ticket_ids:
        from app.tickets.models import Ticket

        # Text held by the content check is not pushed out through WeChat.
        descriptions = dict(await Ticket.filter(id__in=ticket_ids, content_held=False)
                            .values_list("id", "description"))
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


async def enqueue_once(rows: Sequence[Outbox]) -> int:
    """Insert rows that carry a `dedupe_key`; a key already present is skipped, never doubled.

    Returns how many rows looked new (a concurrent writer may still have won some of them).
    `INSERT … ON CONFLICT DO NOTHING` on SQLite, `INSERT IGNORE` on MySQL/MariaDB: of two
    writers racing on one key, one row results. Rows go in key order, so two batches that
    overlap take their index locks in the same order (no deadlock between them).
    """
    if any(not row.dedupe_key for row in rows):
        raise ValueError("enqueue_once needs a dedupe_key on every row")
    if not rows:
        return 0
    keyed = {row.dedupe_key: row for row in rows}
    present = set(await Outbox.filter(dedupe_key__in=list(keyed))
                  .values_list("dedupe_key", flat=True))
    fresh = [keyed[key] for key in sorted(keyed) if key not in present]  # type: ignore[type-var]
    if fresh:
        await Outbox.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


@dataclass(frozen=True)
class Broadcast:
    """A kind whose rows have no recipient: who they reach, in user-id order, and each key."""

    # (the broadcast row, the last user id already covered, how many) → the next user ids
    recipients: Callable[[Outbox, int, int], Awaitable[list[int]]]
    key: Callable[[Outbox, int], str]  # the dedupe_key of the copy for one user


def broadcasts() -> Mapping[str, Broadcast]:
    from app.polls.jobs import BROADCASTS  # polls writes the broadcast rows it expands

    return BROADCASTS


FANOUT_CURSOR = "fanout_after"  # payload key: the last user id a broadcast has covered


async def _fan_out(row: Outbox, *, now: datetime, config: DeliveryConfig) -> None:
    """Write one keyed copy of a broadcast row per recipient, then finish it.

    Progress is kept in the row's payload after each batch, fenced by the lease (which each
    batch extends): a worker that dies mid-way leaves a row the next worker resumes, and the
    copies it inserts again are skipped by their keys, so no recipient is lost or doubled.
    """
    spec = broadcasts().get(row.kind)
    payload = dict(row.payload or {})
    after = int(payload.get(FANOUT_CURSOR) or 0)
    copy = {k: v for k, v in payload.items() if k != FANOUT_CURSOR}
    while spec is not None:
        users = await spec.recipients(row, after, config.fanout_batch)
        if users:
            await enqueue_once([
                Outbox(kind=row.kind, recipient_id=uid, ticket_id=row.ticket_id, payload=copy,
                       available_at=now, dedupe_key=spec.key(row, uid)) for uid in users])
            after = users[-1]
        if len(users) < config.fanout_batch:
            break
        payload[FANOUT_CURSOR] = after
        until = max(now, datetime.now(UTC)) + timedelta(seconds=config.lease_s)
        if not await _mine(row).update(payload=payload, locked_until=until):
            raise LeaseLost()
    await _finish(row, now=now, push_state=PushState.SKIPPED)


# --- periodic jobs: where a sweep left off ----------------------------------------------------


async def cursor_position(name: str) -> int | None:
    """The position a sweeping job saved under `name` (None: it never ran)."""
    return await JobCursor.filter(name=name).first().values_list("position", flat=True)


async def save_cursor(name: str, position: int) -> None:
    if await JobCursor.filter(name=name).update(position=position,
                                                updated_at=datetime.now(UTC)):
        return
    try:
        await JobCursor.create(name=name, position=position)
    except IntegrityError:  # another process saved it first: ours is as good
        await JobCursor.filter(name=name).update(position=position)


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
    async with in_transaction():
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
    async with in_transaction():
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


# --- messages ---------------------------------------------------------------------------------


def message_out(message: Message) -> MessageOut:
    return MessageOut(id=message.id, kind=message.kind, title=message.title, body=message.body,
                      ticket_id=message.ticket_id, read=message.read_at is not None,
                      read_at=message.read_at, created_at=message.created_at)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise Invalid("分页参数有误", code="invalid_cursor")
    return int(value)


async def _newest_first(qs: Any, *, limit: int,
                        cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of `qs`, newest first, after the previous page's `next`; and this page's."""
    after = _cursor(cursor)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = await qs.order_by("-id").limit(limit + 1)
    return rows[:limit], str(rows[limit - 1].id) if len(rows) > limit else None


async def list_messages(*, user: User, limit: int, cursor: str | None) -> MessagePage:
    """My messages, newest first."""
    rows, after = await _newest_first(Message.filter(recipient_id=user.id), limit=limit,
                                      cursor=cursor)
    return MessagePage(items=[message_out(m) for m in rows], next=after)


async def unread_count(*, user: User) -> int:
    return await Message.filter(recipient_id=user.id, read_at__isnull=True).count()


async def mark_read(*, user: User, message_id: int) -> MessageOut:
    """Mark one of my messages read (again: no change, the first read time stays)."""
    now = datetime.now(UTC)
    await Message.filter(id=message_id, recipient_id=user.id, read_at__isnull=True).update(
        read_at=now)
    message = await Message.get_or_none(id=message_id, recipient_id=user.id)
    if message is None:
        raise NotFound("找不到该消息", code="message_not_found")
    return message_out(message)


async def mark_all_read(*, user: User) -> ReadAllOut:
    marked = await Message.filter(recipient_id=user.id, read_at__isnull=True).update(
        read_at=datetime.now(UTC))
    return ReadAllOut(marked=marked, unread=await unread_count(user=user))


# --- WeChat consents --------------------------------------------------------------------------


async def record_consent(*, user: User, template_ids: list[str], accepted: list[str]) -> QuotaList:
    """One tap of wx.requestSubscribeMessage: +1 send for every accepted template."""
    now = datetime.now(UTC)
    for template_id in dict.fromkeys(accepted):  # each template at most once per tap
        quota = SubscriptionQuota.filter(user_id=user.id, template_id=template_id)
        bump = {"remaining": F("remaining") + 1, "accepted_total": F("accepted_total") + 1,
                "updated_at": now}
        if await quota.update(**bump):
            continue
        if await SubscriptionQuota.filter(user_id=user.id).count() >= MAX_TEMPLATES_PER_USER:
            raise Invalid("订阅的消息模板过多", code="too_many_templates")
        try:
            await SubscriptionQuota.create(user_id=user.id, template_id=template_id, remaining=1,
                                           accepted_total=1)
        except IntegrityError:  # a simultaneous tap created the row first
            await quota.update(**bump)
    return await quotas(user=user, template_ids=list(dict.fromkeys(template_ids)))


async def quotas(*, user: User, template_ids: list[str] | None = None) -> QuotaList:
    """Sends left per template (templates never accepted: 0)."""
    qs = SubscriptionQuota.filter(user_id=user.id)
    if template_ids is not None:
        qs = qs.filter(template_id__in=template_ids)
    found = {q.template_id: q.remaining for q in await qs.order_by("template_id")}
    ids = template_ids if template_ids is not None else list(found)
    return QuotaList(items=[QuotaOut(template_id=t, remaining=found.get(t, 0)) for t in ids])


# --- the admins' view of the outbox ----------------------------------------------------------


def _admin_rows(user: User) -> Any:
    """The outbox rows this admin may see: all for a city-wide admin, else their areas' tickets."""
    scope = scope_of(user)
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员可以查看消息投递队列", code="admin_only")
    paths = scope.paths(Role.ADMIN)
    if "/" in paths:
        return Outbox.all()
    from app.tickets.models import Ticket

    inside = under_any("area_path", paths)
    return Outbox.filter(ticket_id__in=Subquery(Ticket.filter(inside).values("id")))


def outbox_out(row: Outbox) -> OutboxOut:
    return OutboxOut(
        id=row.id, kind=row.kind, recipient_id=row.recipient_id, ticket_id=row.ticket_id,
        payload=row.payload or {}, status=row.status, attempts=row.attempts,
        available_at=row.available_at, last_error=row.last_error, push_state=row.push_state,
        locked_by=row.locked_by, locked_until=row.locked_until, created_at=row.created_at,
        sent_at=row.sent_at)


async def list_outbox(*, user: User, status: OutboxStatus | None, limit: int,
                      cursor: str | None) -> OutboxPage:
    qs = _admin_rows(user)
    if status is not None:
        qs = qs.filter(status=status)
    rows, after = await _newest_first(qs, limit=limit, cursor=cursor)
    return OutboxPage(items=[outbox_out(r) for r in rows], next=after)


async def retry(*, user: User, outbox_id: int) -> OutboxOut:
    """Re-queue a parked row now, with a fresh set of attempts."""
    row = await _admin_rows(user).filter(id=outbox_id).first()
    if row is None:
        raise NotFound("找不到该投递记录", code="outbox_not_found")
    requeued = await Outbox.filter(id=outbox_id, status=OutboxStatus.PARKED).update(
        status=OutboxStatus.PENDING, attempts=0, available_at=datetime.now(UTC), locked_by="",
        locked_until=None)
    if not requeued:
        raise Conflict("只有已搁置的投递记录可以重新投递", code="not_parked",
                       details={"status": row.status})
    log.info("outbox %s re-queued by user %s", outbox_id, user.id)
    return outbox_out(await Outbox.get(id=outbox_id))
