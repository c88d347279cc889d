"""Hotline API: dispatchers file calls, record 回访 and forward cases outside the district's
remit (热线推送); 12345 pushes orders (signed)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Component

from app.core.api import client_ip, endpoint
from app.hotline import service
from app.hotline.schemas import (
    CallbackIn,
    ForwardIn,
    ForwardOut,
    ForwardReplyIn,
    HotlineCaseCreate,
    HotlineCaseOut,
    HotlineOrderIn,
    HotlineOrderOut,
)
from app.integrations import service as integrations
from app.integrations.models import IntegrationKind
from app.integrations.routes import SIGNED
from app.tickets import idempotency
from app.tickets.routes import IDEMPOTENCY, answer_once

bp = Blueprint("hotline")
TAG = "hotline"


@bp.post("/hotline/cases")
@IDEMPOTENCY
@endpoint(summary="热线工单: file a caller's problem (dispatchers); 立案 at once and routed",
          tag=TAG, body=HotlineCaseCreate, response=HotlineCaseOut, status=201,
          errors=(403, 404))
async def file_case(request: Request, body: HotlineCaseCreate) -> HTTPResponse:
    # A call taken twice (a retried submit, a double click) is one case.
    answer = await service.file_case_once(actor=request.ctx.user, body=body,
                                          key=request.headers.get("idempotency-key"))
    response = json(answer.body, status=answer.status)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/hotline/cases/<ticket_id:int>")
@endpoint(summary="A hotline case with the caller's details (dispatchers, community staff)",
          tag=TAG, response=HotlineCaseOut, errors=(403,))
async def get_case(request: Request, ticket_id: int) -> HotlineCaseOut:
    return await service.get_case(viewer=request.ctx.user, ticket_id=ticket_id)


@bp.post("/hotline/cases/<ticket_id:int>/callback")
@endpoint(summary="回访: record the caller's answer after the case closed (once)", tag=TAG,
          body=CallbackIn, response=HotlineCaseOut, errors=(403, 409))
async def record_callback(request: Request, ticket_id: int, body: CallbackIn) -> HotlineCaseOut:
    return await service.record_callback(actor=request.ctx.user, ticket_id=ticket_id, body=body)


@bp.post("/tickets/<ticket_id:int>/forward")
@IDEMPOTENCY
@endpoint(summary="热线推送: forward a case outside the district's remit to an outside body "
          "(dispatchers of its area); final, out of the rates", tag=TAG, body=ForwardIn,
          response=ForwardOut, status=201, errors=(403, 404, 409))
async def forward(request: Request, ticket_id: int, body: ForwardIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.forward(actor=request.ctx.user, ticket_id=ticket_id, body=body)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/tickets/<ticket_id:int>/forward")
@endpoint(summary="A forwarded case: the outside body, why, and its answer (staff of the "
          "area, the reporter)", tag=TAG, response=ForwardOut, errors=(403, 404))
async def get_forward(request: Request, ticket_id: int) -> ForwardOut:
    return await service.get_forward(viewer=request.ctx.user, ticket_id=ticket_id)


@bp.post("/tickets/<ticket_id:int>/forward/reply")
@IDEMPOTENCY
@endpoint(summary="回复: record the outside body's answer to a forwarded case (once; the "
          "reporter is told)", tag=TAG, body=ForwardReplyIn, response=ForwardOut,
          errors=(403, 404, 409))
async def record_forward_reply(request: Request, ticket_id: int,
                               body: ForwardReplyIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.record_forward_reply(actor=request.ctx.user, ticket_id=ticket_id,
                                                 body=body)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/hooks/hotline12345/orders")
@openapi.secured("signature")
@openapi.body({"application/json": Component(HotlineOrderIn)},
              description="A 12345 工单; the same order_number again answers the same ticket")
@endpoint(summary="12345 pushes a 工单 (signed; one ticket per order number)", tag=TAG,
          response=HotlineOrderOut, auth=False, throttle=False, description=SIGNED,
          errors=(401, 403, 409, 413, 415, 422, 429))
async def receive_order(request: Request) -> HotlineOrderOut:
    raw = request.body or b""
    verified = await integrations.verify(headers=request.headers, body=raw,
                                         kinds=(IntegrationKind.HOTLINE12345,),
                                         ip=client_ip(request))
    integrations.json_object(content_type=request.headers.get("content-type", ""), body=raw)
    body = HotlineOrderIn.model_validate_json(raw, strict=True)
    return await service.receive_order(verified=verified, body=body)
