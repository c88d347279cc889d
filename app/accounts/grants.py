"""Changing an existing staff account's grants, and the record of what admins changed.

A grant is a role on an area subtree (or a handler's unit). An admin replaces an account's
grants with a new set: each grant given and each grant taken away must lie inside the
admin's own admin scope, and nobody changes their own grants (so nobody raises their own).

Why the change counts at the very next request in every process, with or without Redis:
the grants are deleted and inserted (never updated) in one transaction that also bumps the
configuration revision, and `caller.active_user` reads that revision and the grants' count
and highest id beside the user's row on every request. A process holding the old grants
sees a different key and reloads them (app/accounts/caller.py).
"""

from __future__ import annotations

from typing import Any

from tortoise.query_utils import Prefetch
from tortoise.transactions import in_transaction

from app.accounts import caller
from app.accounts import service as accounts
from app.accounts.models import AccountChange, RoleGrant, User
from app.accounts.schemas import AccountChangeOut, GrantIn, GrantsUpdate
from app.accounts.scope import Role, Scope, scope_of
from app.core import config_cache
from app.core.errors import Conflict, Forbidden, Invalid

# (role, area code, unit id): what makes two grants the same grant.
GrantKey = tuple[str, str | None, int | None]
HISTORY_LIMIT = 100


def _related(grant: RoleGrant) -> tuple[Any, Any]:
    """The grant's area and unit as loaded, or None (an unset key answers an awaitable)."""
    return (grant.area if grant.area_id is not None else None,
            grant.unit if grant.unit_id is not None else None)


def _key(grant: RoleGrant) -> GrantKey:
    area, _ = _related(grant)
    return (Role(grant.role).value, area.code if area is not None else None, grant.unit_id)


def _asked_key(grant: GrantIn) -> GrantKey:
    if grant.role == Role.HANDLER:
        return (grant.role.value, None, grant.unit_id)
    return (grant.role.value, grant.area_code or None, None)


def describe(grant: RoleGrant) -> dict[str, Any]:
    """A grant as the change record keeps it: readable after the area or unit is renamed."""
    area, unit = _related(grant)
    return {"role": Role(grant.role).value,
            "area_code": area.code if area is not None else None,
            "area_name": area.name if area is not None else None,
            "unit_id": grant.unit_id, "unit_name": unit.name if unit is not None else None}


def _covers(scope: Scope, grant: RoleGrant) -> bool:
    """Whether an admin may give or take away this grant: the rule `create_staff` applies."""
    area, unit = _related(grant)
    if unit is not None:
        return unit.area_id is None or scope.covers(unit.area.path, Role.ADMIN)
    if area is not None:
        return scope.covers(area.path, Role.ADMIN)
    return scope.is_city_wide(Role.ADMIN)  # an admin grant without an area: the whole city


async def _target(actor: User, user_id: int) -> User:
    if not scope_of(actor).has(Role.ADMIN):
        raise Forbidden("只有管理员可以修改授权")
    if user_id == actor.id:
        raise Forbidden("不能修改自己账号的授权，请联系其他管理员", code="own_grants")
    target = await accounts.get_user_for(viewer=actor, user_id=user_id)  # 404 outside
    if not target.username:
        raise Invalid("居民账号没有工作人员授权", code="not_staff")
    return target


async def set_grants(*, actor: User, user_id: int, data: GrantsUpdate) -> User:
    """Replace a staff account's grants; unchanged grants stay as they are. Recorded."""
    target = await _target(actor, user_id)
    scope = scope_of(actor)
    async with in_transaction("default"):
        # The user's row, locked: two admins changing the same account take turns.
        await User.filter(id=target.id).select_for_update().only("id").first()
        rows = await RoleGrant.filter(user_id=target.id).order_by("id").prefetch_related(
            Prefetch("area", caller.lean_areas()), Prefetch("unit__area", caller.lean_areas()))
        current = {_key(g): g for g in rows}
        wanted: dict[GrantKey, RoleGrant] = {}
        for asked in data.roles:
            if (key := _asked_key(asked)) in current:  # kept as it is
                wanted.setdefault(key, current[key])
                continue
            grant = await accounts.resolve_grant(scope, asked)  # 422 outside the admin's scope
            wanted.setdefault(_key(grant), grant)
        if data.expected is not None and {_asked_key(g) for g in data.expected} != set(current):
            raise Conflict("该账号的授权已被其他管理员修改，请刷新后重试", code="grants_changed",
                           details={"grants": [describe(g) for g in rows]})
        removed = [g for k, g in current.items() if k not in wanted]
        added = [g for k, g in wanted.items() if k not in current]
        if not removed and not added:
            return await accounts.get_user_for(viewer=actor, user_id=target.id)
        if any(not _covers(scope, g) for g in removed):
            raise Forbidden("不能撤销管辖范围以外的授权", code="grant_out_of_scope")
        if removed:
            await RoleGrant.filter(id__in=[g.id for g in removed]).delete()
        for grant in added:
            grant.user_id = target.id
            await grant.save()
        await config_cache.bump()  # a unit's handlers and every cached scope change
        await AccountChange.create(
            user_id=target.id, actor_id=actor.id, action="grants",
            before=[describe(g) for g in rows],
            after=[describe(g) for k, g in current.items() if k in wanted]
            + [describe(g) for g in added])
    return await accounts.get_user_for(viewer=actor, user_id=target.id)


async def history(*, actor: User, user_id: int) -> list[AccountChangeOut]:
    """What admins changed on an account, newest first (admins who may see the account)."""
    if not scope_of(actor).has(Role.ADMIN):
        raise Forbidden("只有管理员可以查看账号变更记录")
    target = await accounts.get_user_for(viewer=actor, user_id=user_id)
    rows = await (AccountChange.filter(user_id=target.id).order_by("-id")
                  .limit(HISTORY_LIMIT).prefetch_related("actor"))
    return [AccountChangeOut(id=r.id, action=r.action, actor_id=r.actor_id,
                             actor_name=r.actor.display_name if r.actor is not None else "",
                             before=r.before, after=r.after, created_at=r.created_at)
            for r in rows]
