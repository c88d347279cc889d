"""Accounts: logins, tokens, profiles, staff creation, and who looks after a grid cell.

Accounts sits above the area tree (a user's home and grants refer to areas) and below units
(a unit's handlers are users): it imports `areas`, never `units`; scopes are in `scope.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from app.accounts import caller
from app.accounts.models import STAFF_ROLES, AccountChange, RefreshToken, RoleGrant, User
from app.accounts.schemas import (
    GrantIn,
    GrantOut,
    GridInfo,
    GridWorkerOut,
    MeUpdate,
    StaffCreate,
    TokenPair,
    UserOut,
    UserPage,
    UserQuery,
    UserUpdate,
)
from app.accounts.scope import ROLE_LABELS, Role, Scope, scope_of
from app.areas import service as areas
from app.areas.models import Area, AreaKind
from app.areas.service import area_ref
from app.core import config_cache, security, wechat
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from app.core.paging import Ordering, keyset_page
from app.core.paths import under_any
from app.core.ratelimit import counters
from app.settings import current

# Transition: these lived here before `accounts/scope.py` and `areas.service.area_ref`;
# import them from there (tickets, polls, ratings, stats, notifications still import them here).
__all__ = ["ROLE_LABELS", "STAFF_ROLES", "Scope", "area_ref", "scope_of"]

# Roles that may look after other people's accounts, within their area subtree.
USER_MANAGERS = frozenset({Role.ADMIN, Role.COMMUNITY_STAFF, Role.DISPATCHER})
# The user list: in id order (oldest account first), cursor "<id>".
USER_ORDER = Ordering.of("id")


async def get_active_user(*, user_id: int) -> User | None:
    """The active user with what scopes need loaded (one statement; `caller.py`)."""
    return await caller.active_user(user_id=user_id)


async def load_user(*, user_id: int) -> User | None:
    """The loader `core.api` authenticates with (`create_app` installs it): looks up
    `get_active_user` on each call, so replacing it (a test making the database hang) holds."""
    return await get_active_user(user_id=user_id)


async def _load(user: User) -> User:
    return await User.filter(id=user.id).prefetch_related(*caller.scope_relations()).get()


# --- tokens -----------------------------------------------------------------------------


async def issue_tokens(*, user: User, family_id: str | None = None) -> TokenPair:
    access, access_expires_at = security.issue_access_token(user.id)
    refresh, refresh_hash = security.new_refresh_token()
    refresh_expires_at = datetime.now(UTC) + timedelta(seconds=current().refresh_token_ttl)
    await RefreshToken.create(
        user=user,
        family_id=family_id or str(uuid.uuid4()),
        token_hash=refresh_hash,
        expires_at=refresh_expires_at,
    )
    return TokenPair(
        access_token=access,
        access_expires_at=access_expires_at,
        refresh_token=refresh,
        refresh_expires_at=refresh_expires_at,
    )


async def refresh_tokens(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Presenting an already-used one revokes its whole family."""
    now = datetime.now(UTC)
    token_hash = security.hash_refresh_token(refresh_token)
    row = await RefreshToken.get_or_none(token_hash=token_hash).select_related("user")
    if row is None or row.expires_at <= now:
        raise Unauthorized("登录已过期，请重新登录", code="invalid_refresh_token")
    if row.revoked_at is not None:
        # Logged out (the family is revoked already), or a successor retired by a grace
        # retry reaching us after all: then its answer was not lost, someone holds it.
        if await RefreshToken.filter(family_id=row.family_id, revoked_at=None).update(
                revoked_at=now):
            raise Unauthorized("登录凭证已被使用，请重新登录", code="refresh_token_reused")
        raise Unauthorized("登录已过期，请重新登录", code="invalid_refresh_token")
    # Conditional update: of two concurrent uses of one token exactly one rotates it.
    rotated = await RefreshToken.filter(id=row.id, used_at=None, revoked_at=None).update(used_at=now)
    if not rotated and not await _lost_answer(row, now):
        # A used token presented again means it leaked: end every session of this login.
        await RefreshToken.filter(family_id=row.family_id).update(revoked_at=now)
        raise Unauthorized("登录凭证已被使用，请重新登录", code="refresh_token_reused")
    if not row.user.is_active:
        raise Unauthorized("账号不可用", code="invalid_refresh_token")
    return await issue_tokens(user=row.user, family_id=row.family_id)


