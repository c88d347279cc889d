"""The console's pages: sign-in, the dispatcher's workbench, a case and its actions.

Thin handlers: read the form or the URL, call one console service (which calls the domain
services), render a template. Pages are plain links and forms; htmx swaps fragments in place
when it is loaded, so every page also works as a full page load.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import ValidationError
from sanic import Request
from sanic.request import RequestParameters
from sanic.response import HTTPResponse, redirect

from app.console import admin as _admin  # noqa: F401
from app.console import approvals, domain, queues, sessions
from app.console import community as _community  # noqa: F401  (registers /console/ratings*)
from app.console import dashboard as _dashboard  # noqa: F401  (registers /console/dashboard*)
from app.console import grid as _grid  # noqa: F401  (registers /console/admin/grid*)
from app.console import hotline as _hotline  # noqa: F401  (registers /console/hotline*)
from app.console import polls as _polls  # noqa: F401  (registers /console/polls*)
from app.console import review as _review  # noqa: F401  (registers /console/review*)
from app.console import screen as _screen  # noqa: F401  (registers /console/screen*)
from app.console.web import (
    PREFIX,
    bp,
    error_page,
    ip_of,
    is_htmx,
    page,
    render,
)
from app.core.workcalendar import SHANGHAI
from app.settings import current

__all__ = ["bp"]

DEADLINE_TEXT = {"red": "已超期", "yellow": "即将超期", "green": "正常"}
ROUTED_BY_TEXT = {
    "rule": "按派遣规则自动派遣", "grid_team": "无匹配规则，派给所在网格的网格工作站",
    "manual": "无匹配规则，进入人工派遣队列", "dispatcher": "派遣员人工派遣",
    "self": "网格员自行处置",
}
# What a done action says where "已" + its label reads badly.
DONE_TEXT = {"progress_note": "已发布进展说明，上报人和关注者会收到通知",
             "ask_info": "已请上报人补充信息"}
STAGE_TEXT = {"report": "上报照片（处置前）", "handling": "处置照片（处置后）",
              "verification": "核查照片"}


def _form(request: Request) -> RequestParameters:
    """The posted form (empty when the body is not a form)."""
    return request.form or RequestParameters()


def _safe_next(value: str | None) -> str:
    """Only a path inside the console (no scheme, no host, no //): never an open redirect."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return f"{PREFIX}/"


def _cookie(response: HTTPResponse, name: str, value: str, *, path: str,
            samesite: Literal["Lax", "Strict"] = "Lax", max_age: int | None = None) -> None:
    """Every console cookie: HttpOnly, SameSite, and Secure in prod (dev runs on plain http)."""
    response.add_cookie(name, value, path=path, httponly=True, samesite=samesite,
                        secure=current().app_env == "prod", max_age=max_age)


# --- sign-in ----------------------------------------------------------------------------------


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    if request.ctx.console is not None:
        return redirect(_safe_next(request.args.get("next")))
    return await _login_page(request, status=200, error="")


async def _login_page(request: Request, *, status: int, error: str,
                      username: str = "") -> HTTPResponse:
    # Before a session exists the CSRF token is a double-submitted cookie (login CSRF).
    token = sessions.new_login_csrf()
    response = await render(request, "auth/login.html", status=status, error=error,
                            username=username, login_csrf=token,
                            next=_safe_next(request.args.get("next")))
    _cookie(response, sessions.LOGIN_CSRF_COOKIE, token, path=f"{PREFIX}/login",
            samesite="Strict")
    return response


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    form = _form(request)
    username = (form.get("username") or "").strip()[:64]
    password = (form.get("password") or "")[:256]
    if not sessions.csrf_matches(request.cookies.get(sessions.LOGIN_CSRF_COOKIE) or "",
                                 form.get("csrf_token")):
        return await _login_page(request, status=403, error="页面已过期，请重新登录",
                                 username=username)
    if not username or not password:
        return await _login_page(request, status=422, error="请输入用户名和密码",
                                 username=username)
    try:
        token, _ = await sessions.sign_in(username=username, password=password, ip=ip_of(request))
    except (domain.Unauthorized, domain.TooManyRequests, domain.Forbidden) as exc:
        message = exc.message
        if isinstance(exc, domain.TooManyRequests):
            minutes = max(1, -(-int(exc.details.get("retry_after", 60)) // 60))
            message = f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试"
        return await _login_page(request, status=exc.status_code, error=message,
                                 username=username)
    response = redirect(_safe_next(form.get("next")), status=303)
    _cookie(response, sessions.COOKIE, token, path=PREFIX)
    _cookie(response, sessions.LOGIN_CSRF_COOKIE, "", path=f"{PREFIX}/login",
            samesite="Strict", max_age=0)
    return response


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    await sessions.sign_out(token=request.cookies.get(sessions.COOKIE))
    response = redirect(f"{PREFIX}/login", status=303)
    _cookie(response, sessions.COOKIE, "", path=PREFIX, max_age=0)
    if is_htmx(request):
        response.headers["HX-Redirect"] = f"{PREFIX}/login"
    return response


# --- the workbench ------------------------------------------------------------------------------


def _marker(t: domain.TicketOut) -> dict[str, Any]:
    return {"id": t.id, "number": t.number, "lng": t.location.lng, "lat": t.location.lat,
            "state": t.deadline_colour or ("overdue" if t.is_overdue else "none"),
            "label": f"{t.number or t.id} {t.category.name}（{t.status_label}）"}


def _markers(items: list[domain.TicketOut]) -> str:
    """The page's cases (where a selected row is on the map; the map itself loads its bounds)."""
    return json.dumps([_marker(t) for t in items], ensure_ascii=False).replace("</", "<\\/")


def _queue_context(result: queues.QueuePage, *, recount: bool = False) -> dict[str, Any]:
    """What the list (`workbench/_queue.html`) needs, for the page and its fragments.

    `recount`: after an action, the tabs load their counts afresh (not from the cache)."""
    if recount:
        result.counts = None
    return {
        "result": result, "queues": queues.QUEUES, "markers": _markers(result.items),
        "recount": recount,
        "deadline_text": DEADLINE_TEXT, "source_labels": queues.SOURCE_LABELS,
        "deadline_filters": queues.DEADLINE_FILTERS, "now": datetime.now(UTC),
        "sort_labels": queues.SORT_LABELS,
    }


@bp.get("/")
@page
async def workbench(request: Request) -> HTTPResponse:
    user = request.ctx.console.user
    if not domain.scope_of(user).has(domain.Role.DISPATCHER):
        return await render(request, "home.html", roles=domain.role_names(user))
    filters = queues.Filters.from_args(request.args)
    context = _queue_context(await queues.load(user=user, filters=filters),
                             recount=bool(request.args.get("recount")))
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-body":
        return await render(request, "workbench/_queue.html", fragment=True, **context)
    scope = domain.scope_of(user)
    return await render(
        request, "workbench/index.html", statuses=domain.workflow.STATUS_LABELS,
        categories=await domain.leaf_categories(), units=await domain.dispatch_units(user=user),
        areas=await domain.scope_areas(scope=scope), tile_url=current().console_tile_url,
        keyword_days=queues.KEYWORD_DAYS, **context)


@bp.get("/queue-counts")
@page
async def queue_counts(request: Request) -> HTTPResponse:
    """The queue tabs with their counts (the view's filters in the tabs' links): loaded by
    the tabs themselves, so the list never waits for six counts. `fresh`: not from the
    per-scope cache (after an action)."""
    user = request.ctx.console.user
    filters = queues.Filters.from_args(request.args)
    counts = await queues.tab_counts(user=user, fresh=bool(request.args.get("fresh")))
    return await render(request, "workbench/_tabs.html", f=filters, counts=counts,
                        queues=queues.QUEUES)


@bp.post("/bulk")
@page
async def bulk(request: Request) -> HTTPResponse:
    """批量立案 / 批量派遣 on the ticked rows; answers with the list and what happened."""
    user = request.ctx.console.user
    form = _form(request)
    back = (form.get("back") or "")[:1000]
    picks = queues.parse_picks(form.getlist("ticket") or [])
    result = await queues.run_bulk(user=user, action=form.get("action") or "", picks=picks,
                                   unit_id=_form_int(form.get("unit_id")))
    queues.forget_counts(user=user)
    if not is_htmx(request):
        return redirect(f"{PREFIX}/?{back}", status=303)
    filters = queues.Filters.from_args({k: v[0] for k, v in parse_qs(back).items()})
    context = _queue_context(await queues.load(user=user, filters=filters), recount=True)
    return await render(request, "workbench/_queue.html", fragment=True, **context,
                        bulk_notice=result.notice, bulk_ok=not result.refused)


@bp.get("/map/cases.json")
async def map_cases(request: Request) -> HTTPResponse:
    """The list's view (tab and filters) inside the map's bounds, as markers: at most
    `queues.MAP_LIMIT`, newest first; `truncated` says when there are more."""
    bounds = queues.Bounds.parse(request.args.get("bbox"))
    found = await queues.map_cases(user=request.ctx.console.user,
                                   filters=queues.Filters.from_args(request.args), bounds=bounds)
    body = {"items": [_marker(t) for t in found.items], "truncated": found.is_truncated,
            "limit": queues.MAP_LIMIT}
    return HTTPResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json; charset=utf-8")


@bp.get("/map/grid.geojson")
async def grid_geojson(request: Request) -> HTTPResponse:
    """The dispatcher's grid cells as GeoJSON (WGS-84) for Leaflet: no tile server needed."""
    scope = domain.scope_of(request.ctx.console.user)
    cells = await domain.grid_cells(scope=scope)
    features = [{"type": "Feature", "geometry": c.geometry,
                 "properties": {"code": c.code, "name": c.name}} for c in cells]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return HTTPResponse(body, content_type="application/geo+json; charset=utf-8")


# --- a case -----------------------------------------------------------------------------------


async def _case_context(request: Request, ticket_id: int) -> dict[str, Any]:
    user = request.ctx.console.user
    detail = await domain.ticket_detail(user=user, ticket_id=ticket_id)
    actions = [a for a in detail.allowed_actions if a in domain.CONSOLE_ACTIONS]
    extension = None
    if {"approve_extension", "refuse_extension"} & set(actions):
        extension = await domain.pending_extension(ticket_id=ticket_id)
        if extension is None:  # the table allows deciding; there is nothing to decide
            actions = [a for a in actions if a not in ("approve_extension", "refuse_extension")]
    needs_units = "dispatch" in actions
    staff_extras = {
        "requests": await approvals.of_case(user=user, ticket_id=ticket_id,
                                            allowed=detail.allowed_actions),
        "supervisions": await domain.ticket_supervisions(user=user, ticket_id=ticket_id),
        "can_supervise": "supervise" in detail.allowed_actions,
        "levels": domain.LEVEL_LABELS,
        "caller": await domain.hotline_caller(user=user, ticket=detail),
        "forward": await domain.ticket_forward(user=user, ticket=detail),
        "templates": (await domain.reply_templates(user=user, ticket_id=ticket_id)
                      if {"progress_note", "ask_info"} & set(actions) else {}),
    }
    return {
        **staff_extras,
        "t": detail, "actions": actions, "rules": {a: domain.transition_rule(a) for a in actions},
        "extension": extension,
        "units": await domain.dispatch_units(user=user) if needs_units else [],
        "categories": [c for c in await domain.leaf_categories() if c.depth == 2]
        if "recategorise" in actions else [],
        "deadline_text": DEADLINE_TEXT, "routed_by_text": ROUTED_BY_TEXT,
        "stage_text": STAGE_TEXT, "source_labels": queues.SOURCE_LABELS,
        "report_photos": [m for m in detail.media if m.stage == "report"],
        "later_photos": [m for m in detail.media if m.stage != "report"],
        "tile_url": current().console_tile_url,
        "nearby": await domain.open_duplicates_near(user=user, ticket_id=ticket_id),
    }


@bp.get("/tickets/<ticket_id:int>")
@page
async def ticket_page(request: Request, ticket_id: int) -> HTTPResponse:
    context = await _case_context(request, ticket_id)
    if request.args.get("filed"):  # just filed from the hotline form
        context.update(notice="热线工单已登记并立案", notice_ok=True)
    template = "tickets/_case.html" if is_htmx(request) else "tickets/page.html"
    return await render(request, template, **context)


def _form_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


@bp.post("/tickets/<ticket_id:int>/actions/<action:str>")
async def ticket_action(request: Request, ticket_id: int, action: str) -> HTTPResponse:
    """One workflow action posted from a case's form; answers with the case as it now is."""
    form = _form(request)
    version = _form_int(form.get("version"))
    if action not in domain.CONSOLE_ACTIONS or version is None:
        return await error_page(request, 400, "请求无效，请刷新页面后重试")
    duplicate_of = None
    if form.get("duplicate_of"):
        duplicate_of = await domain.ticket_id_of(reference=form.get("duplicate_of") or "")
        if duplicate_of is None:
            return await _case_with_notice(request, ticket_id, 422, "找不到要合并到的案件")
    data = domain.ActionInput(
        version=version, reason=(form.get("reason") or "").strip()[:255],
        note=(form.get("note") or "").strip()[:1000], unit_id=_form_int(form.get("unit_id")),
        category_code=(form.get("category_code") or "").strip()[:32],
        duplicate_of=duplicate_of, extension_id=_form_int(form.get("extension_id")),
        forward={k: (form.get(k) or "").strip() for k in domain.FORWARD_FIELDS},
    )
    try:
        await domain.run_action(actor=request.ctx.console.user, ticket_id=ticket_id,
                                action=action, data=data)
    except domain.NotFound as exc:
        return await error_page(request, 404, exc.message)
    except domain.AppError as exc:
        message = exc.message
        if exc.code == "stale_version":
            message = "该案件已被他人更新，未执行您的操作。下面是案件的最新状态，请确认后重试。"
        return await _case_with_notice(request, ticket_id, exc.status_code, message)
    queues.forget_counts(user=request.ctx.console.user)
    done = DONE_TEXT.get(action) or f"已{domain.ACTION_LABELS.get(action, action)}"
    response = await _case_with_notice(request, ticket_id, 200, done, ok=True)
    response.headers["HX-Trigger"] = json.dumps({"ticket-changed": {"id": ticket_id}})
    return response


def _deadline_of(value: str | None) -> datetime | None:
    """A datetime-local input (Beijing time, as staff read it) as an aware time."""
    try:
        local = datetime.fromisoformat((value or "").strip()[:16])
    except ValueError:
        return None
    return local.replace(tzinfo=SHANGHAI) if local.tzinfo is None else None


@bp.post("/tickets/<ticket_id:int>/supervisions")
async def raise_supervision(request: Request, ticket_id: int) -> HTTPResponse:
    """督办 from the case page: the supervision service decides who may and when."""
    form = _form(request)
    deadline = _deadline_of(form.get("deadline_at"))
    if deadline is None:
        return await _case_with_notice(request, ticket_id, 422, "请填写督办时限")
    try:
        body = domain.SupervisionIn.model_validate({
            "level": form.get("level") or "normal", "note": (form.get("note") or "").strip()[:500],
            "deadline_at": deadline})
    except ValidationError:
        return await _case_with_notice(request, ticket_id, 422, "请选择督办级别并填写督办意见")

    async def supervise() -> str:
        await domain.raise_supervision(actor=request.ctx.console.user, ticket_id=ticket_id,
                                       body=body)
        return "已督办，已通知承办单位"

    return await _case_after(request, ticket_id, supervise())


@bp.post("/tickets/<ticket_id:int>/requests")
async def ask_request(request: Request, ticket_id: int) -> HTTPResponse:
    """申请回退/挂账/作废 from the case page: the requests register decides who may."""
    form = _form(request)
    return await _case_after(request, ticket_id, approvals.ask(
        actor=request.ctx.console.user, ticket_id=ticket_id,
        kind=(form.get("kind") or "").strip(), reason=(form.get("reason") or "").strip()[:255]))


@bp.post("/tickets/<ticket_id:int>/requests/<approval_id:int>/decision")
async def decide_request(request: Request, ticket_id: int, approval_id: int) -> HTTPResponse:
    """批准/驳回 a pending request of this case (not one's own; the register checks)."""
    form = _form(request)
    return await _case_after(request, ticket_id, approvals.decide(
        actor=request.ctx.console.user, ticket_id=ticket_id, approval_id=approval_id,
        approve=form.get("approve") == "1", note=(form.get("note") or "").strip()[:500]))


async def _case_after(request: Request, ticket_id: int, step: Awaitable[str]) -> HTTPResponse:
    """Run one step on a case: the case as it now is, with the step's notice or its refusal."""
    try:
        done = await step
    except domain.NotFound as exc:
        return await error_page(request, 404, exc.message)
    except domain.AppError as exc:
        return await _case_with_notice(request, ticket_id, exc.status_code, exc.message)
    queues.forget_counts(user=request.ctx.console.user)
    response = await _case_with_notice(request, ticket_id, 200, done, ok=True)
    response.headers["HX-Trigger"] = json.dumps({"ticket-changed": {"id": ticket_id}})
    return response


async def _case_with_notice(request: Request, ticket_id: int, status: int, message: str,
                            *, ok: bool = False) -> HTTPResponse:
    """The case as it is now, with a message above it (a refusal never loses the page)."""
    try:
        context = await _case_context(request, ticket_id)
    except domain.AppError as exc:  # the case left the user's sight meanwhile
        return await error_page(request, exc.status_code, exc.message)
    template = "tickets/_case.html" if is_htmx(request) else "tickets/page.html"
    return await render(request, template, status=status, notice=message, notice_ok=ok,
                        **context)
