"""Units (处置单位): who handles cases where, scoped by the area each unit serves."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.accounts.models import RoleGrant, User
from app.accounts.scope import Role, Scope, scope_of
from app.areas.models import Area, AreaKind
from app.areas.service import area_ref
from app.core import config_cache
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.paging import Ordering, keyset_page
from app.core.paths import under
from app.units.models import Unit, UnitKind
from app.units.schemas import (
    UnitCreate,
    UnitDetail,
    UnitMember,
    UnitOut,
    UnitPage,
    UnitQuery,
    UnitRef,
    UnitUpdate,
)

# Staff roles scoped by area subtree; handlers see the units they belong to.
AREA_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
# A grid team is found by the router on a cell or its community, nowhere else.
GRID_TEAM_AREAS = frozenset({AreaKind.COMMUNITY, AreaKind.GRID})
# The unit list: in id order (oldest unit first), cursor "<id>".
UNIT_ORDER = Ordering.of("id")


@config_cache.lookup
async def _units(ids: list[int]) -> dict[int, Unit]:
    return {u.id: u for u in await Unit.filter(id__in=ids)}


async def units_by_id(ids: Iterable[int]) -> dict[int, Unit]:
    """Units from this process's cache (names change rarely): read-only."""
    return await _units.get_many(ids)


@config_cache.snapshot
async def _handlers() -> dict[int, tuple[int, ...]]:
    by_unit: dict[int, list[int]] = {}
    for unit_id, user_id in await (RoleGrant.filter(role=Role.HANDLER, unit_id__not_isnull=True,
                                                    user__is_active=True)
                                   .order_by("user_id").values_list("unit_id", "user_id")):
        by_unit.setdefault(unit_id, []).append(user_id)
    return {unit_id: tuple(users) for unit_id, users in by_unit.items()}


async def handlers_of(unit_id: int) -> tuple[int, ...]:
    """The active handlers of a unit (who hear of a task assigned to it), from the snapshot."""
    return (await _handlers.get()).get(unit_id, ())


def unit_ref(unit: Unit) -> UnitRef:
    return UnitRef(id=unit.id, name=unit.name, kind=unit.kind, is_active=unit.is_active)


def unit_out(unit: Unit) -> UnitOut:
    """Needs `unit.area` loaded (select_related / fetch_related)."""
    return UnitOut(id=unit.id, name=unit.name, kind=unit.kind, is_active=unit.is_active,
                   area=area_ref(unit.area), created_at=unit.created_at)


def can_see(scope: Scope, unit: Unit) -> bool:
    """Staff see units serving inside their subtrees (all, city-wide); handlers their own."""
    if unit.id in scope.unit_ids.get(Role.HANDLER, ()) or scope.is_city_wide(*AREA_ROLES):
        return True
    return unit.area is not None and scope.covers(unit.area.path, *AREA_ROLES)


def can_manage(scope: Scope, unit: Unit) -> bool:
    if scope.is_city_wide(Role.ADMIN):
        return True
    return unit.area is not None and scope.covers(unit.area.path, Role.ADMIN)


async def get_unit_for(*, viewer: User, unit_id: int) -> Unit:
    """A unit the viewer may see (area loaded); otherwise 404 `unit_not_found`."""
    unit = await Unit.get_or_none(id=unit_id).select_related("area")
    if unit is None or not can_see(scope_of(viewer), unit):
        raise NotFound("找不到该单位", code="unit_not_found")
    return unit


async def list_units(*, viewer: User, query: UnitQuery) -> UnitPage:
    scope = scope_of(viewer)
    handler_units = scope.unit_ids.get(Role.HANDLER, ())
    paths = scope.paths(*AREA_ROLES)
    if not paths and not handler_units:
        raise Forbidden("只有工作人员可以查看单位")
    qs = Unit.all()
    if not scope.is_city_wide(*AREA_ROLES):
        visible = [under("area__path", path) for path in paths]
        if handler_units:
            visible.append(Q(id__in=list(handler_units)))
        qs = qs.filter(Q(*visible, join_type="OR"))
    if query.area:
        area = await Area.get_or_none(code=query.area)
        if area is None or not (scope.is_city_wide(*AREA_ROLES)
                                or scope.covers(area.path, *AREA_ROLES)):
            raise NotFound("找不到该区域", code="area_not_found")
        qs = qs.filter(under("area__path", area.path))
    if query.kind is not None:
        qs = qs.filter(kind=query.kind)
    if not query.include_inactive:
        qs = qs.filter(is_active=True)
    rows, after = await keyset_page(qs.select_related("area"), ordering=UNIT_ORDER,
                                    limit=query.limit, cursor=query.cursor)
    return UnitPage(items=[unit_out(u) for u in rows], next=after)


async def get_unit_detail(*, viewer: User, unit_id: int) -> UnitDetail:
    unit = await get_unit_for(viewer=viewer, unit_id=unit_id)
    grants = await RoleGrant.filter(
        role=Role.HANDLER, unit_id=unit.id, user__is_active=True
    ).order_by("user_id").select_related("user")
    members = [UnitMember(id=g.user.id, display_name=g.user.display_name,
                          work_phone=g.user.work_phone) for g in grants]
    return UnitDetail(**unit_out(unit).model_dump(), members=members)


async def create_unit(*, actor: User, data: UnitCreate) -> Unit:
    """Admins create units serving an area in their scope (city-wide ones: city-wide admins)."""
    scope = scope_of(actor)
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员可以创建单位")
    area: Area | None = None
    if data.area_code is None:
        if not scope.is_city_wide(Role.ADMIN):
            raise Invalid("请指定单位服务的区域", code="area_required")
    else:
        area = await Area.get_or_none(code=data.area_code)
        if area is None or not scope.covers(area.path, Role.ADMIN):
            raise Invalid("区域不存在或不在管辖范围内", code="unknown_area",
                          details={"area_code": data.area_code})
    if data.kind == UnitKind.GRID_TEAM and (area is None or area.kind not in GRID_TEAM_AREAS):
        raise Invalid("网格队必须属于某个社区或网格", code="invalid_grid_team_area")
    async with in_transaction("default"):
        unit = await Unit.create(name=data.name, kind=data.kind, area=area)
        await config_cache.bump()
    await unit.fetch_related("area")
    return unit


async def update_unit(*, actor: User, unit_id: int, changes: UnitUpdate) -> Unit:
    """Admins rename or (de)activate units in their scope; a retired unit gets no new cases."""
    unit = await get_unit_for(viewer=actor, unit_id=unit_id)
    if not can_manage(scope_of(actor), unit):
        raise Forbidden("只能修改本辖区的单位", code="out_of_scope")
    values = changes.model_dump(exclude_none=True)
    for name, value in values.items():
        setattr(unit, name, value)
    if values:
        async with in_transaction("default"):
            await unit.save(update_fields=list(values))
            await config_cache.bump()
    return unit
