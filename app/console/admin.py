"""Admin pages (系统管理, issue 12): categories, routing rules with a map, the working calendar.

Units and staff accounts are in `admin_units.py`. Every page calls the service the JSON API
calls (through `domain`), which checks the admin's role and scope; a refusal comes back as
the page with the service's Chinese message and its 4xx status. Forms post with the session's
CSRF token (checked in `web.py`) and redirect after a write (303), so a reload sends nothing.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.web import PREFIX, Handler, bp, env, error_page, is_htmx, page, render

ADMIN_ONLY = "只有管理员可以使用系统管理页面"
LIMIT_UNITS = {"work_hours": "工作时", "work_days": "工作日", "natural_hours": "自然时",
               "natural_days": "自然日"}
FIELD_LABELS = {
    "name": "名称", "resident_label": "居民端名称", "standard_ref": "标准依据", "limit_value": "处置时限",
    "limit_unit": "时限单位", "urgent_limit_value": "紧急时限", "urgent_limit_unit": "紧急时限单位",
    "sort": "排序", "code": "编码", "kind": "类型", "parent_code": "上级分类",
    "category_code": "问题分类", "area_code": "区域", "unit_id": "处置单位", "priority": "优先级",
    "note": "备注", "username": "用户名", "password": "初始密码", "display_name": "姓名",
    "surname": "姓", "work_phone": "工作电话", "role": "角色", "roles": "角色", "day": "日期",
    "is_workday": "调整类型", "lng": "经度", "lat": "纬度",
}
CATEGORY_KINDS = {"component": "部件", "event": "事件"}
SAVED = {"1": "已保存", "created": "已创建", "deactivated": "已停用", "activated": "已启用",
         "deleted": "已删除", "grants": "授权已更新，该账号下一次操作起生效"}


def may_administer(user: domain.User | None) -> bool:
    """Admins (of any area) see the 系统管理 menu; the services decide what is in their scope."""
    return user is not None and domain.is_admin(user)


env.globals["may_administer"] = may_administer
env.globals["limit_units"] = LIMIT_UNITS


def admin_only(handler: Handler) -> Handler:
    """A page for admins: anyone else gets 403, as the API's admin routes answer them."""
    @page
    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if not may_administer(request.ctx.console.user):
            return await error_page(request, 403, ADMIN_ONLY)
        return await handler(request, *args, **kwargs)
    return wrapped


def form_values(request: Request, *names: str) -> dict[str, str]:
    """The posted text fields asked for, trimmed (absent ones are empty strings)."""
    form = request.form
    return {n: ((form.get(n) if form else None) or "").strip()[:1000] for n in names}


def checked(request: Request, name: str) -> bool:
    return bool(request.form and request.form.get(name))


def messages(exc: ValidationError) -> list[str]:
    """One Chinese line per invalid field, named as the form names it."""
    lines = []
    for error in exc.errors():
        field = next((str(p) for p in reversed(error["loc"]) if str(p) in FIELD_LABELS), "")
        lines.append(f"{FIELD_LABELS.get(field, '填写内容')}填写有误，请检查")
    return list(dict.fromkeys(lines))


def refused(exc: domain.AppError) -> domain.AppError:
    """A service's refusal is shown on the page; anything else is not ours to soften."""
    if exc.status_code >= 500:
        raise exc
    return exc


def done(path: str, what: str = "1") -> HTTPResponse:
    return redirect(f"{PREFIX}{path}?saved={what}", status=303)


def notice_of(request: Request) -> str:
    return SAVED.get(request.args.get("saved", ""), "")


M = TypeVar("M", bound=BaseModel)


