"""Catalog: the category tree (大类 › 小类), seeding the defaults, and admin edits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import STAFF_ROLES, Role, scope_of
from app.catalog.defaults import DEFAULT_CATEGORIES
from app.catalog.models import Category, CategoryKind
from app.catalog.schemas import (
    Audience,
    CategoryCreate,
    CategoryList,
    CategoryNode,
    CategoryOut,
    CategoryRef,
    CategoryUpdate,
    ResidentCategory,
    ResidentGroup,
)
from app.core import config_cache
from app.core.errors import Conflict, Forbidden, Invalid, NotFound

MAX_DEPTH = 2
_LEAF_FIELDS = ("limit_value", "limit_unit", "urgent_limit_value", "urgent_limit_unit",
                "auto_accept", "requires_photo", "is_resident_visible", "standard_ref")


def parent_code_of(category: Category) -> str | None:
    codes = category.path.strip("/").split("/")
    return codes[-2] if len(codes) > 1 else None


def category_out(category: Category) -> CategoryOut:
    return CategoryOut(
        code=category.code, name=category.name, resident_label=category.resident_label,
        kind=category.kind, parent_code=parent_code_of(category), depth=category.depth,
        path=category.path, standard_ref=category.standard_ref,
        limit_value=category.limit_value, limit_unit=category.limit_unit,
        urgent_limit_value=category.urgent_limit_value,
        urgent_limit_unit=category.urgent_limit_unit, auto_accept=category.auto_accept,
        requires_photo=category.requires_photo, is_resident_visible=category.is_resident_visible,
        is_active=category.is_active, sort=category.sort,
    )


def category_ref(category: Category) -> CategoryRef:
    return CategoryRef(code=category.code, name=category.name, path=category.path)


# --- seeding ----------------------------------------------------------------------------


def _default_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(majors, leaves) from the default tree, leaves inheriting kind and defaults."""
    majors: list[dict[str, Any]] = []
    leaves: list[dict[str, Any]] = []
    for m_sort, major in enumerate(DEFAULT_CATEGORIES, start=1):
        majors.append({
            "code": major["code"], "name": major["name"], "resident_label": major["resident_label"],
            "kind": CategoryKind(major["kind"]), "path": f"/{major['code']}/", "depth": 1,
            "standard_ref": major["standard_ref"], "requires_photo": major["requires_photo"],
            "sort": m_sort * 10,
        })
        for l_sort, leaf in enumerate(major["children"], start=1):
            row = {
                "code": leaf["code"], "name": leaf["name"], "resident_label": leaf["resident_label"],
                "kind": CategoryKind(major["kind"]), "path": f"/{major['code']}/{leaf['code']}/",
                "depth": 2, "sort": l_sort * 10, "auto_accept": False, "is_resident_visible": True,
                "standard_ref": major["standard_ref"], "requires_photo": major["requires_photo"],
            }
            row.update({k: leaf[k] for k in _LEAF_FIELDS if k in leaf})
            row["parent_code"] = major["code"]
            leaves.append(row)
    return majors, leaves


async def seed_default_categories() -> int:
    """Insert the default tree when the categories table is empty; returns the rows created."""
    if await Category.exists():
        return 0
    majors, leaves = _default_rows()
    try:
        async with in_transaction("default"):
            await Category.bulk_create([Category(**row) for row in majors])
            ids = dict(await Category.filter(depth=1).values_list("code", "id"))
            await Category.bulk_create([
                Category(parent_id=ids[row.pop("parent_code")], **row) for row in leaves
            ])
            await config_cache.bump()
    except IntegrityError:  # another process seeded at the same moment: theirs stands
        return 0
    return len(majors) + len(leaves)


# --- reading ----------------------------------------------------------------------------


def choose_audience(*, viewer: User, requested: Audience | None) -> Audience:
    """Staff may ask for either list; residents only for theirs (403 for the staff tree)."""
    is_staff = scope_of(viewer).has(*STAFF_ROLES)
    if requested == "staff" and not is_staff:
        raise Forbidden("只有工作人员可以查看完整分类", code="staff_only")
    return requested or ("staff" if is_staff else "resident")


async def list_categories(
    *, viewer: User, audience: Audience | None, include_inactive: bool
) -> CategoryList:
    """The resident list (active, visible 小类 grouped by 大类) or the staff tree."""
    audience = choose_audience(viewer=viewer, requested=audience)
    qs = Category.all() if audience == "staff" and include_inactive else Category.filter(
        is_active=True)
    rows = await qs.order_by("depth", "sort", "code")
    majors = [c for c in rows if c.depth == 1]
    children: dict[int, list[Category]] = {}
    for c in rows:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    if audience == "staff":
        items_staff = [
            CategoryNode(**category_out(m).model_dump(),
                         children=[category_out(c) for c in children.get(m.id, [])])
            for m in majors
        ]
        return CategoryList(audience="staff", items=items_staff)
    groups = []
    for m in majors:
        visible = [c for c in children.get(m.id, []) if c.is_resident_visible]
        if not m.is_resident_visible or not visible:
            continue
        groups.append(ResidentGroup(
            code=m.code, label=m.resident_label or m.name, kind=m.kind,
            children=[ResidentCategory(code=c.code, label=c.resident_label or c.name,
                                       requires_photo=c.requires_photo) for c in visible],
        ))
    return CategoryList(audience="resident", items=groups)


