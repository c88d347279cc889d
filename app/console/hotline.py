"""热线登记: a dispatcher files a caller's problem from the console (issue 14).

The form posts to the hotline service the API uses (`POST /api/v1/hotline/cases`): the same
checks, the same routing, and the form's own Idempotency-Key, so a double click or a resent
form files one case. The new case opens on its page.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError
from sanic import Request
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.web import PREFIX, bp, env, error_page, page, render

FIELD_LABELS = {"category_code": "问题类别", "description": "问题描述", "location": "位置",
                "lng": "经度", "lat": "纬度", "address": "地址", "caller_name": "来电人姓名",
                "caller_phone": "来电号码", "urgency": "紧急程度"}
TEXT_FIELDS = ("category_code", "description", "address", "caller_name", "caller_phone",
               "urgency", "lng", "lat", "crs")


def may_file(user: domain.User | None) -> bool:
    """Dispatchers (坐席员) file hotline cases; the menu shows the form only to them."""
    return user is not None and domain.scope_of(user).has(domain.Role.DISPATCHER)


env.globals["may_file_hotline"] = may_file


def _may_file(request: Request) -> bool:
    return may_file(request.ctx.console.user)


async def _form_page(request: Request, *, status: int = 200, values: dict[str, Any] | None = None,
                     errors: list[str] | None = None) -> HTTPResponse:
    categories = [c for c in await domain.leaf_categories() if c.depth == 2]
    values = values or {"crs": "wgs84", "urgency": "normal", "wants_callback": True,
                        "form_key": secrets.token_urlsafe(16)}
    return await render(request, "hotline/new.html", status=status, categories=categories,
                        v=values, errors=errors or [])


@bp.get("/hotline/new")
@page
async def new_case(request: Request) -> HTTPResponse:
    if not _may_file(request):
        return await error_page(request, 403, "只有坐席员（派遣员）可以登记热线工单")
    return await _form_page(request)


def _messages(exc: ValidationError) -> list[str]:
    """One Chinese line per invalid field (the form names fields as staff know them)."""
    lines = []
    for error in exc.errors():
        field = next((str(p) for p in reversed(error["loc"]) if str(p) in FIELD_LABELS), "")
        label = FIELD_LABELS.get(field, "填写内容")
        lines.append(f"{label}填写有误，请检查")
    return list(dict.fromkeys(lines))


@bp.post("/hotline")
@page
async def file_case(request: Request) -> HTTPResponse:
    if not _may_file(request):
        return await error_page(request, 403, "只有坐席员（派遣员）可以登记热线工单")
    form = request.form
    values: dict[str, Any] = {name: (form.get(name) or "").strip()[:1000]
                              for name in TEXT_FIELDS} if form else {}
    values["wants_callback"] = bool(form and form.get("wants_callback"))
    values["is_public"] = bool(form and form.get("is_public"))
    values["form_key"] = ((form.get("form_key") if form else "") or "")[:64]
    if not values["form_key"]:
        return await error_page(request, 400, "请求无效，请刷新页面后重试")
    try:
        body = domain.HotlineCaseCreate.model_validate({
            "category_code": values.get("category_code"), "description": values.get("description"),
            "address": values.get("address", ""), "caller_name": values.get("caller_name", ""),
            "caller_phone": values.get("caller_phone"), "urgency": values.get("urgency") or "normal",
            "wants_callback": values["wants_callback"], "is_public": values["is_public"],
            "location": {"lng": values.get("lng"), "lat": values.get("lat"),
                         "crs": values.get("crs") or "wgs84"},
        })
    except ValidationError as exc:
        return await _form_page(request, status=422, values=values, errors=_messages(exc))
    try:
        ticket_id = await domain.file_hotline_case(
            actor=request.ctx.console.user, body=body, key=f"console-{values['form_key']}")
    except domain.AppError as exc:
        if exc.status_code >= 500:
            raise
        return await _form_page(request, status=exc.status_code, values=values,
                                errors=[exc.message])
    return redirect(f"{PREFIX}/tickets/{ticket_id}?filed=1", status=303)