async def _lost_answer(row: RefreshToken, now: datetime) -> bool:
    """A retry of a refresh whose answer never arrived (a phone losing signal): the token was
    used less than `REFRESH_GRACE_S` ago and nothing it was exchanged for has been used since.

    Then the unused successor is retired and the caller gets a new pair of the same family;
    any other replay is a leak.
    """
    used = await RefreshToken.get(id=row.id)
    grace = timedelta(seconds=current().refresh_grace_s)
    if used.used_at is None or used.revoked_at is not None or now - used.used_at > grace:
        return False
    successors = RefreshToken.filter(family_id=row.family_id, created_at__gte=used.used_at
                                     ).exclude(id=row.id)
    if await successors.filter(Q(used_at__not_isnull=True) | Q(revoked_at__not_isnull=True)
                               ).exists():
        return False
    await successors.update(revoked_at=now)
    return True


async def logout(*, user: User, refresh_token: str) -> None:
    row = await RefreshToken.get_or_none(
        token_hash=security.hash_refresh_token(refresh_token), user_id=user.id
    )
    if row is not None:
        await RefreshToken.filter(family_id=row.family_id).update(revoked_at=datetime.now(UTC))


# --- logins -----------------------------------------------------------------------------


async def _throttle_login(ip: str) -> None:
    await counters.hit(f"login:ip:{ip}", limit=current().rate_login_per_minute, window_s=60)


async def login_with_wechat(*, code: str, ip: str) -> TokenPair:
    """code2Session through wechatpy → find or create the resident by openid → our tokens.

    The session_key stays on this server (it is not even stored: nothing here decrypts
    WeChat data yet).
    """
    await _throttle_login(ip)
    # Without an app id code2Session can only fail, after a call to WeChat's real host that
    # leaks our traffic and waits on the network: answer locally instead (dev uses /auth/dev).
    if not current().wechat_configured:
        raise Invalid("服务器未配置微信，无法登录", code="wechat_not_configured")
    session = await wechat.code_to_session(code)
    openid = session.get("openid")
    if not openid:
        raise Unauthorized("微信登录失败，请重试", code="invalid_wechat_code")
    user = await _find_or_create_resident(openid=openid, unionid=session.get("unionid"))
    return await issue_tokens(user=user)


async def login_dev(*, openid: str, display_name: str, ip: str) -> TokenPair:
    if not current().dev_login_allowed:  # the route is not even mounted in prod
        raise NotFound()
    await _throttle_login(ip)
    user = await _find_or_create_resident(openid=f"dev-{openid}", unionid=None)
    if display_name and user.display_name != display_name:
        user.display_name = display_name
        await user.save(update_fields=["display_name", "updated_at"])
    return await issue_tokens(user=user)


async def _find_or_create_resident(*, openid: str, unionid: str | None) -> User:
    user = await User.get_or_none(openid=openid)
    if user is None:
        try:
            user = await User.create(openid=openid, unionid=unionid, display_name="微信用户")
        except IntegrityError:  # a concurrent first login created it
            user = await User.get(openid=openid)
    if not user.is_active:
        raise Forbidden("账号已停用", code="account_disabled")
    return user


async def login_with_password(*, username: str, password: str, ip: str) -> TokenPair:
    """Staff login. After repeated failures the username is locked for a while (429)."""
    settings = current()
    await _throttle_login(ip)
    # Per (username, address): a stranger elsewhere cannot lock a worker out; the looser
    # per-username cap still stops a distributed guess at one account.
    fail_key = f"login:fail:{username.lower()}:{ip}"
    user_key = f"login:fail:{username.lower()}"
    failures, retry_after = await counters.get(fail_key)
    user_failures, user_retry = await counters.get(user_key)
    if user_failures >= settings.login_max_failures * 10:
        failures, retry_after = user_failures, user_retry
    if failures >= settings.login_max_failures:
        raise TooManyRequests(
            "登录失败次数过多，请稍后再试", code="too_many_login_failures",
            headers={"Retry-After": str(retry_after)}, details={"retry_after": retry_after},
        )
    user = await User.get_or_none(username=username)
    ok = await security.verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        await counters.incr(fail_key, settings.login_lockout_seconds)
        await counters.incr(user_key, settings.login_lockout_seconds)
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    await counters.delete(fail_key)
    return await issue_tokens(user=user)


# --- profiles and staff -----------------------------------------------------------------


def user_out(user: User) -> UserOut:
    grants = [
        GrantOut(role=g.role, area=area_ref(g.area), unit_id=g.unit_id,
                 unit_name=g.unit.name if g.unit_id else None)
        for g in user.grants  # type: ignore[attr-defined]
    ]
    if user.openid:
        grants.insert(0, GrantOut(role=Role.RESIDENT))
    return UserOut(
        id=user.id, display_name=user.display_name, surname=user.surname,
        username=user.username, work_phone=user.work_phone, is_active=user.is_active,
        home_area=area_ref(user.home_area), roles=grants, created_at=user.created_at,
        wechat_bound=user.wechat_openid is not None,
    )


