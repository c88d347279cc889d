"""Admin pages for units (处置单位) and their handlers, and staff accounts (工作人员账号).

What the API offers is what these pages offer: a unit is created, renamed and retired; a
handler joins a unit as a new staff account with a handler grant on it and leaves it when
the account is disabled or its grants change (授权, `accounts.grants`). Registered by
`admin.py`, whose helpers these pages share.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sanic import Request
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.admin import (
    admin_only,
    changed_fields,
    checked,
    done,
    form_values,
    messages,
    notice_of,
    refused,
)
from app.console.web import PREFIX, bp, render

UNIT_KINDS = {"department": "职能部门", "property_company": "物业公司",
              "community_committee": "社区居委会", "grid_team": "网格工作站"}
# Roles an admin page grants (residents sign in through WeChat, never created here).
STAFF_ROLE_CHOICES = {r.value: domain.ROLE_LABELS[r] for r in domain.Role
                      if r != domain.Role.RESIDENT}
STAFF_TEXT = ("username", "password", "display_name", "surname", "work_phone")


async def _areas(request: Request) -> list[domain.Area]:
    return await domain.admin_areas(scope=domain.scope_of(request.ctx.console.user), cells=True)


# --- 处置单位 -------------------------------------------------------------------------------------


@bp.get("/admin/units")
@admin_only
async def admin_units(request: Request) -> HTTPResponse:
    return await _units_page(request)


async def _units_page(request: Request, *, status: int = 200, errors: list[str] | None = None,
                      values: dict[str, Any] | None = None) -> HTTPResponse:
    return await render(request, "admin/units.html", status=status,
                        units=await domain.admin_units(user=request.ctx.console.user),
                        areas=await _areas(request), kinds=UNIT_KINDS, errors=errors or [],
                        v=values or {"kind": "department"}, notice=notice_of(request))


@bp.post("/admin/units")
@admin_only
async def admin_create_unit(request: Request) -> HTTPResponse:
    values = form_values(request, "name", "kind", "area_code")
    try:
        data = domain.UnitCreate.model_validate({k: v for k, v in values.items() if v})
        unit = await domain.units.create_unit(actor=request.ctx.console.user, data=data)
    except ValidationError as exc:
        return await _units_page(request, status=422, errors=messages(exc), values=values)
    except domain.AppError as exc:
        err = refused(exc)
        return await _units_page(request, status=err.status_code, errors=[err.message],
                                 values=values)
    return done(f"/admin/units/{unit.id}", "created")


@bp.get("/admin/units/<unit_id:int>")
@admin_only
async def admin_unit_page(request: Request, unit_id: int) -> HTTPResponse:
    return await _unit_page(request, unit_id)


async def _unit_page(request: Request, unit_id: int, *, status: int = 200,
                     errors: list[str] | None = None,
                     values: dict[str, Any] | None = None) -> HTTPResponse:
    unit = await domain.units.get_unit_detail(viewer=request.ctx.console.user, unit_id=unit_id)
    return await render(request, "admin/unit.html", status=status, unit=unit, kinds=UNIT_KINDS,
                        errors=errors or [], v=values or {}, notice=notice_of(request))


@bp.post("/admin/units/<unit_id:int>")
@admin_only
async def admin_update_unit(request: Request, unit_id: int) -> HTTPResponse:
    user = request.ctx.console.user
    values: dict[str, Any] = {**form_values(request, "name"),
                              "is_active": checked(request, "is_active")}
    try:
        changes = changed_fields(domain.UnitUpdate, request, values)
        await domain.units.update_unit(actor=user, unit_id=unit_id, changes=changes)
    except ValidationError as exc:
        return await _unit_page(request, unit_id, status=422, errors=messages(exc))
    except domain.AppError as exc:
        err = refused(exc)
        return await _unit_page(request, unit_id, status=err.status_code, errors=[err.message])
    return done(f"/admin/units/{unit_id}")


@bp.post("/admin/units/<unit_id:int>/handlers")
@admin_only
async def admin_add_handler(request: Request, unit_id: int) -> HTTPResponse:
    """A new handler of the unit: a staff account with a handler grant on it (the API's way)."""
    user = request.ctx.console.user
    await domain.units.get_unit_detail(viewer=user, unit_id=unit_id)  # 404 outside the scope
    values = form_values(request, *STAFF_TEXT)
    try:
        data = domain.StaffCreate.model_validate({
            **{k: v for k, v in values.items() if v},
            "roles": [{"role": domain.Role.HANDLER.value, "unit_id": unit_id}]})
        await domain.accounts.create_staff(actor=user, data=data)
    except ValidationError as exc:
        return await _unit_page(request, unit_id, status=422, errors=messages(exc),
                                values=values)
    except domain.AppError as exc:
        err = refused(exc)
        return await _unit_page(request, unit_id, status=err.status_code, errors=[err.message],
                                values=values)
    return done(f"/admin/units/{unit_id}", "created")


# --- 工作人员账号 -----------------------------------------------------------------------------------


@bp.get("/admin/users")
@admin_only
async def admin_users(request: Request) -> HTTPResponse:
    return await _users_page(request)


async def _users_page(request: Request, *, status: int = 200, errors: list[str] | None = None,
                      values: dict[str, Any] | None = None) -> HTTPResponse:
    user = request.ctx.console.user
    filters = {n: (request.args.get(n) or "")[:64] for n in ("role", "area", "cursor")}
    try:
        query = domain.UserQuery.model_validate({k: v for k, v in filters.items() if v})
    except ValidationError:
        query, errors = domain.UserQuery(), [*(errors or []), "筛选条件有误，已显示全部账号"]
        status = 422 if status == 200 else status
    found = await domain.accounts.list_users(viewer=user, query=query)
    return await render(request, "admin/users.html", status=status, users=found.items,
                        next_cursor=found.next, filters=filters, roles=STAFF_ROLE_CHOICES,
                        role_labels=domain.ROLE_LABELS, areas=await _areas(request),
                        units=await domain.admin_units(user=user), errors=errors or [],
                        v=values or {}, notice=notice_of(request))


@bp.post("/admin/users")
@admin_only
async def admin_create_user(request: Request) -> HTTPResponse:
    values = form_values(request, *STAFF_TEXT, "role", "area_code", "unit_id")
    grant = {k: values[k] for k in ("role", "area_code", "unit_id") if values[k]}
    if grant.get("role") == domain.Role.HANDLER.value:
        grant.pop("area_code", None)  # a handler is scoped by their unit
    else:
        grant.pop("unit_id", None)
    try:
        data = domain.StaffCreate.model_validate({
            **{k: values[k] for k in STAFF_TEXT if values[k]}, "roles": [grant]})
        created = await domain.accounts.create_staff(actor=request.ctx.console.user, data=data)
    except ValidationError as exc:
        return await _users_page(request, status=422, errors=messages(exc), values=values)
    except domain.AppError as exc:
        err = refused(exc)
        return await _users_page(request, status=err.status_code, errors=[err.message],
                                 values=values)
    return done(f"/admin/users/{created.id}", "created")


@bp.get("/admin/users/<user_id:int>")
@admin_only
async def admin_user_page(request: Request, user_id: int) -> HTTPResponse:
    return await _user_page(request, user_id)


async def _user_page(request: Request, user_id: int, *, status: int = 200,
                     errors: list[str] | None = None) -> HTTPResponse:
    user = request.ctx.console.user
    target = await domain.user_out(viewer=user, user_id=user_id)
    changes = await domain.account_grants.history(actor=user, user_id=user_id)
    return await render(request, "admin/user.html", status=status, target=target,
                        role_labels=domain.ROLE_LABELS, errors=errors or [],
                        notice=notice_of(request), changes=changes, roles=STAFF_ROLE_CHOICES,
                        areas=await _areas(request), units=await domain.admin_units(user=user),
                        is_self=target.id == user.id)


def _grant(role: str, area_code: str, unit_id: str) -> dict[str, Any]:
    if role == domain.Role.HANDLER.value:
        return {"role": role, "unit_id": unit_id or None}
    return {"role": role, "area_code": area_code or None}


@bp.post("/admin/users/<user_id:int>/grants")
@admin_only
async def admin_set_grants(request: Request, user_id: int) -> HTTPResponse:
    """授权: keep the ticked grants, add one; `expected` is what the page showed, so a change
    another admin made meanwhile answers 409 instead of being undone."""
    count = form_values(request, "grant_count")["grant_count"]
    shown = int(count) if count.isdigit() else 0
    expected, kept = [], []
    for n in range(min(shown, 50)):
        v = form_values(request, f"g{n}_role", f"g{n}_area_code", f"g{n}_unit_id")
        grant = _grant(v[f"g{n}_role"], v[f"g{n}_area_code"], v[f"g{n}_unit_id"])
        expected.append(grant)
        if checked(request, f"g{n}_keep"):
            kept.append(grant)
    new = form_values(request, "role", "area_code", "unit_id")
    if new["role"]:
        kept.append(_grant(new["role"], new["area_code"], new["unit_id"]))
    try:
        data = domain.GrantsUpdate.model_validate({"roles": kept, "expected": expected})
        await domain.account_grants.set_grants(actor=request.ctx.console.user,
                                               user_id=user_id, data=data)
    except ValidationError as exc:
        errors = (["至少保留或新增一项授权"] if not kept else messages(exc))
        return await _user_page(request, user_id, status=422, errors=errors)
    except domain.AppError as exc:
        err = refused(exc)
        return await _user_page(request, user_id, status=err.status_code, errors=[err.message])
    return done(f"/admin/users/{user_id}", "grants")


@bp.post("/admin/users/<user_id:int>")
@admin_only
async def admin_update_user(request: Request, user_id: int) -> HTTPResponse:
    user = request.ctx.console.user
    values: dict[str, Any] = form_values(request, "display_name", "surname", "work_phone")
    try:
        changes = changed_fields(domain.UserUpdate, request, values)
        await domain.accounts.update_user(actor=user, user_id=user_id, changes=changes)
    except ValidationError as exc:
        return await _user_page(request, user_id, status=422, errors=messages(exc))
    except domain.AppError as exc:
        err = refused(exc)
        return await _user_page(request, user_id, status=err.status_code, errors=[err.message])
    return done(f"/admin/users/{user_id}")


@bp.post("/admin/users/<user_id:int>/active")
@admin_only
async def admin_set_user_active(request: Request, user_id: int) -> HTTPResponse:
    """停用 / 启用 an account (a disabled handler leaves their unit's members)."""
    active = (request.form.get("is_active") if request.form else "") == "1"
    back = (request.form.get("back") if request.form else "") or ""
    try:
        await domain.accounts.update_user(actor=request.ctx.console.user, user_id=user_id,
                                          changes=domain.UserUpdate(is_active=active))
    except domain.AppError as exc:
        err = refused(exc)
        return await _user_page(request, user_id, status=err.status_code, errors=[err.message])
    what = "activated" if active else "deactivated"
    if back.startswith("/admin/units/") and back[len("/admin/units/"):].isdigit():
        return redirect(f"{PREFIX}{back}?saved={what}", status=303)
    return done(f"/admin/users/{user_id}", what)