def changed_fields(model: type[M], request: Request, values: dict[str, Any]) -> M:
    """PATCH semantics for a form that posts every field: only the fields the admin changed.

    Each form carries what it showed as `was_<field>`; a field posted as it was shown is left
    out, so another admin's edit of it since the form was opened is not written back.
    """
    new = model.model_validate(values).model_dump(exclude_none=True)
    form = request.form
    shown = {n: form.get(f"was_{n}") for n in values} if form else {}
    try:
        was = model.model_validate({k: v for k, v in shown.items() if v is not None}
                                   ).model_dump(exclude_none=True)
    except ValidationError:  # a form without (valid) originals: send every field
        was = {}
    return model.model_validate({k: v for k, v in new.items() if k not in was or was[k] != v})


# --- 问题分类 -------------------------------------------------------------------------------------

CATEGORY_TEXT = ("name", "resident_label", "standard_ref", "limit_value", "limit_unit",
                 "urgent_limit_value", "urgent_limit_unit", "sort")
CATEGORY_FLAGS = ("auto_accept", "requires_photo", "is_resident_visible", "is_active")


@bp.get("/admin")
@admin_only
async def admin_home(request: Request) -> HTTPResponse:
    return redirect(f"{PREFIX}/admin/categories")


@bp.get("/admin/categories")
@admin_only
async def admin_categories(request: Request) -> HTTPResponse:
    return await _categories_page(request)


async def _categories_page(request: Request, *, status: int = 200,
                           errors: list[str] | None = None,
                           values: dict[str, Any] | None = None) -> HTTPResponse:
    tree = await domain.category_tree(user=request.ctx.console.user)
    return await render(request, "admin/categories.html", status=status, tree=tree,
                        errors=errors or [], v=values or {"kind": "event"},
                        notice=notice_of(request), kinds=CATEGORY_KINDS)


@bp.post("/admin/categories")
@admin_only
async def admin_create_category(request: Request) -> HTTPResponse:
    values: dict[str, Any] = form_values(request, "code", "name", "resident_label", "kind",
                                         "parent_code", "limit_value", "limit_unit")
    body = {k: v for k, v in values.items() if v}
    if body.get("parent_code"):
        body.pop("kind", None)  # a 小类 takes its 大类's kind; the form's choice is for a 大类
    try:
        data = domain.CategoryCreate.model_validate(body)
        await domain.catalog.create_category(actor=request.ctx.console.user, data=data)
    except ValidationError as exc:
        return await _categories_page(request, status=422, errors=messages(exc), values=values)
    except domain.AppError as exc:
        err = refused(exc)
        return await _categories_page(request, status=err.status_code, errors=[err.message],
                                      values=values)
    return done("/admin/categories", "created")


@bp.get("/admin/categories/<code:str>")
@admin_only
async def admin_category_form(request: Request, code: str) -> HTTPResponse:
    category = await domain.category_by_code(code=code)
    return await _category_page(request, category)


async def _category_page(request: Request, category: domain.Category, *, status: int = 200,
                         errors: list[str] | None = None) -> HTTPResponse:
    return await render(request, "admin/category.html", status=status, c=category,
                        errors=errors or [], notice=notice_of(request))


@bp.post("/admin/categories/<code:str>")
@admin_only
async def admin_update_category(request: Request, code: str) -> HTTPResponse:
    category = await domain.category_by_code(code=code)
    values: dict[str, Any] = form_values(request, *CATEGORY_TEXT)
    values.update({flag: checked(request, flag) for flag in CATEGORY_FLAGS})
    try:
        changes = changed_fields(domain.CategoryUpdate, request, values)
        await domain.catalog.update_category(actor=request.ctx.console.user, code=code,
                                             changes=changes)
    except ValidationError as exc:
        return await _category_page(request, category, status=422, errors=messages(exc))
    except domain.AppError as exc:
        err = refused(exc)
        return await _category_page(request, category, status=err.status_code,
                                    errors=[err.message])
    return done(f"/admin/categories/{code}")


# --- 工作日历 -------------------------------------------------------------------------------------


@bp.get("/admin/calendar")
@admin_only
async def admin_calendar(request: Request) -> HTTPResponse:
    return await _calendar_page(request)


