"""The big screen for a signed-in staff member, and the display links they hand out.

/console/screen shows the member's own scope (or `?area=` inside it) with their session;
/console/screen/links lists, creates and revokes the read-only links (/screen/<token>) that
open one area's screen on a hall's display without a session.
"""

from __future__ import annotations

import json
from typing import Any

from sanic import Request
from sanic.request import RequestParameters
from sanic.response import HTTPResponse, redirect

from app.console import domain
from app.console.web import PREFIX, bp, error_page, page, render

BASE = f"{PREFIX}/screen"


def _area(request: Request) -> str | None:
    code = (request.args.get("area") or "").strip()
    return code[:32] or None


async def _scope(request: Request) -> Any:
    return await domain.screen.scope_for(viewer=request.ctx.console.user,
                                         area_code=_area(request))


def _json(data: dict[str, Any]) -> HTTPResponse:
    return HTTPResponse(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json; charset=utf-8")


@bp.get("/screen")
@page
async def screen_page(request: Request) -> HTTPResponse:
    screen = await _scope(request)
    response = await domain.screen_pages.page(title=screen.title, base=BASE,
                                              query=request.query_string)
    return response


@bp.get("/screen/data.json")
async def screen_data(request: Request) -> HTTPResponse:
    return _json(await domain.screen.figures(await _scope(request)))


@bp.get("/screen/events")
async def screen_events(request: Request) -> None:
    await _scope(request)

    async def load() -> dict[str, Any]:
        # Each round asks again: a session that ended or a grant withdrawn stops the stream.
        user = await domain.active_user(user_id=request.ctx.console.user.id)
        if user is None:
            raise domain.Unauthorized("登录已失效，请重新登录", code="session_ended")
        return await domain.screen.figures(
            await domain.screen.scope_for(viewer=user, area_code=_area(request)))

    await domain.screen_pages.stream(request, load)


@bp.get("/screen/grid.geojson")
async def screen_grid(request: Request) -> HTTPResponse:
    return _json(await domain.screen.grid(await _scope(request)))


# --- display links ------------------------------------------------------------------------------


async def _links_page(request: Request, *, status: int = 200, created: Any = None,
                      url: str = "", error: str = "") -> HTTPResponse:
    user = request.ctx.console.user
    links = await domain.screen.list_links(actor=user)
    areas = await domain.screen.link_areas(actor=user)
    return await render(request, "screen/links.html", status=status, links=links, areas=areas,
                        created=created, url=url, error=error)


@bp.get("/screen/links")
@page
async def links(request: Request) -> HTTPResponse:
    return await _links_page(request)


@bp.post("/screen/links")
@page
async def create_link(request: Request) -> HTTPResponse:
    form = request.form or RequestParameters()
    try:
        link, token = await domain.screen.create_link(
            actor=request.ctx.console.user, name=(form.get("name") or "")[:200],
            area_code=(form.get("area") or "").strip()[:32])
    except domain.Invalid as exc:
        return await _links_page(request, status=exc.status_code, error=exc.message)
    # The only time the token is shown: the table keeps its hash.
    url = f"{request.scheme}://{request.host}/screen/{token}"
    return await _links_page(request, status=201, created=link, url=url)


@bp.post("/screen/links/<link_id:int>/revoke")
@page
async def revoke_link(request: Request, link_id: int) -> HTTPResponse:
    try:
        await domain.screen.revoke_link(actor=request.ctx.console.user, link_id=link_id)
    except domain.NotFound as exc:
        return await error_page(request, 404, exc.message)
    return redirect(f"{BASE}/links", status=303)
