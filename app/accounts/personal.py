"""Personal data (个人信息保护法): what we hold about a user, its export, and 注销.

Accounts sits below the domains that hold a user's records (tickets, ratings, polls,
notifications import it, never the other way), so each of them declares a `Holder` in its own
`personal.py` and the composition root (`app.jobs.install`) registers them here.

注销 keeps the user row as a tombstone: emptied of everything that names the person (openid,
names, phone, home), inactive, `deleted_at` set. Reports, ratings and ballots keep pointing at
it, so the record and the statistics stay whole while nothing in them identifies anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from app.accounts.models import RefreshToken, RoleGrant, User
from app.core.errors import Forbidden

__all__ = ["TOMBSTONE_NAME", "Holder", "delete_account", "export", "holders", "register",
           "retention"]

TOMBSTONE_NAME = "已注销用户"


@dataclass(frozen=True, slots=True)
class Holder:
    """One domain's part of a user's data: a section of the export, and its share of 注销."""

    section: str  # the key in the export, e.g. "reports"
    export: Callable[[int], Awaitable[list[dict[str, Any]]]]  # user id → JSON-able rows
    # user id → None: delete what only served this person (messages, follows); what stays for
    # the record (reports, ratings) needs nothing, the tombstone already names no one.
    erase: Callable[[int], Awaitable[None]] | None = None
    retention: str = ""  # how long the domain keeps this, in the resident's words


# The account itself, beside the domains' own entries in the export's `retention`.
ACCOUNT_RETENTION = ("账号资料保留至注销；注销后立即删除微信标识、昵称、电话和所在社区，"
                     "登录凭证在过期 30 天后删除")


_holders: dict[str, Holder] = {}


def register(*found: Holder) -> None:
    """Add domains' holders (idempotent: the same section registered again replaces it)."""
    for holder in found:
        _holders[holder.section] = holder


def holders() -> tuple[Holder, ...]:
    return tuple(_holders.values())


async def export(*, user: User) -> dict[str, list[dict[str, Any]]]:
    """Every registered section of what we hold about `user`, in registration order."""
    return {h.section: await h.export(user.id) for h in _holders.values()}


def retention() -> dict[str, str]:
    """How long each kind of data is kept (docs/operations.md, "Personal data")."""
    return {"account": ACCOUNT_RETENTION,
            **{h.section: h.retention for h in _holders.values() if h.retention}}


async def delete_account(*, user: User) -> None:
    """注销 a resident's account: erase the identity, end every session, let domains erase
    what only served the person. Staff accounts are closed by their admin (their actions are
    official records under their name), so they are refused here."""
    if user.username or await RoleGrant.filter(user_id=user.id).exists():
        raise Forbidden("工作人员账号请联系管理员停用", code="staff_account")
    now = datetime.now(UTC)
    async with in_transaction("default"):
        await User.filter(id=user.id).update(
            openid=None, unionid=None, wechat_openid=None, display_name=TOMBSTONE_NAME,
            surname="", work_phone="", home_area_id=None, is_active=False, deleted_at=now,
            updated_at=now)
        await RefreshToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now)
        for holder in _holders.values():
            if holder.erase is not None:
                await holder.erase(user.id)
