"""The application factory: `create_app(settings) -> Sanic`."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from typing import Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json
from sanic_ext import Extend
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Component, Response
from tortoise import connections

from app import jobs as app_jobs
from app.accounts import routes as accounts_routes
from app.accounts import service as accounts_service
from app.approvals import routes as approvals_routes
from app.areas import routes as areas_routes
from app.calendar import routes as calendar_routes
from app.catalog import routes as catalog_routes
from app.console import routes as console_routes
from app.conversation import routes as conversation_routes
from app.core import api as core_api
from app.core import db, supervise
from app.core import redis as redis_core
from app.core.api import ErrorOut
from app.core.errors import ServiceUnavailable, register_error_handlers
from app.devices import routes as devices_routes
from app.escalation import routes as escalation_routes
from app.evaluation import routes as evaluation_routes
from app.hotline import routes as hotline_routes
from app.integrations import routes as integrations_routes
from app.media import routes as media_routes
from app.notifications import routes as notifications_routes
from app.open311 import routes as open311_routes
from app.polls import routes as polls_routes
from app.ratings import routes as ratings_routes
from app.review import routes as review_routes
from app.routing import routes as routing_routes
from app.screen import routes as screen_routes
from app.settings import Settings, current
from app.stats import routes as stats_routes
from app.supervision import routes as supervision_routes
from app.tickets import routes as tickets_routes
from app.units import routes as units_routes

log = logging.getLogger("gongzhi")
_names = itertools.count()

DOMAIN_BLUEPRINTS = (
    accounts_routes.bp, areas_routes.bp, media_routes.bp, catalog_routes.bp, units_routes.bp,
    routing_routes.bp, calendar_routes.bp, tickets_routes.bp, stats_routes.bp, ratings_routes.bp,
    polls_routes.bp, notifications_routes.bp,
    supervision_routes.bp,
    open311_routes.admin_bp,
    integrations_routes.bp,
    hotline_routes.bp,
    evaluation_routes.bp,
    approvals_routes.bp,
    devices_routes.bp,
    conversation_routes.bp,
    escalation_routes.bp,
    review_routes.bp,
)


def _configure_logging() -> None:
    """Our loggers print with time and level in every worker process (Sanic only sets its own)."""
    logger = logging.getLogger("gongzhi")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def create_app(settings: Settings | None = None, *, name: str | None = None) -> Sanic:
    settings = settings or current()
    _configure_logging()
    # Unique names let tests build several apps in one process.
    app = Sanic(name or f"gongzhi{next(_names) or ''}")
    app.config.update(
        REQUEST_MAX_SIZE=settings.request_max_size,
        OAS_URL_PREFIX="/docs",
        OAS_URI_TO_JSON="/openapi.json",
        OAS_UI_DEFAULT="swagger",
        OAS_UI_SWAGGER=settings.docs_ui_enabled,
        OAS_UI_REDOC=False,
        OAS_AUTODOC=False,
        FALLBACK_ERROR_FORMAT="json",
        KEEP_ALIVE_TIMEOUT=15,
        RESPONSE_TIMEOUT=30,
        # No CORS headers at all: the mini-program's wx.request is not a browser origin and
        # the console is served from this same origin, so no other site may read our answers.
        CORS=False,
    )
    Extend(app, config={"oas_ignore_head": True, "oas_ignore_options": True, "health": False})
    app.ext.openapi.describe(
        "Gongzhi API",
        version="1",
        description="Grid-based city governance: reports, routing, grid work, rates. "
        "Errors always come as {\"error\": {\"code\", \"message\", \"details\"}}.",
    )
    app.ext.openapi.add_security_scheme("token", "http", scheme="bearer", bearer_format="JWT")
    app.ext.openapi.add_security_scheme(  # signed requests of integrations (app/integrations)
        "signature", "apiKey", name="X-Gongzhi-Signature", location="header",
        description="HMAC-SHA256 with an integration's key, see docs/integrations.md")

    blueprints = [*DOMAIN_BLUEPRINTS]
    if (dev := accounts_routes.dev_blueprint(settings)) is not None:
        blueprints.append(dev)
    api = Blueprint.group(*blueprints, url_prefix="/api/v1")
    app.blueprint(api)
    app.blueprint(_health_blueprint())
    app.blueprint(console_routes.bp)  # the browser console under /console (HTML, not the API)
    app.blueprint(screen_routes.bp)  # the big screen through display links, /screen/<token>
    app.blueprint(open311_routes.bp)  # Open311 GeoReport v2 under /open311/v2 (docs/open311.md)
    register_error_handlers(app)
    core_api.install_auth(app, load_user=accounts_service.load_user)
    app_jobs.install()  # the domains' notice kinds and wiring (app/jobs.py)

    @app.before_server_start
    async def _start(app: Sanic) -> None:
        await db.init_db(settings)
        redis_core.connect(settings)

    @app.after_server_stop
    async def _stop(app: Sanic) -> None:
        await redis_core.close()
        await db.close_db()

    if settings.jobs_in_process:
        @app.after_server_start
        async def _jobs(app: Sanic) -> None:
            # Embedded default: no separate job process, so the API process runs the jobs
            # (outbox delivery, overdue marking). Production runs `python -m app jobs`.
            app.ctx.jobs_stop = asyncio.Event()
            app.add_task(app_jobs.run_jobs(stop=app.ctx.jobs_stop,
                                           worker_id=f"api-{os.getpid()}"), name="jobs")

        @app.before_server_stop
        async def _stop_jobs(app: Sanic) -> None:
            app.ctx.jobs_stop.set()

    @app.on_response
    async def _security_headers(request: Request, response: HTTPResponse) -> None:
        security_headers(request, response, prod=settings.app_env == "prod")

    return app


# The Swagger UI page (dev): its assets and inline start-up script come from jsdelivr.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(request: Request, response: HTTPResponse, *, prod: bool) -> None:
    """Headers on every response (docs/deploy.md "Response headers")."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if prod:  # prod runs behind TLS (PUBLIC_BASE_URL is https://): browsers keep to it
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/"):
        # Tokens, profiles, tickets, messages: no API answer is kept by a cache or a browser,
        # unless the route chose its own policy (signed photo files do).
        headers.setdefault("Cache-Control", "no-store")
    elif request.path.startswith("/docs") and "html" in (response.content_type or ""):
        headers.setdefault("Content-Security-Policy", DOCS_CSP)
        headers.setdefault("X-Frame-Options", "DENY")


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(HealthOut):
    redis: Literal["ok", "fallback", "off"] = Field(
        description="Redis trouble degrades to in-process fallbacks; it never fails readiness")


def _health_blueprint() -> Blueprint:
    bp = Blueprint("health")

    @bp.get("/healthz")
    @openapi.definition(summary="Liveness: the process answers", tag="ops",
                        response=[Response({"application/json": Component(HealthOut)},
                                           status=200, description="OK")])
    async def healthz(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @bp.get("/readyz")
    @openapi.definition(summary="Readiness: the database answers (503 otherwise)", tag="ops",
                        response=[Response({"application/json": Component(ReadyOut)},
                                           status=200, description="Ready"),
                                  Response({"application/json": Component(ErrorOut)},
                                           status=503, description="Not ready")])
    async def readyz(request: Request) -> HTTPResponse:
        if supervise.stopping():  # draining: take this process out of rotation now
            raise ServiceUnavailable("服务正在停止", code="server_stopping")
        try:
            await connections.get("default").execute_query("SELECT 1")
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            log.warning("readiness check failed: %s", exc)
            raise ServiceUnavailable("数据库暂时不可用", code="database_unavailable") from None
        # Redis trouble degrades (in-process fallbacks), so it is reported, not failed on.
        redis = ("off" if redis_core.client() is None
                 else "fallback" if redis_core.breaker.is_open else "ok")
        return json({"status": "ok", "redis": redis})

    return bp
