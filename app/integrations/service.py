"""Integrations: admins register outside systems and rotate their keys, and every signed
request is checked here (docs/integrations.md) before a route does anything with it."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from app.core.paging import Ordering, keyset_page
from app.core.ratelimit import counters
from app.core.retention import delete_oldest
from app.integrations import signing
from app.integrations.models import Integration, IntegrationKey, IntegrationKind, IntegrationRequest
from app.integrations.schemas import (
    IntegrationCreate,
    IntegrationOut,
    IntegrationPage,
    IntegrationQuery,
    IntegrationSecretOut,
    IntegrationUpdate,
)

log = logging.getLogger("gongzhi.integrations")
ORDER = Ordering.of("id")
# Request ids are kept a day: past ±5 minutes a replay is refused by its timestamp anyway.
KEEP_REQUEST_IDS = timedelta(days=1)


# --- admin ------------------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    # Integrations are city-wide configuration, like the catalogue: any admin.
    if not scope_of(actor).has(Role.ADMIN):
        raise Forbidden("只有管理员可以管理外部系统接入", code="admin_only")


def _valid(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


async def _valid_keys(integration_id: int, now: datetime) -> list[IntegrationKey]:
    return list(await IntegrationKey.filter(_valid(now), integration_id=integration_id)
                .order_by("-id"))


async def _out(item: Integration) -> IntegrationOut:
    return IntegrationOut.from_model(item, await _valid_keys(item.id, datetime.now(UTC)))


async def get_integration_or_raise(*, code: str) -> Integration:
    item = await Integration.get_or_none(code=code)
    if item is None:
        raise NotFound("找不到该接入系统", code="integration_not_found")
    return item


async def current_secret(*, integration_id: int) -> str | None:
    """The newest valid key's secret: what we sign our own requests to the partner with."""
    keys = await _valid_keys(integration_id, datetime.now(UTC))
    return keys[0].secret if keys else None


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


async def create_integration(*, actor: User, data: IntegrationCreate) -> IntegrationSecretOut:
    """Register an outside system with its first key (the secret is answered once)."""
    _require_admin(actor)
    secret = _new_secret()
    try:
        async with in_transaction("default"):
            item = await Integration.create(code=data.code, name=data.name, kind=data.kind,
                                            rate_per_minute=data.rate_per_minute,
                                            endpoint_url=data.endpoint_url)
            key = await IntegrationKey.create(integration_id=item.id, secret=secret,
                                              prefix=secret[:6])
    except IntegrityError:
        raise Conflict("该接入系统编码已存在", code="integration_exists") from None
    log.info("integration %s (%s) created by user %s", item.code, item.kind, actor.id)
    return IntegrationSecretOut(integration=await _out(item), key_id=key.id, secret=secret)


async def update_integration(*, actor: User, code: str,
                             changes: IntegrationUpdate) -> IntegrationOut:
    _require_admin(actor)
    item = await get_integration_or_raise(code=code)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    if values:
        await Integration.filter(id=item.id).update(**values)
        item = await get_integration_or_raise(code=code)
    return await _out(item)


async def rotate_key(*, actor: User, code: str, overlap_minutes: int) -> IntegrationSecretOut:
    """A new key; the keys in use stay valid `overlap_minutes` longer (never longer than set)."""
    _require_admin(actor)
    item = await get_integration_or_raise(code=code)
    secret = _new_secret()
    until = datetime.now(UTC) + timedelta(minutes=overlap_minutes)
    async with in_transaction("default"):
        key = await IntegrationKey.create(integration_id=item.id, secret=secret,
                                          prefix=secret[:6])
        await IntegrationKey.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=until),
            integration_id=item.id, id__lt=key.id,
        ).update(expires_at=until)
    log.info("integration %s: key rotated by user %s, old keys valid until %s", item.code,
             actor.id, until.isoformat())
    return IntegrationSecretOut(integration=await _out(item), key_id=key.id, secret=secret)