async def _calendar_page(request: Request, *, status: int = 200, errors: list[str] | None = None,
                         values: dict[str, Any] | None = None) -> HTTPResponse:
    missing, overrides = await domain.work_calendar.calendar_status(
        user=request.ctx.console.user)
    return await render(request, "admin/calendar.html", status=status, missing=missing,
                        overrides=overrides, errors=errors or [], v=values or {},
                        notice=notice_of(request))


@bp.post("/admin/calendar")
@admin_only
async def admin_set_override(request: Request) -> HTTPResponse:
    values = form_values(request, "day", "is_workday", "note")
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        return await _calendar_page(request, status=422, errors=["请填写正确的日期"],
                                    values=values)
    if values["is_workday"] not in ("0", "1"):
        return await _calendar_page(request, status=422, errors=["请选择放假或调休上班"],
                                    values=values)
    if len(values["note"]) > 64:
        return await _calendar_page(request, status=422, errors=["备注不能超过 64 个字"],
                                    values=values)
    try:
        await domain.work_calendar.set_override(user=request.ctx.console.user, day=day,
                                                is_workday=values["is_workday"] == "1",
                                                note=values["note"])
    except domain.AppError as exc:
        err = refused(exc)
        return await _calendar_page(request, status=err.status_code, errors=[err.message],
                                    values=values)
    return done("/admin/calendar")


@bp.post("/admin/calendar/<day:ymd>/delete")
@admin_only
async def admin_delete_override(request: Request, day: date) -> HTTPResponse:
    try:
        await domain.work_calendar.delete_override(user=request.ctx.console.user, day=day)
    except domain.AppError as exc:
        err = refused(exc)
        return await _calendar_page(request, status=err.status_code, errors=[err.message])
    return done("/admin/calendar", "deleted")


# --- 派单规则 -------------------------------------------------------------------------------------


async def _rule_choices(request: Request) -> dict[str, Any]:
    user = request.ctx.console.user
    return {"tree": await domain.category_tree(user=user),
            "areas": await domain.admin_areas(scope=domain.scope_of(user), cells=True),
            "units": [u for u in await domain.admin_units(user=user) if u.is_active]}


@bp.get("/admin/rules")
@admin_only
async def admin_rules(request: Request) -> HTTPResponse:
    return await _rules_page(request)


async def _rules_page(request: Request, *, status: int = 200, errors: list[str] | None = None,
                      values: dict[str, Any] | None = None) -> HTTPResponse:
    found = await domain.routing.list_rules(actor=request.ctx.console.user, area=None,
                                            category=None, include_inactive=True, limit=500)
    return await render(request, "admin/rules.html", status=status, rules=found.items,
                        errors=errors or [], v=values or {}, notice=notice_of(request),
                        **await _rule_choices(request))


@bp.post("/admin/rules")
@admin_only
async def admin_create_rule(request: Request) -> HTTPResponse:
    values = form_values(request, "category_code", "area_code", "unit_id", "priority", "note")
    body = {k: v for k, v in values.items() if v}
    try:
        data = domain.RuleCreate.model_validate(body)
        rule = await domain.routing.create_rule(actor=request.ctx.console.user, data=data)
    except ValidationError as exc:
        return await _rules_page(request, status=422, errors=messages(exc), values=values)
    except domain.AppError as exc:
        err = refused(exc)
        return await _rules_page(request, status=err.status_code, errors=[err.message],
                                 values=values)
    return done(f"/admin/rules/{rule.id}", "created")


@bp.get("/admin/rules/<rule_id:int>")
@admin_only
async def admin_rule_page(request: Request, rule_id: int) -> HTTPResponse:
    return await _rule_page(request, rule_id)