async def get_category_or_raise(*, code: str) -> Category:
    """Any category, active or not; 404 `category_not_found`."""
    category = await Category.get_or_none(code=code)
    if category is None:
        raise NotFound("找不到该问题分类", code="category_not_found")
    return category


@dataclass(frozen=True)
class Catalog:
    """The whole category tree of this process (read-only; see app.core.config_cache)."""

    by_id: dict[int, Category]
    by_code: dict[str, Category]


@config_cache.snapshot
async def _catalog() -> Catalog:
    rows = await Category.all()
    return Catalog(by_id={c.id: c for c in rows}, by_code={c.code: c for c in rows})


async def categories_by_id() -> dict[int, Category]:
    """Every category by id, from this process's snapshot: do not modify what you get."""
    return (await _catalog.get()).by_id


async def get_active_leaf_or_raise(*, code: str) -> Category:
    """A 小类 a report may be filed against: active, under an active 大类 (a shared snapshot).

    Unknown or retired → 404 `category_not_found`; a 大类 → 422 `category_not_leaf`.
    """
    catalog = await _catalog.get()
    category = catalog.by_code.get(code)
    parent = catalog.by_id.get(category.parent_id) if category and category.parent_id else None
    if category is None or not category.is_active or (parent is not None and not parent.is_active):
        raise NotFound("找不到该问题分类或已停用", code="category_not_found")
    if category.depth < MAX_DEPTH:
        raise Invalid("请选择具体的问题小类", code="category_not_leaf")
    return category


async def get_category_for(*, viewer: User, code: str) -> Category:
    """One category; residents see only active, resident-visible ones (else 404)."""
    category = await get_category_or_raise(code=code)
    if not scope_of(viewer).has(*STAFF_ROLES) and not (
        category.is_active and category.is_resident_visible
    ):
        raise NotFound("找不到该问题分类", code="category_not_found")
    return category


# --- admin edits --------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    # The catalogue is city-wide: any admin, whatever their area, may edit it.
    if not scope_of(actor).has(Role.ADMIN):
        raise Forbidden("只有管理员可以维护问题分类")


async def create_category(*, actor: User, data: CategoryCreate) -> Category:
    """Admins add a 大类 (no parent) or a 小类 under an existing 大类."""
    _require_admin(actor)
    parent: Category | None = None
    if data.parent_code is not None:
        parent = await Category.get_or_none(code=data.parent_code)
        if parent is None:
            raise Invalid("上级分类不存在", code="unknown_parent",
                          details={"parent_code": data.parent_code})
        if parent.depth >= MAX_DEPTH:
            raise Invalid("分类最多两级（大类、小类）", code="too_deep")
        if data.kind is not None and data.kind != parent.kind:
            raise Invalid("小类的类型必须与大类一致", code="kind_mismatch")
        if len(data.code) != 4 or not data.code.startswith(parent.code):
            raise Invalid(f"小类编码应为大类编码 {parent.code} 加两位数字", code="invalid_code")
        kind = parent.kind
    else:
        if data.kind is None:
            raise Invalid("大类必须指定类型（部件或事件）", code="kind_required")
        in_range = "01" <= data.code <= "09" if data.kind == CategoryKind.COMPONENT else (
            "10" <= data.code <= "99")
        if len(data.code) != 2 or not in_range:
            raise Invalid("大类编码为两位数字：部件 01–09，事件 10–99", code="invalid_code")
        kind = data.kind
    if await Category.exists(code=data.code):
        raise Conflict("分类编码已存在", code="category_code_taken")
    values = data.model_dump(exclude={"parent_code", "kind"})
    try:
        async with in_transaction("default"):
            category = await Category.create(
                **values, kind=kind, parent=parent, depth=parent.depth + 1 if parent else 1,
                path=f"{parent.path if parent else '/'}{data.code}/",
            )
            await config_cache.bump()
            return category
    except IntegrityError:  # created concurrently
        raise Conflict("分类编码已存在", code="category_code_taken") from None


async def update_category(*, actor: User, code: str, changes: CategoryUpdate) -> Category:
    """Admins edit names, labels, limits and flags; code, kind and parent stay stable."""
    _require_admin(actor)
    category = await get_category_or_raise(code=code)
    values = changes.model_dump(exclude_none=True)
    for name, value in values.items():
        setattr(category, name, value)
    if values:
        async with in_transaction("default"):
            await category.save(update_fields=[*values, "updated_at"])
            await config_cache.bump()
    return category