async def bind_wechat(*, user: User, code: str) -> User:
    """Bind a staff member's WeChat (a wx.login code taken while signed in as staff), so that
    task and deadline subscribe messages reach them. Residents are bound by their login."""
    if user.openid and not user.username:
        raise Invalid("居民账号已通过微信登录，无需绑定", code="not_staff")
    if not current().wechat_configured:
        raise Invalid("服务器未配置微信，无法绑定", code="wechat_not_configured")
    openid = (await wechat.code_to_session(code)).get("openid")
    if not openid:
        raise Unauthorized("微信登录失败，请重试", code="invalid_wechat_code")
    if openid != user.wechat_openid:
        try:
            await User.filter(id=user.id).update(wechat_openid=openid,
                                                 updated_at=datetime.now(UTC))
        except IntegrityError:
            raise Conflict("该微信已绑定其他工作人员账号", code="wechat_already_bound") from None
    return await _load(user)


async def unbind_wechat(*, user: User) -> User:
    """Unbind: no more WeChat messages to this account (in-app messages go on)."""
    await User.filter(id=user.id).update(wechat_openid=None, updated_at=datetime.now(UTC))
    return await _load(user)


async def update_me(*, user: User, changes: MeUpdate) -> User:
    # Only the fields asked for, as a conditional update: `user` was loaded at authentication,
    # and writing the row back would undo a deactivation made in the meantime (or rename an
    # account that DELETE /me has just anonymised).
    values: dict[str, object] = {"updated_at": datetime.now(UTC)}
    if changes.display_name is not None:
        values["display_name"] = changes.display_name
    if changes.home_area_code is not None:
        area = await Area.get_or_none(code=changes.home_area_code)
        if area is None:
            raise Invalid("所选社区不存在", code="unknown_area")
        values["home_area_id"] = area.id
    if not await User.filter(id=user.id, deleted_at__isnull=True).update(**values):
        raise Unauthorized("账号已注销", code="account_deleted")
    return await _load(user)


def _user_paths(user: User) -> list[str]:
    """The area paths a user belongs to: home area, granted areas, their units' areas."""
    paths = []
    for grant in user.grants:  # type: ignore[attr-defined]
        if grant.area_id is not None:
            paths.append(grant.area.path)
        elif grant.unit_id is not None and grant.unit.area_id is not None:
            paths.append(grant.unit.area.path)
    if user.home_area_id is not None and user.home_area is not None:
        paths.append(user.home_area.path)
    return paths


def can_manage(viewer: User, target: User) -> bool:
    """A manager sees users whose home, granted or unit areas lie inside their own subtree.

    A city-wide admin sees everyone, including residents who have not chosen a community.
    """
    scope = scope_of(viewer)
    if scope.covers("/", Role.ADMIN):
        return True
    if not scope.has(*USER_MANAGERS):
        return False
    return any(scope.covers(path, *USER_MANAGERS) for path in _user_paths(target))


async def get_user_for(*, viewer: User, user_id: int) -> User:
    """A user's profile: yourself, or someone in your managed subtree; otherwise 404."""
    if user_id == viewer.id:
        return viewer
    target = await User.get_or_none(id=user_id).prefetch_related(*caller.scope_relations())
    # 404, not 403: a resident must not learn whether another account exists.
    if target is None or not can_manage(viewer, target):
        raise NotFound("找不到该用户", code="user_not_found")
    return target


async def scoped_area_paths(*, scope: Scope, roles: Iterable[Role], area_code: str | None
                            ) -> list[str]:
    """The subtrees a scoped query reads: the scope's own for `roles`, or the one area asked
    for, which must lie inside them (404 otherwise, as if it did not exist)."""
    roles = tuple(roles)
    if not area_code:
        return scope.paths(*roles)
    area = await Area.get_or_none(code=area_code)
    if area is None or not scope.covers(area.path, *roles):
        raise NotFound("找不到该区域", code="area_not_found")
    return [area.path]


async def list_users(*, viewer: User, query: UserQuery) -> UserPage:
    scope = scope_of(viewer)
    if not scope.has(*USER_MANAGERS):
        raise Forbidden()
    paths = await scoped_area_paths(scope=scope, roles=USER_MANAGERS, area_code=query.area)
    if "/" in paths and not query.area:
        qs = User.all()  # a city-wide admin lists everyone
    else:
        in_scope = (under_any("home_area__path", paths) | under_any("grants__area__path", paths)
                    | under_any("grants__unit__area__path", paths))
        qs = User.filter(in_scope)
    if query.role == Role.RESIDENT:
        qs = qs.filter(openid__not_isnull=True)
    elif query.role is not None:
        qs = qs.filter(id__in=Subquery(RoleGrant.filter(role=query.role).values("user_id")))
    rows, after = await keyset_page(qs.distinct().prefetch_related(*caller.scope_relations()),
                                    ordering=USER_ORDER, limit=query.limit, cursor=query.cursor)
    return UserPage(items=[user_out(u) for u in rows], next=after)