async def _rule_page(request: Request, rule_id: int, *, status: int = 200,
                     errors: list[str] | None = None) -> HTTPResponse:
    user = request.ctx.console.user
    rule = await domain.rule_out(user=user, rule_id=rule_id)
    history = await domain.routing.rule_history(actor=user, rule_id=rule_id)
    choices = await _rule_choices(request)
    leaves = [c for node in choices["tree"] for c in node.children if c.is_active
              and (rule.category is None or c.path.startswith(rule.category.path))]
    return await render(request, "admin/rule.html", status=status, rule=rule,
                        history=history.items, errors=errors or [], notice=notice_of(request),
                        leaves=leaves, **choices)


@bp.post("/admin/rules/<rule_id:int>")
@admin_only
async def admin_update_rule(request: Request, rule_id: int) -> HTTPResponse:
    values: dict[str, Any] = form_values(request, "unit_id", "priority", "note")
    try:
        # An unchanged unit is not sent, so a retired unit kept as it is is not re-checked.
        changes = changed_fields(domain.RuleUpdate, request, values)
        await domain.routing.update_rule(actor=request.ctx.console.user, rule_id=rule_id,
                                         changes=changes)
    except ValidationError as exc:
        return await _rule_page(request, rule_id, status=422, errors=messages(exc))
    except domain.AppError as exc:
        err = refused(exc)
        return await _rule_page(request, rule_id, status=err.status_code, errors=[err.message])
    return done(f"/admin/rules/{rule_id}")


@bp.post("/admin/rules/<rule_id:int>/active")
@admin_only
async def admin_set_rule_active(request: Request, rule_id: int) -> HTTPResponse:
    active = (request.form.get("is_active") if request.form else "") == "1"
    try:
        await domain.routing.update_rule(actor=request.ctx.console.user, rule_id=rule_id,
                                         changes=domain.RuleUpdate(is_active=active))
    except domain.AppError as exc:
        err = refused(exc)
        return await _rule_page(request, rule_id, status=err.status_code, errors=[err.message])
    return done(f"/admin/rules/{rule_id}", "activated" if active else "deactivated")


@bp.get("/admin/rules/<rule_id:int>/cells.geojson")
@admin_only
async def admin_rule_cells(request: Request, rule_id: int) -> HTTPResponse:
    """The admin's cells with the router's decision for one 小类: where this rule wins."""
    code = (request.args.get("category") or "")[:32]
    found = await domain.rule_coverage(user=request.ctx.console.user, rule_id=rule_id,
                                       category_code=code)
    unit_names = {u.id: u.name for u in await domain.admin_units(user=request.ctx.console.user)}
    features = [{"type": "Feature", "geometry": r.cell.geometry, "properties": {
        "code": r.cell.code, "name": r.cell.name,
        "state": "wins" if r.rule_id == rule_id else ("other" if r.unit_id else "none"),
        "unit": unit_names.get(r.unit_id, "") if r.unit_id else ""}} for r in found]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return HTTPResponse(body, content_type="application/geo+json; charset=utf-8")


@bp.get("/admin/rules/preview")
@admin_only
async def admin_preview(request: Request) -> HTTPResponse:
    """Where a report of this 小类 at this point would go (the API's routing preview)."""
    args = {n: (request.args.get(n) or "")[:32] for n in ("category", "lng", "lat")}
    template = "admin/_preview.html" if is_htmx(request) else "admin/preview.html"
    try:
        lng, lat = float(args["lng"]), float(args["lat"])
    except ValueError:
        return await render(request, template, status=422, errors=["请先在地图上点选位置"])
    try:
        result = await domain.routing.preview_route(
            actor=request.ctx.console.user, category_code=args["category"], lng=lng, lat=lat,
            crs="wgs84")
    except domain.AppError as exc:
        err = refused(exc)
        return await render(request, template, status=err.status_code, errors=[err.message])
    return await render(request, template, result=result, errors=[])


from app.console import admin_units as _units  # noqa: E402,F401  (registers units and staff pages)
