"""Routing: decide which unit gets a report, and keep the rules (with their history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, Scope, scope_of
from app.areas import service as areas
from app.areas.models import Area
from app.areas.service import area_ref
from app.catalog import service as catalog
from app.catalog.models import Category
from app.core import config_cache
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.paging import Ordering, keyset_page
from app.core.paths import under
from app.routing.models import RoutingRule, RoutingRuleChange, RuleChangeAction
from app.routing.rules import RuleCandidate, resolve
from app.routing.schemas import (
    Actor,
    PreviewOut,
    RoutedBy,
    RuleChangeOut,
    RuleCreate,
    RuleHistory,
    RuleOut,
    RulePage,
    RuleUpdate,
)
from app.units import service as units
from app.units.models import Unit, UnitKind

RULE_READERS = (Role.ADMIN, Role.DISPATCHER)
# The rule list and a rule's history: in id order (oldest first), cursor "<id>".
RULE_ORDER = Ordering.of("id")


@dataclass(frozen=True)
class RouteDecision:
    """Where a report goes: a unit by a rule, the cell's grid team, or the dispatchers' queue."""

    unit_id: int | None
    rule_id: int | None
    routed_by: RoutedBy


def path_prefixes(path: str) -> list[str]:
    """"/a/b/c/" → ["/a/", "/a/b/", "/a/b/c/"]: the node and its ancestors."""
    codes = [c for c in path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


@dataclass(frozen=True)
class RoutingTable:
    """Active rules of active units and the grid teams, as this process last loaded them."""

    rules: tuple[RuleCandidate, ...]
    grid_teams: dict[int, int]  # area id → its active grid team (lowest id)


@config_cache.snapshot
async def _table() -> RoutingTable:
    rows = await (
        RoutingRule.filter(is_active=True, unit__is_active=True)
        .values("id", "unit_id", "priority", "category__path", "area__path")
    )
    rules = tuple(
        RuleCandidate(rule_id=r["id"], unit_id=r["unit_id"], category_path=r["category__path"],
                      area_path=r["area__path"], priority=r["priority"])
        for r in rows
    )
    teams: dict[int, int] = {}
    for unit_id, area_id in await Unit.filter(kind=UnitKind.GRID_TEAM, is_active=True,
                                              area_id__not_isnull=True
                                              ).order_by("-id").values_list("id", "area_id"):
        teams[area_id] = unit_id  # descending ids: the lowest id is written last and wins
    return RoutingTable(rules=rules, grid_teams=teams)


async def load_candidates(*, category: Category, cell: Area | None) -> list[RuleCandidate]:
    """Active rules of active units that could apply here (from the process's snapshot)."""
    categories = set(path_prefixes(category.path))
    areas = set(path_prefixes(cell.path)) if cell is not None else set()
    return [r for r in (await _table.get()).rules
            if (r.category_path is None or r.category_path in categories)
            and (r.area_path is None or r.area_path in areas)]


async def find_grid_team(*, cell: Area) -> int | None:
    """The active grid team of the cell itself, else of its community (lowest id on a tie)."""
    teams = (await _table.get()).grid_teams
    for area_id in (cell.id, cell.parent_id):
        if area_id is not None and area_id in teams:
            return teams[area_id]
    return None


async def decide_route(*, category: Category, cell: Area | None) -> RouteDecision:
    """Rules first (most specific wins), then the cell's grid team, then manual dispatch."""
    candidates = await load_candidates(category=category, cell=cell)
    winner = resolve(candidates=candidates, category_path=category.path,
                     area_path=cell.path if cell is not None else None)
    if winner is not None:
        return RouteDecision(unit_id=winner.unit_id, rule_id=winner.rule_id, routed_by="rule")
    if cell is not None and (team_id := await find_grid_team(cell=cell)) is not None:
        return RouteDecision(unit_id=team_id, rule_id=None, routed_by="grid_team")
    return RouteDecision(unit_id=None, rule_id=None, routed_by="manual")


# --- rules as data ----------------------------------------------------------------------


def rule_out(rule: RoutingRule) -> RuleOut:
    """Needs category, area and unit loaded."""
    return RuleOut(
        id=rule.id, area=area_ref(rule.area),
        category=catalog.category_ref(rule.category) if rule.category else None,
        unit=units.unit_ref(rule.unit), priority=rule.priority, is_active=rule.is_active,
        note=rule.note, created_at=rule.created_at, updated_at=rule.updated_at,
    )


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "category_code": rule.category.code if rule.category else None,
        "area_code": rule.area.code if rule.area else None,
        "unit_id": rule.unit.id,
        "unit_name": rule.unit.name,
        "priority": rule.priority,
        "is_active": rule.is_active,
        "note": rule.note,
    }


async def _record(rule: RoutingRule, action: RuleChangeAction, actor: User) -> None:
    """Call inside the transaction that changed the rule."""
    await config_cache.bump()
    await RoutingRuleChange.create(rule_id=rule.id, action=action, snapshot=_snapshot(rule),
                                   actor=actor)


