"""Integrations API: admins register outside systems and rotate keys; signed requests land
under /hooks (their signature is their permission, docs/integrations.md)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from app.core.api import authenticate, client_ip, endpoint
from app.integrations import feed, service
from app.integrations.models import IntegrationKind
from app.integrations.schemas import (
    FeedPage,
    FeedQuery,
    HookPingOut,
    IntegrationCreate,
    IntegrationOut,
    IntegrationPage,
    IntegrationQuery,
    IntegrationSecretOut,
    IntegrationUpdate,
    KeyRotate,
)

bp = Blueprint("integrations")
TAG = "integrations"
SIGNED = ("Signed with the integration's key: headers X-Gongzhi-Integration, X-Gongzhi-Timestamp "
          "(Unix seconds, ±5 min), X-Gongzhi-Request-Id (once only) and X-Gongzhi-Signature "
          "(sha256=HMAC-SHA256 hex of `{timestamp}.{request_id}.{body}`); see "
          "docs/integrations.md.")


@bp.get("/admin/integrations")
@endpoint(summary="Outside systems (12345, camera platforms, feeds) and their valid keys", tag=TAG,
          query=IntegrationQuery, response=IntegrationPage, errors=(403,))
async def list_integrations(request: Request, query: IntegrationQuery) -> IntegrationPage:
    return await service.list_integrations(actor=request.ctx.user, query=query)


@bp.post("/admin/integrations")
@endpoint(summary="Register an outside system; its first secret is shown once", tag=TAG,
          body=IntegrationCreate, response=IntegrationSecretOut, status=201, errors=(403, 409))
async def create_integration(request: Request, body: IntegrationCreate) -> IntegrationSecretOut:
    return await service.create_integration(actor=request.ctx.user, data=body)


@bp.patch("/admin/integrations/<code:str>")
@endpoint(summary="Rename, (de)activate, set the rate limit or the endpoint of a system",
          tag=TAG, body=IntegrationUpdate, response=IntegrationOut, errors=(403,))
async def update_integration(request: Request, code: str,
                             body: IntegrationUpdate) -> IntegrationOut:
    return await service.update_integration(actor=request.ctx.user, code=code, changes=body)


@bp.post("/admin/integrations/<code:str>/keys")
@endpoint(summary="Rotate the key: a new secret (shown once); the old stays valid for the "
          "overlap", tag=TAG, body=KeyRotate, response=IntegrationSecretOut, status=201,
          errors=(403,))
async def rotate_key(request: Request, code: str, body: KeyRotate) -> IntegrationSecretOut:
    return await service.rotate_key(actor=request.ctx.user, code=code,
                                    overlap_minutes=body.overlap_minutes)


@bp.post("/hooks/ping")
@openapi.secured("signature")
@openapi.body({"application/json": {"type": "object"}}, description="Any JSON object")
@endpoint(summary="A signed test request: answers what it was accepted as", tag=TAG,
          response=HookPingOut, auth=False, throttle=False, description=SIGNED,
          errors=(401, 403, 409, 413, 415, 422, 429))
async def ping(request: Request) -> HookPingOut:
    verified = await service.verify(headers=request.headers, body=request.body or b"",
                                    kinds=tuple(IntegrationKind), ip=client_ip(request))
    data = service.json_object(content_type=request.headers.get("content-type", ""),
                               body=request.body or b"")
    await service.remember(verified)
    return HookPingOut(integration=verified.integration.code, kind=verified.integration.kind,
                       request_id=verified.request_id, body=data)


@bp.get("/feed/events")
@openapi.secured("token")
@openapi.secured("signature")
@endpoint(summary="The case-event feed upward: every ticket event once, in order, from any "
          "cursor", tag=TAG, query=FeedQuery, response=FeedPage, auth=False,
          errors=(401, 403, 409, 429),
          description="An admin's token (their areas), or a `feed` integration's signature "
          "(the whole city), where the signed body is the query string exactly as sent. "
          + SIGNED)
async def read_feed(request: Request, query: FeedQuery) -> FeedPage:
    if request.headers.get("authorization"):
        paths = feed.admin_paths(await authenticate(request))
    else:
        verified = await service.verify(headers=request.headers,
                                        body=request.query_string.encode(),
                                        kinds=(IntegrationKind.FEED,), ip=client_ip(request))
        await service.remember(verified)
        paths = None
    return await feed.read(paths=paths, cursor=query.cursor, limit=query.limit)