async def list_integrations(*, actor: User, query: IntegrationQuery) -> IntegrationPage:
    _require_admin(actor)
    qs = Integration.all()
    if query.kind is not None:
        qs = qs.filter(kind=query.kind)
    rows, nxt = await keyset_page(qs, ordering=ORDER, limit=query.limit, cursor=query.cursor)
    keys: dict[int, list[IntegrationKey]] = {}
    for key in await IntegrationKey.filter(_valid(datetime.now(UTC)),
                                           integration_id__in=[r.id for r in rows]
                                           ).order_by("-id"):
        keys.setdefault(key.integration_id, []).append(key)
    return IntegrationPage(items=[IntegrationOut.from_model(r, keys.get(r.id, [])) for r in rows],
                           next=nxt)


# --- signed requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A request whose signature, clock and rate were checked (its id not yet recorded)."""

    integration: Integration
    request_id: str


def _refuse(error: Unauthorized | Forbidden | TooManyRequests, *, code: str, ip: str
            ) -> Unauthorized | Forbidden | TooManyRequests:
    log.warning("integration request refused: %s (integration %r, from %s)", error.code,
                code, ip)
    return error


async def verify(*, headers: Mapping[str, str], body: bytes, kinds: Collection[IntegrationKind],
                 ip: str, now: float | None = None) -> Verified:
    """Check a signed request: 401 unsigned, unknown, stale or forged; 403 wrong kind; 429."""
    now = time.time() if now is None else now
    code = headers.get(signing.HEADER_INTEGRATION, "")
    stamp = headers.get(signing.HEADER_TIMESTAMP, "")
    request_id = headers.get(signing.HEADER_REQUEST_ID, "")
    signature = headers.get(signing.HEADER_SIGNATURE, "")
    if not (code and stamp and request_id and signature):
        raise _refuse(Unauthorized("缺少签名信息", code="signature_required"), code=code, ip=ip)
    if not signing.REQUEST_ID.fullmatch(request_id):
        raise _refuse(Unauthorized("请求编号格式有误（8-64 位字母、数字或 ._:-）",
                                   code="invalid_request_id"), code=code, ip=ip)
    item = await Integration.get_or_none(code=code) if len(code) <= 32 else None
    if item is None or not item.is_active:
        raise _refuse(Unauthorized("接入系统不存在或已停用", code="unknown_integration"),
                      code=code, ip=ip)
    if not signing.within_skew(stamp, now=now):
        raise _refuse(Unauthorized("请求时间与服务器时间相差超过 5 分钟", code="stale_timestamp",
                                   details={"server_time": int(now)}), code=code, ip=ip)
    keys = await _valid_keys(item.id, datetime.fromtimestamp(now, UTC))
    if not signing.matches([k.secret for k in keys], signature=signature, timestamp=stamp,
                           request_id=request_id, body=body):
        raise _refuse(Unauthorized("签名无效", code="bad_signature"), code=code, ip=ip)
    if item.kind not in kinds:
        raise _refuse(Forbidden("该接入系统无权调用此接口", code="wrong_integration_kind"),
                      code=code, ip=ip)
    try:  # counted only once signed: nobody else can use up a partner's allowance
        await counters.hit(f"ig:{item.id}", limit=item.rate_per_minute, window_s=60)
    except TooManyRequests as exc:
        raise _refuse(exc, code=code, ip=ip) from None
    return Verified(integration=item, request_id=request_id)


async def remember(verified: Verified) -> None:
    """Record the request id, in the caller's transaction; 409 if it was used before."""
    try:
        await IntegrationRequest.create(integration_id=verified.integration.id,
                                        request_id=verified.request_id)
    except IntegrityError:
        log.warning("integration request refused: replayed_request (integration %r, id %s)",
                    verified.integration.code, verified.request_id)
        raise Conflict("该请求编号已使用过（重放的请求）", code="replayed_request") from None


def json_object(*, content_type: str, body: bytes) -> dict[str, Any]:
    """A signed request's body as a JSON object (415 not JSON, 422 not an object)."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("请求内容须为 JSON (Content-Type: application/json)",
                                   code="unsupported_media_type")
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise BadRequest("请求内容不是有效的 JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise Invalid("请求内容须为 JSON 对象", code="body_not_object")
    return data


async def purge_request_ids(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Forget request ids older than a day (one bounded round)."""
    cutoff = (now or datetime.now(UTC)) - KEEP_REQUEST_IDS
    return await delete_oldest(IntegrationRequest.filter(received_at__lt=cutoff), batch=batch)