def _ancestor_paths(scope: Scope, *roles: Role) -> list[str]:
    return sorted({p for path in scope.paths(*roles) for p in path_prefixes(path)})


def _can_read(scope: Scope, rule: RoutingRule) -> bool:
    """Readers see rules inside their subtrees and those above them (which apply there too)."""
    if rule.area is None or scope.is_city_wide(*RULE_READERS):
        return True
    return scope.covers(rule.area.path, *RULE_READERS) or (
        rule.area.path in _ancestor_paths(scope, *RULE_READERS))


def _can_manage(scope: Scope, area: Area | None) -> bool:
    if area is None:
        return scope.is_city_wide(Role.ADMIN)
    return scope.covers(area.path, Role.ADMIN)


def _require_admin(scope: Scope) -> None:
    if not scope.has(Role.ADMIN):
        raise Forbidden("只有管理员可以维护派单规则")


async def get_rule_for(*, viewer: User, rule_id: int) -> RoutingRule:
    """A rule the viewer (admin or dispatcher) may read, relations loaded; else 404."""
    scope = scope_of(viewer)
    if not scope.has(*RULE_READERS):
        raise Forbidden("只有管理员和派遣员可以查看派单规则")
    rule = await RoutingRule.get_or_none(id=rule_id).select_related("category", "area", "unit")
    if rule is None or not _can_read(scope, rule):
        raise NotFound("找不到该派单规则", code="rule_not_found")
    return rule


async def list_rules(
    *, actor: User, area: str | None, category: str | None, include_inactive: bool = False,
    limit: int = 100, cursor: str | None = None,
) -> RulePage:
    """Rules the actor may read, optionally those set on an area / category subtree."""
    scope = scope_of(actor)
    if not scope.has(*RULE_READERS):
        raise Forbidden("只有管理员和派遣员可以查看派单规则")
    qs = RoutingRule.all()
    if not scope.is_city_wide(*RULE_READERS):
        visible = [Q(area_id=None), Q(area__path__in=_ancestor_paths(scope, *RULE_READERS))]
        visible += [under("area__path", p) for p in scope.paths(*RULE_READERS)]
        qs = qs.filter(Q(*visible, join_type="OR"))
    if area is not None:
        area_row = await Area.get_or_none(code=area)
        if area_row is None:
            raise NotFound("找不到该区域", code="area_not_found")
        qs = qs.filter(under("area__path", area_row.path))
    if category is not None:
        category_row = await catalog.get_category_or_raise(code=category)
        qs = qs.filter(under("category__path", category_row.path))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    rows, after = await keyset_page(qs.select_related("category", "area", "unit"),
                                    ordering=RULE_ORDER, limit=limit, cursor=cursor)
    return RulePage(items=[rule_out(r) for r in rows], next=after)


async def _usable_unit(scope: Scope, unit_id: int, area: Area | None) -> Unit:
    """An active unit the admin may route to: city-wide, serving this area or above it, or
    serving inside the admin's own scope."""
    unit = await Unit.get_or_none(id=unit_id).select_related("area")
    allowed = unit is not None and (
        unit.area is None
        or scope.is_city_wide(Role.ADMIN)
        or (area is not None and area.path.startswith(unit.area.path))
        or scope.covers(unit.area.path, Role.ADMIN)
    )
    if unit is None or not allowed:
        raise Invalid("单位不存在或不在管辖范围内", code="unknown_unit",
                      details={"unit_id": unit_id})
    if not unit.is_active:
        raise Invalid("该单位已停用", code="unit_inactive", details={"unit_id": unit_id})
    return unit


async def _refuse_twin(*, category_id: int | None, area_id: int | None, priority: int,
                       exclude_id: int | None = None) -> None:
    """Two active rules equal in category, area and priority would be decided by id alone."""
    twins = RoutingRule.filter(is_active=True, category_id=category_id, area_id=area_id,
                               priority=priority)
    if exclude_id is not None:
        twins = twins.exclude(id=exclude_id)
    twin = await twins.first()
    if twin is not None:
        raise Conflict("已有相同分类、区域和优先级的规则，请修改原规则或调整优先级",
                       code="rule_conflict", details={"rule_id": twin.id})


async def create_rule(*, actor: User, data: RuleCreate) -> RoutingRule:
    """Admins add a rule for an area in their scope (a city-wide rule: city-wide admins)."""
    scope = scope_of(actor)
    _require_admin(scope)
    category = None
    if data.category_code is not None:
        category = await Category.get_or_none(code=data.category_code)
        if category is None:
            raise Invalid("问题分类不存在", code="unknown_category",
                          details={"category_code": data.category_code})
    area = None
    if data.area_code is not None:
        area = await Area.get_or_none(code=data.area_code)
        if area is None:
            raise Invalid("区域不存在", code="unknown_area", details={"area_code": data.area_code})
    if not _can_manage(scope, area):
        raise Forbidden("只能为本辖区设置派单规则", code="out_of_scope")
    unit = await _usable_unit(scope, data.unit_id, area)
    await _refuse_twin(category_id=category.id if category else None,
                       area_id=area.id if area else None, priority=data.priority)
    async with in_transaction("default"):
        rule = await RoutingRule.create(category=category, area=area, unit=unit,
                                        priority=data.priority, note=data.note)
        await _record(rule, RuleChangeAction.CREATED, actor)
    return rule


