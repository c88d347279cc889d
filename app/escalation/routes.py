"""上报/升级 and 主办/协办 API: escalate, the level queues, accept; co-units, their parts."""

from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from app.core.api import endpoint
from app.core.paging import PageQuery
from app.escalation import service
from app.escalation.schemas import (
    CoHandlingOut,
    CoHandlingPage,
    CoReportIn,
    CoUnitIn,
    CoWaiveIn,
    EscalateIn,
    EscalationAcceptIn,
    EscalationOut,
    EscalationPage,
    EscalationQueueQuery,
)
from app.tickets import idempotency
from app.tickets.routes import IDEMPOTENCY, answer_once

bp = Blueprint("escalation")
TAG = "escalation"


class CoTaskQuery(PageQuery):
    status: str = Field(default="pending", pattern="^(pending|all)$",
                        description="pending (default): parts still to record; all")


@bp.post("/tickets/<ticket_id:int>/escalate")
@IDEMPOTENCY
@endpoint(summary="上报/升级: escalate a case one level up (grid → community → street → "
          "district); whoever holds the task or staff of the current level", tag=TAG,
          body=EscalateIn, response=EscalationOut, status=201, errors=(403, 404, 409))
async def escalate(request: Request, ticket_id: int, body: EscalateIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.escalate(actor=request.ctx.user, ticket_id=ticket_id,
                                     reason=body.reason, version=body.version)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/tickets/<ticket_id:int>/escalations")
@endpoint(summary="A ticket's escalations, newest first (staff who see the ticket)", tag=TAG,
          query=PageQuery, response=EscalationPage, errors=(403, 404))
async def ticket_escalations(request: Request, ticket_id: int, query: PageQuery
                             ) -> EscalationPage:
    return await service.for_ticket(user=request.ctx.user, ticket_id=ticket_id,
                                    limit=query.limit, cursor=query.cursor)


@bp.get("/escalations/queue")
@endpoint(summary="A level's queue of escalated cases waiting for a unit, oldest first "
          "(staff of that level's areas)", tag=TAG, query=EscalationQueueQuery,
          response=EscalationPage, errors=(403,))
async def level_queue(request: Request, query: EscalationQueueQuery) -> EscalationPage:
    return await service.queue(user=request.ctx.user, level=query.level, limit=query.limit,
                               cursor=query.cursor)


@bp.post("/escalations/<escalation_id:int>/accept")
@IDEMPOTENCY
@endpoint(summary="受理上报: the new level's staff dispatch the case to a unit; the deadline "
          "restarts with the level's limit", tag=TAG, body=EscalationAcceptIn,
          response=EscalationOut, errors=(403, 404, 409))
async def accept(request: Request, escalation_id: int, body: EscalationAcceptIn
                 ) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.accept(actor=request.ctx.user, escalation_id=escalation_id,
                                   unit_id=body.unit_id, note=body.note)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/tickets/<ticket_id:int>/co-handling")
@endpoint(summary="主办/协办: a ticket's co-handling units and their parts", tag=TAG,
          response=CoHandlingPage, errors=(403, 404))
async def co_units(request: Request, ticket_id: int) -> CoHandlingPage:
    return await service.co_units_of(user=request.ctx.user, ticket_id=ticket_id)


@bp.post("/tickets/<ticket_id:int>/co-handling")
@IDEMPOTENCY
@endpoint(summary="Add a co-handling unit (协办) to a dispatched ticket (a dispatcher)",
          tag=TAG, body=CoUnitIn, response=CoHandlingOut, status=201, errors=(403, 404, 409))
async def add_co_unit(request: Request, ticket_id: int, body: CoUnitIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.add_co_unit(actor=request.ctx.user, ticket_id=ticket_id,
                                        unit_id=body.unit_id)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/tickets/<ticket_id:int>/co-handling/<unit_id:int>/report")
@IDEMPOTENCY
@endpoint(summary="A co-unit's handler records its part (a note and photos)", tag=TAG,
          body=CoReportIn, response=CoHandlingOut, errors=(403, 404, 409))
async def co_report(request: Request, ticket_id: int, unit_id: int, body: CoReportIn
                    ) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.co_report(actor=request.ctx.user, ticket_id=ticket_id,
                                      unit_id=unit_id, note=body.note, media_ids=body.media_ids)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/tickets/<ticket_id:int>/co-handling/<unit_id:int>/waive")
@IDEMPOTENCY
@endpoint(summary="Waive a co-unit's part (a dispatcher), so the lead unit may finish",
          tag=TAG, body=CoWaiveIn, response=CoHandlingOut, errors=(403, 404, 409))
async def waive(request: Request, ticket_id: int, unit_id: int, body: CoWaiveIn
                ) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.waive_co_unit(actor=request.ctx.user, ticket_id=ticket_id,
                                          unit_id=unit_id, reason=body.reason)
        return 200, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/co-handling/tasks")
@endpoint(summary="协办任务: the parts the caller's units are asked for, newest first "
          "(handlers)", tag=TAG, query=CoTaskQuery, response=CoHandlingPage, errors=(403,))
async def co_tasks(request: Request, query: CoTaskQuery) -> CoHandlingPage:
    return await service.co_tasks(user=request.ctx.user, limit=query.limit,
                                  cursor=query.cursor, pending_only=query.status == "pending")
