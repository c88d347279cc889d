"""The console's blueprint and what every page shares: templates, session, CSRF, headers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect

from app.console import sessions
from app.console.domain import AppError
from app.core.api import client_ip
from app.core.workcalendar import SHANGHAI
from app.settings import current

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"
# Pages anyone may open without a session.
PUBLIC = {f"{PREFIX}/login"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

bp = Blueprint("console", url_prefix=PREFIX)
bp.static("/static", str(STATIC), name="static")

# Jinja2 directly rather than sanic-ext's app-wide templating: the console owns its own
# template folder and filters, independent of the working directory and the app's config.
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  enable_async=True, trim_blocks=True, lstrip_blocks=True)


def beijing(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC-aware time as Beijing wall-clock time (staff read 北京时间)."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


env.filters["bjt"] = beijing


async def render(request: Request, template: str, *, status: int = 200,
                 headers: dict[str, str] | None = None, **context: Any) -> HTTPResponse:
    session = getattr(request.ctx, "console", None)
    page = await env.get_template(template).render_async(
        request=request, session=session, user=session.user if session else None,
        csrf_token=session.csrf_token if session else "", prefix=PREFIX, **context)
    return html(page, status=status, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request")


def login_redirect(request: Request) -> HTTPResponse:
    target = f"{PREFIX}/login?next={quote(request.path, safe='/')}"
    if is_htmx(request):  # htmx follows this header with a full page load
        return HTTPResponse(status=401, headers={"HX-Redirect": target})
    return redirect(target)


def _same_origin(request: Request) -> bool:
    """A browser's Origin (when it sends one) must be this host: a second line behind CSRF."""
    origin = request.headers.get("Origin")
    # "null": browsers send that under the app's `Referrer-Policy: no-referrer`; the CSRF
    # token still decides then.
    if not origin or origin == "null":
        return True
    return urlparse(origin).netloc == request.host


@bp.on_request
async def _session(request: Request) -> HTTPResponse | None:
    if request.path.startswith(f"{PREFIX}/static/"):
        return None
    request.ctx.console = await sessions.lookup(token=request.cookies.get(sessions.COOKIE))
    if request.method in UNSAFE_METHODS and not _same_origin(request):
        return await error_page(request, 403, "请求来源不符，已拒绝")
    if request.path in PUBLIC:
        return None
    if request.ctx.console is None:
        return login_redirect(request)
    if request.method in UNSAFE_METHODS:
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.form:
            given = request.form.get("csrf_token")
        if not sessions.csrf_matches(request.ctx.console.csrf_token, given):
            return await error_page(request, 403, "页面已过期或请求无效（CSRF 校验失败），请刷新页面后重试")
    return None


def _csp() -> str:
    img = "'self' data: blob:"
    settings = current()
    if settings.qiniu_domain:  # photos are served from the bucket's own domain
        img += f" {settings.qiniu_domain}"
    if settings.console_tile_url.startswith(("https://", "http://")):  # the map's tile server
        origin = "/".join(settings.console_tile_url.split("/", 3)[:3])
        img += " " + origin.replace("{s}", "*")  # Leaflet's {s} subdomains: a CSP wildcard
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.on_response
async def _headers(request: Request, response: HTTPResponse) -> None:
    response.headers["Content-Security-Policy"] = _csp()
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith(f"{PREFIX}/static/"):
        # Pages show personal and case data: never kept in a shared cache or the back cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Vary", "HX-Request")


async def error_page(request: Request, status: int, message: str, **extra: Any) -> HTTPResponse:
    template = "_error.html" if is_htmx(request) else "error.html"
    return await render(request, template, status=status, message=message, **extra)


Handler = Callable[..., Awaitable[HTTPResponse]]


def page(handler: Handler) -> Handler:
    """Render a refused request (out of scope, invalid input, …) as a page, not JSON."""
    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            return await handler(request, *args, **kwargs)
        except AppError as exc:
            return await error_page(request, exc.status_code, exc.message)
    return wrapped


def ip_of(request: Request) -> str:
    return client_ip(request)