async def resolve_grant(scope: Scope, grant: GrantIn) -> RoleGrant:
    """One requested grant (not saved yet), checked against the creating admin's own scope."""
    if grant.role == Role.RESIDENT:
        raise Invalid("居民通过微信登录，无需创建", code="invalid_role")
    if grant.role == Role.HANDLER:
        if grant.unit_id is None:
            raise Invalid("处置人员必须指定所属单位", code="unit_required")
        # Units sit above accounts (their handlers are users): the unit is reached through
        # the grant's own foreign key, as the models name it, not by importing units.
        resolved = RoleGrant(role=grant.role, unit_id=grant.unit_id)
        await resolved.fetch_related("unit__area")
        unit = resolved.unit
        if unit is None or (unit.area_id is not None and not scope.covers(unit.area.path, Role.ADMIN)):
            raise Invalid("单位不存在或不在管辖范围内", code="unknown_unit")
        return resolved
    if not grant.area_code:
        raise Invalid("工作人员必须指定负责区域", code="area_required")
    area = await Area.get_or_none(code=grant.area_code)
    if area is None or not scope.covers(area.path, Role.ADMIN):
        raise Invalid("区域不存在或不在管辖范围内", code="unknown_area",
                      details={"area_code": grant.area_code})
    return RoleGrant(role=grant.role, area=area)


async def create_staff(*, actor: User, data: StaffCreate) -> User:
    """Admins create staff accounts, each role scoped inside the admin's own area subtree."""
    scope = scope_of(actor)
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员可以创建工作人员账号")
    resolved = [await resolve_grant(scope, g) for g in data.roles]
    password_hash = await security.hash_password(data.password)
    try:
        async with in_transaction("default"):
            user = await User.create(
                username=data.username, password_hash=password_hash,
                display_name=data.display_name, surname=data.surname or data.display_name[:1],
                work_phone=data.work_phone,
            )
            for grant in resolved:
                grant.user = user
                await grant.save()
            await config_cache.bump()  # a unit's handlers are part of the configuration
    except IntegrityError:
        raise Conflict("用户名已存在", code="username_taken") from None
    return await _load(user)


async def update_user(*, actor: User, user_id: int, changes: UserUpdate) -> User:
    target = await get_user_for(viewer=actor, user_id=user_id)
    if not scope_of(actor).has(Role.ADMIN) or target.id == actor.id and changes.is_active is False:
        raise Forbidden("只有管理员可以修改账号")
    values = changes.model_dump(exclude_none=True)
    was_active = target.is_active
    for name, value in values.items():
        setattr(target, name, value)
    async with in_transaction("default"):
        # The edited fields only: another admin may be changing other fields of the same row.
        await target.save(update_fields=[*values, "updated_at"])
        if changes.is_active is not None:
            await config_cache.bump()  # who hears of a unit's tasks may have changed
        if changes.is_active is not None and changes.is_active != was_active:
            # The record of admins' changes (accounts/grants.py reads it back).
            await AccountChange.create(
                user_id=target.id, actor_id=actor.id,
                action="activated" if changes.is_active else "deactivated",
                before={"is_active": was_active}, after={"is_active": changes.is_active})
    if changes.is_active is False:
        await RefreshToken.filter(user_id=target.id).update(revoked_at=datetime.now(UTC))
        # A deactivated account's bound WeChat is unbound, so no task or deadline message
        # reaches the person any more (they bind again if the account is reactivated).
        await User.filter(id=target.id).update(wechat_openid=None)
        target.wechat_openid = None
    return await _load(target)


# --- who looks after a cell -------------------------------------------------------------


async def grid_info(*, code: str) -> GridInfo:
    """A cell's grid workers (name and published work phone) and its community office."""
    cell = await areas.get_area_or_raise(code=code)
    ancestors = await areas.ancestors_of(cell)
    community = next((a for a in ancestors if a.kind == AreaKind.COMMUNITY), None)
    # A worker granted the cell itself or an area above it looks after this cell.
    area_ids = [cell.id, *[a.id for a in ancestors]]
    grants = await RoleGrant.filter(role=Role.GRID_WORKER, area_id__in=area_ids,
                                    user__is_active=True).select_related("user")
    seen: dict[int, GridWorkerOut] = {}
    for grant in sorted(grants, key=lambda g: g.user_id):
        seen.setdefault(grant.user_id, GridWorkerOut(display_name=grant.user.display_name,
                                                     work_phone=grant.user.work_phone))
    return GridInfo(cell=areas.area_out(cell, cell.parent.code if cell.parent else None),
                    community=areas.area_out(community) if community else None,
                    grid_workers=list(seen.values()))