async def update_rule(*, actor: User, rule_id: int, changes: RuleUpdate) -> RoutingRule:
    """Admins change a rule's unit, priority, note or active flag; history gets the result."""
    scope = scope_of(actor)
    rule = await get_rule_for(viewer=actor, rule_id=rule_id)
    _require_admin(scope)
    if not _can_manage(scope, rule.area):
        raise Forbidden("只能修改本辖区的派单规则", code="out_of_scope")
    unit = None
    if changes.unit_id is not None:
        unit = await _usable_unit(scope, changes.unit_id, rule.area)
    async with in_transaction("default"):
        # Re-read under a row lock: concurrent edits apply one after the other, and the
        # history snapshot is exactly the row that was written.
        rule = await RoutingRule.filter(id=rule_id).select_for_update().get()
        await rule.fetch_related("category", "area", "unit")
        values = changes.model_dump(exclude_none=True, exclude={"unit_id"})
        changed = [name for name, value in values.items() if getattr(rule, name) != value]
        for name in changed:
            setattr(rule, name, values[name])
        if unit is not None and unit.id != rule.unit_id:
            rule.unit = unit
            changed.append("unit_id")
        if not changed:
            return rule
        if rule.is_active:
            await _refuse_twin(category_id=rule.category_id, area_id=rule.area_id,
                               priority=rule.priority, exclude_id=rule.id)
        await rule.save(update_fields=[*changed, "updated_at"])
        action = (RuleChangeAction.DEACTIVATED if "is_active" in changed and not rule.is_active
                  else RuleChangeAction.UPDATED)
        await _record(rule, action, actor)
    return rule


async def deactivate_rule(*, actor: User, rule_id: int) -> RoutingRule:
    """Retire a rule (kept for history); retiring a retired rule changes nothing."""
    return await update_rule(actor=actor, rule_id=rule_id, changes=RuleUpdate(is_active=False))


async def rule_history(*, actor: User, rule_id: int, limit: int = 100,
                       cursor: str | None = None) -> RuleHistory:
    """The changes of a rule the actor may read, oldest first, with who made them."""
    await get_rule_for(viewer=actor, rule_id=rule_id)
    rows, after = await keyset_page(
        RoutingRuleChange.filter(rule_id=rule_id).select_related("actor"),
        ordering=RULE_ORDER, limit=limit, cursor=cursor)
    return RuleHistory(next=after, items=[
        RuleChangeOut(
            id=c.id, rule_id=c.rule_id, action=c.action, snapshot=c.snapshot,
            actor=Actor(id=c.actor.id, display_name=c.actor.display_name) if c.actor else None,
            created_at=c.created_at,
        )
        for c in rows
    ])


# --- preview ----------------------------------------------------------------------------


async def preview_route(
    *, actor: User, category_code: str, lng: float, lat: float, crs: str
) -> PreviewOut:
    """Which cell and unit a report here would get, and why — without filing anything."""
    scope = scope_of(actor)
    if not scope.has(*RULE_READERS):
        raise Forbidden("只有管理员和派遣员可以预览派单结果")
    category = await catalog.get_active_leaf_or_raise(code=category_code)
    location = await areas.locate(lng=lng, lat=lat, crs=crs)
    cell = None
    if location.cell is not None:  # without its geometry, from the areas cache
        cell = (await areas.areas_by_id([location.cell.id])).get(location.cell.id)
    if cell is not None and not (scope.is_city_wide(*RULE_READERS)
                                 or scope.covers(cell.path, *RULE_READERS)):
        raise Forbidden("该位置不在您的管辖范围内", code="out_of_scope")
    decision = await decide_route(category=category, cell=cell)
    unit = await Unit.get(id=decision.unit_id) if decision.unit_id is not None else None
    rule = None
    if decision.rule_id is not None:
        rule = await RoutingRule.get(id=decision.rule_id).select_related("category", "area",
                                                                         "unit")
    where = "" if cell is not None else "该位置不在任何网格内；"
    if decision.routed_by == "rule" and rule is not None and unit is not None:
        explanation = (f"{where}匹配派单规则 #{rule.id}"
                       f"（{rule.category.name if rule.category else '全部分类'}，"
                       f"{rule.area.name if rule.area else '全市'}），派给{unit.name}")
    elif decision.routed_by == "grid_team" and unit is not None and cell is not None:
        explanation = f"没有匹配的派单规则，派给网格「{cell.name}」的网格队{unit.name}"
    else:
        explanation = f"{where}没有匹配的派单规则，也没有网格队，进入派遣员手工派遣队列"
    return PreviewOut(
        location=location, category=catalog.category_ref(category),
        routed_by=decision.routed_by, unit=units.unit_ref(unit) if unit else None,
        rule=rule_out(rule) if rule else None, explanation=explanation,
    )
