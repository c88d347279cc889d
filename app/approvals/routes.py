"""挂账/延期/回退/作废 API: ask, decide, resume, the register, its CSV and the rates."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic_ext.extensions.openapi import openapi

from app.approvals import service
from app.approvals.schemas import (
    ApprovalDecisionIn,
    ApprovalIn,
    ApprovalOut,
    ApprovalPage,
    ApprovalQuery,
    ApprovalRates,
    ApprovalRatesQuery,
    ResumeIn,
)
from app.core.api import endpoint
from app.tickets import idempotency, queries
from app.tickets.routes import IDEMPOTENCY, answer_once
from app.tickets.schemas import TicketDetail

bp = Blueprint("approvals")
TAG = "approvals"


@bp.post("/tickets/<ticket_id:int>/approvals")
@IDEMPOTENCY
@endpoint(summary="Ask for 挂账/延期 (the worker holding the task), 回退 (the worker or a "
          "dispatcher) or 作废 (a dispatcher); a supervisor decides", tag=TAG,
          body=ApprovalIn, response=ApprovalOut, status=201, errors=(403, 404, 409))
async def ask(request: Request, ticket_id: int, body: ApprovalIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.create_request(actor=request.ctx.user, ticket_id=ticket_id,
                                           body=body)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/approvals")
@endpoint(summary="申请台账: 挂账/延期/回退/作废 requests, newest first (supervisors and "
          "dispatchers of the area, the unit's handlers, the requester)", tag=TAG,
          query=ApprovalQuery, response=ApprovalPage, errors=(403, 404))
async def register(request: Request, query: ApprovalQuery) -> ApprovalPage:
    return await service.register(user=request.ctx.user, query=query)


@bp.get("/approvals/export.csv")
@openapi.response(200, {"text/csv": str}, "The register as CSV")
@endpoint(summary="Export the register as CSV (the list's filters, at most 10,000 rows)",
          tag=TAG, query=ApprovalQuery, errors=(403, 404))
async def export(request: Request, query: ApprovalQuery) -> HTTPResponse:
    body = await service.export_csv(user=request.ctx.user, query=query)
    return text(body, content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="gongzhi-approvals.csv"'})


@bp.get("/approvals/rates")
@endpoint(summary="挂账率, 延期率, 回退率, 作废率 and the requests of a period (staff of the area)",
          tag=TAG, query=ApprovalRatesQuery, response=ApprovalRates, errors=(403, 404))
async def rates(request: Request, query: ApprovalRatesQuery) -> ApprovalRates:
    return await service.rates(user=request.ctx.user, query=query)


@bp.get("/approvals/<approval_id:int>")
@endpoint(summary="One request of the register", tag=TAG, response=ApprovalOut,
          errors=(404,))
async def one(request: Request, approval_id: int) -> ApprovalOut:
    return await service.get_request(user=request.ctx.user, approval_id=approval_id)


@bp.post("/approvals/<approval_id:int>/approve")
@IDEMPOTENCY
@endpoint(summary="Approve a pending request (a supervisor of the area; 延期 and 回退 also a "
          "dispatcher): its effect applies", tag=TAG, body=ApprovalDecisionIn,
          response=ApprovalOut, errors=(403, 404, 409))
async def approve(request: Request, approval_id: int, body: ApprovalDecisionIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.decide(actor=request.ctx.user, approval_id=approval_id,
                                   approve=True, note=body.note)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/approvals/<approval_id:int>/deny")
@IDEMPOTENCY
@endpoint(summary="Deny a pending request, with a reason", tag=TAG, body=ApprovalDecisionIn,
          response=ApprovalOut, errors=(403, 404, 409))
async def deny(request: Request, approval_id: int, body: ApprovalDecisionIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.decide(actor=request.ctx.user, approval_id=approval_id,
                                   approve=False, note=body.note)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/tickets/<ticket_id:int>/resume")
@IDEMPOTENCY
@endpoint(summary="恢复办理 of a suspended (挂账) ticket: back to its unit, the deadline moved "
          "by the time suspended (a supervisor or dispatcher of the area)", tag=TAG,
          body=ResumeIn, response=TicketDetail, errors=(403, 404, 409))
async def resume(request: Request, ticket_id: int, body: ResumeIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        await service.resume(actor=request.ctx.user, ticket_id=ticket_id, note=body.note)
        detail = await queries.detail(user=request.ctx.user, ticket_id=ticket_id)
        return 200, detail.model_dump(mode="json")

    return await answer_once(request, body, run)
