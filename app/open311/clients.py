"""Client apps and their API keys: created (the key shown once), listed, deactivated."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.core.errors import Conflict, Forbidden, NotFound
from app.open311.models import Open311Client, Open311Request
from app.open311.schemas import (
    Open311ClientCreate,
    Open311ClientCreated,
    Open311ClientList,
    Open311ClientOut,
    Open311ContactOut,
)
from app.tickets import access, queries

KEY_PREFIX = "o311_"


def key_hash(api_key: str) -> str:
    """The stored form of a key: a random 32-byte key needs no slow hash, sha256 suffices."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _require_city_admin(actor: User) -> None:
    # A key files reports anywhere in the city: only a city-wide admin hands one out.
    if not scope_of(actor).is_city_wide(Role.ADMIN):
        raise Forbidden("只有全市管理员可以管理 Open311 接入应用", code="city_admin_only")


async def create_client(*, actor: User, data: Open311ClientCreate) -> Open311ClientCreated:
    """A client app and a fresh key, shown only here."""
    _require_city_admin(actor)
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        client = await Open311Client.create(
            code=data.code, name=data.name, key_hash=key_hash(api_key),
            key_prefix=api_key[:len(KEY_PREFIX) + 4])
    except IntegrityError:
        raise Conflict("该接入应用代码已存在", code="open311_client_exists") from None
    out = Open311ClientOut.from_model(client)
    return Open311ClientCreated(**out.model_dump(), api_key=api_key)


async def list_clients(*, actor: User) -> Open311ClientList:
    _require_city_admin(actor)
    rows = await Open311Client.all().order_by("id")
    return Open311ClientList(items=[Open311ClientOut.from_model(c) for c in rows])


async def deactivate_client(*, actor: User, code: str, reason: str) -> Open311ClientOut:
    """Its key stops working at once; its tickets stay."""
    _require_city_admin(actor)
    client = await Open311Client.get_or_none(code=code)
    if client is None:
        raise NotFound("找不到该接入应用", code="open311_client_not_found")
    if client.is_active:
        now = datetime.now(UTC)
        await Open311Client.filter(id=client.id, is_active=True).update(
            is_active=False, deactivated_at=now, deactivated_reason=reason)
        await client.refresh_from_db()
    return Open311ClientOut.from_model(client)


async def client_for_key(api_key: str) -> Open311Client | None:
    """The active client app holding `api_key`, or None."""
    if not api_key:
        return None
    return await Open311Client.get_or_none(key_hash=key_hash(api_key), is_active=True)


async def contact_for(*, viewer: User, ticket_id: int) -> Open311ContactOut:
    """The contact details of an Open311 ticket, for staff who see its staff view; else 404."""
    _, roles = await access.get_visible_or_raise(user=viewer, ticket_id=ticket_id)
    link = await Open311Request.get_or_none(ticket_id=ticket_id)
    # A resident (even the ticket's own reporter account) never learns whether one exists.
    if queries.view_of(roles) != queries.STAFF or link is None:
        raise NotFound("该案件没有 Open311 联系信息", code="open311_contact_not_found")
    client = await Open311Client.get(id=link.client_id)
    return Open311ContactOut(
        client_code=client.code, client_name=client.name, email=link.email,
        first_name=link.first_name, last_name=link.last_name, phone=link.phone,
        account_id=link.account_id, device_id=link.device_id, media_url=link.media_url,
        answers=link.answers)
