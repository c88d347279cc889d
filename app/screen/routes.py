"""The big screen through a display link: /screen/<token> and its data, events and map.

No staff session here: the token is the permission, and it opens this area's screen and
nothing else. Staff open the same page at /console/screen with their own scope
(app/console/screen.py); both use `page`, `stream` and the service's cached figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect
from sanic_ext.extensions.openapi import openapi

from app.core.errors import AppError
from app.screen import service
from app.settings import current

HERE = Path(__file__).resolve().parent
PREFIX = "/screen"

bp = Blueprint("screen", url_prefix=PREFIX)
bp.static("/static", str(HERE / "static"), name="static")

env = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(["html"]), enable_async=True)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")

Load = Callable[[], Awaitable[dict[str, Any]]]


async def page(*, title: str, base: str, status: int = 200, gone: str = "",
               query: str = "") -> HTTPResponse:
    """The screen page; its script reads `base` + /data.json, /events and /grid.geojson
    (each with `query`, e.g. the area a staff member picked)."""
    body = await env.get_template("screen.html").render_async(
        title=title, base=base, gone=gone, refresh_s=current().screen_refresh_s,
        query=f"?{query}" if query else "")
    return html(body, status=status)


def _json(data: dict[str, Any], status: int = 200) -> HTTPResponse:
    return HTTPResponse(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                        status=status, content_type="application/json; charset=utf-8")


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(request: Request, load: Load) -> None:
    """Server-sent events: the figures every SCREEN_REFRESH_S, until SCREEN_SSE_MAX_S has
    passed (the browser reconnects) or the screen may no longer be shown (event `gone`).

    The caller has checked access already, so a refused screen gets a plain 401/404, which
    stops EventSource; the page then polls and learns why.
    """
    settings = current()
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        # X-Accel-Buffering: nginx would otherwise hold the events back.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    deadline = time.monotonic() + settings.screen_sse_max_s
    await response.send(f"retry: {int(settings.screen_refresh_s * 1000)}\n\n")
    while True:
        try:
            data = await load()
        except AppError as exc:
            await response.send(_event("gone", {"error": {
                "code": exc.code, "message": exc.message, "details": {}}}))
            break
        await response.send(_event("figures", data))
        if time.monotonic() + settings.screen_refresh_s > deadline:
            break
        await asyncio.sleep(settings.screen_refresh_s)
    await response.eof()


@bp.on_response
async def _headers(request: Request, response: HTTPResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith(f"{PREFIX}/static/"):
        # The URL holds the token: never cached, never sent on as a referrer.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"


@bp.get("/")
@openapi.exclude()
async def staff_screen(request: Request) -> HTTPResponse:
    """Staff open their own screen in the console (where their session cookie lives)."""
    return redirect("/console/screen")


@bp.get("/<token:str>")
@openapi.exclude()
async def link_page(request: Request, token: str) -> HTTPResponse:
    try:
        screen = await service.scope_of_link(token=token)
    except AppError as exc:
        return await page(title="大屏", base="", status=exc.status_code, gone=exc.message)
    return await page(title=screen.title, base=f"{PREFIX}/{token}")


@bp.get("/<token:str>/data.json")
@openapi.exclude()
async def link_data(request: Request, token: str) -> HTTPResponse:
    return _json(await service.figures(await service.scope_of_link(token=token)))


@bp.get("/<token:str>/events")
@openapi.exclude()
async def link_events(request: Request, token: str) -> None:
    await service.scope_of_link(token=token)

    async def load() -> dict[str, Any]:
        return await service.figures(await service.scope_of_link(token=token))

    await stream(request, load)


@bp.get("/<token:str>/grid.geojson")
@openapi.exclude()
async def link_grid(request: Request, token: str) -> HTTPResponse:
    return _json(await service.grid(await service.scope_of_link(token=token)))
