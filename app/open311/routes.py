"""Open311 GeoReport v2 under /open311/v2/ (JSON and XML), and the admin API of its keys.

The Open311 routes answer the spec's way, errors included (a list of {code, description}),
so they are left out of our OpenAPI document: docs/open311.md describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi import openapi

from app.core.api import client_ip, endpoint
from app.core.errors import AppError
from app.core.ratelimit import counters
from app.open311 import clients, service
from app.open311.formats import FORMATS, Open311Error, render, render_error
from app.open311.schemas import (
    Open311ClientCreate,
    Open311ClientCreated,
    Open311ClientDeactivate,
    Open311ClientList,
    Open311ClientOut,
    Open311ContactOut,
)
from app.settings import current

bp = Blueprint("open311", url_prefix="/open311/v2")
admin_bp = Blueprint("open311_admin")
TAG = "open311"

Answer = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def _format(request: Request) -> str:
    return request.path.rsplit(".", 1)[-1]


def _args(request: Request) -> dict[str, str]:
    """Query arguments, first value each; an empty one is absent ("Optional", the spec)."""
    return {k: v[0].strip() for k, v in request.args.items() if v and v[0].strip()}


def _split(name: str) -> tuple[str, str]:
    """`9901.json` → ("9901", "json"); an unknown format is 404."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS or not stem:
        raise Open311Error(404, "找不到该资源（请以 .json 或 .xml 结尾）")
    return stem, fmt


def open311(handler: Answer) -> Answer:
    """Errors the Open311 way, in the format the path asks for (JSON if it names none)."""

    @wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        fmt = _format(request)
        fmt = fmt if fmt in FORMATS else "json"  # `services/9901.html`: 404 in JSON
        try:
            given = _args(request)
            if request.method == "POST":  # the form carries it there
                form_value = str(request.form.get("jurisdiction_id") or "").strip() \
                    if request.form else ""
                given.setdefault("jurisdiction_id", form_value)
            service.check_jurisdiction(given)
            return await handler(request, *args, **kwargs)
        except Open311Error as exc:
            return render_error(fmt, exc)
        except AppError as exc:  # a rate limit, a database timeout: same status, spec shape
            return render_error(fmt, Open311Error(exc.status_code, exc.message))

    return openapi.exclude()(wrapper)


def _each_format(path: str, name: str, handler: Answer, methods: tuple[str, ...] = ("GET",)
                 ) -> None:
    for fmt in FORMATS:
        bp.add_route(handler, f"{path}.{fmt}", methods=list(methods), name=f"{name}_{fmt}")


@open311
async def discovery(request: Request) -> HTTPResponse:
    base = current().public_base_url.rstrip("/") + "/open311/v2/"
    return render(_format(request), "discovery", None, service.discovery(base_url=base))


@open311
async def services(request: Request) -> HTTPResponse:
    return render(_format(request), "services", "service", await service.list_services())


@open311
async def service_definition(request: Request, name: str) -> HTTPResponse:
    code, fmt = _split(name)
    return render(fmt, "service_definition", None, await service.service_definition(code=code))


@open311
async def requests_get(request: Request) -> HTTPResponse:
    rows = await service.list_requests(args=_args(request))
    return render(_format(request), "service_requests", "request", rows)


@open311
async def requests_post(request: Request) -> HTTPResponse:
    fmt = _format(request)
    form: dict[str, list[str]] = dict(request.form or {})
    api_key = ((form.get("api_key") or [""])[0] or request.args.get("api_key") or "").strip()
    client = await clients.client_for_key(api_key)
    if client is None:
        raise Open311Error(403, "api_key 无效或缺失")
    # Per client app and per address: one app's flood does not starve the others.
    limit = current().rate_writes_per_minute
    await counters.hit(f"o311:{client.id}", limit=limit * 5, window_s=60)
    await counters.hit(f"o311:ip:{client_ip(request)}", limit=limit * 5, window_s=60)
    rows = await service.create_request(client=client, form=form)
    return render(fmt, "service_requests", "request", rows, status=201)


@open311
async def one_request(request: Request, name: str) -> HTTPResponse:
    number, fmt = _split(name)
    rows = await service.get_request(service_request_id=number)
    return render(fmt, "service_requests", "request", rows)


@open311
async def token(request: Request, name: str) -> HTTPResponse:
    value, fmt = _split(name)
    return render(fmt, "service_requests", "request", await service.token_lookup(token=value))


@open311
async def updates(request: Request) -> HTTPResponse:
    rows = await service.list_updates(args=_args(request))
    return render(_format(request), "service_request_updates", "request_update", rows)


_each_format("/discovery", "discovery", discovery)
_each_format("/services", "services", services)
_each_format("/requests", "requests_get", requests_get)
_each_format("/requests", "requests_post", requests_post, methods=("POST",))
_each_format("/servicerequestupdates", "updates", updates)
bp.add_route(service_definition, "/services/<name:str>", methods=["GET"],
             name="service_definition")
bp.add_route(one_request, "/requests/<name:str>", methods=["GET"], name="one_request")
bp.add_route(token, "/tokens/<name:str>", methods=["GET"], name="token")


# --- the admin API of client apps (under /api/v1) ------------------------------------------


@admin_bp.get("/admin/open311/clients")
@endpoint(summary="Open311 client apps and their key prefixes (city-wide admins)", tag=TAG,
          response=Open311ClientList, errors=(403,))
async def list_clients(request: Request) -> Open311ClientList:
    return await clients.list_clients(actor=request.ctx.user)


@admin_bp.post("/admin/open311/clients")
@endpoint(summary="Add an Open311 client app: its API key is in this answer only", tag=TAG,
          body=Open311ClientCreate, response=Open311ClientCreated, status=201,
          errors=(403, 409))
async def create_client(request: Request, body: Open311ClientCreate) -> Open311ClientCreated:
    return await clients.create_client(actor=request.ctx.user, data=body)


@admin_bp.post("/admin/open311/clients/<code:str>/deactivate")
@endpoint(summary="Deactivate an Open311 client app: its key stops working at once", tag=TAG,
          body=Open311ClientDeactivate, response=Open311ClientOut, errors=(403,))
async def deactivate_client(request: Request, code: str, body: Open311ClientDeactivate
                            ) -> Open311ClientOut:
    return await clients.deactivate_client(actor=request.ctx.user, code=code,
                                           reason=body.reason)


@admin_bp.get("/open311/tickets/<ticket_id:int>/contact")
@endpoint(summary="The contact details an Open311 client app sent with a ticket (staff in "
          "scope)", tag=TAG, response=Open311ContactOut, errors=(404,))
async def ticket_contact(request: Request, ticket_id: int) -> Open311ContactOut:
    return await clients.contact_for(viewer=request.ctx.user, ticket_id=ticket_id)
