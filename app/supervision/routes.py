"""督办 API: raise one on a ticket, a ticket's 督办, the ledger per unit."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from app.core.api import endpoint
from app.core.paging import PageQuery
from app.supervision import service
from app.supervision.schemas import (
    SupervisionIn,
    SupervisionLedgerQuery,
    SupervisionOut,
    SupervisionPage,
)
from app.tickets import idempotency
from app.tickets.routes import IDEMPOTENCY, answer_once

bp = Blueprint("supervision")
TAG = "supervision"


@bp.post("/tickets/<ticket_id:int>/supervisions")
@IDEMPOTENCY
@endpoint(summary="Raise a 督办 on an open ticket (supervisor, dispatcher); its unit is told",
          tag=TAG, body=SupervisionIn, response=SupervisionOut, status=201,
          errors=(403, 404, 409))
async def raise_supervision(request: Request, ticket_id: int, body: SupervisionIn
                            ) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        out = await service.raise_supervision(actor=request.ctx.user, ticket_id=ticket_id,
                                              body=body)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.get("/tickets/<ticket_id:int>/supervisions")
@endpoint(summary="A ticket's 督办, newest first (staff who see the ticket)", tag=TAG,
          query=PageQuery, response=SupervisionPage, errors=(403, 404))
async def ticket_supervisions(request: Request, ticket_id: int, query: PageQuery
                              ) -> SupervisionPage:
    return await service.list_for_ticket(user=request.ctx.user, ticket_id=ticket_id,
                                         limit=query.limit, cursor=query.cursor)


@bp.get("/supervisions")
@endpoint(summary="督办台账: per unit, newest first (supervisor, dispatcher, the unit)", tag=TAG,
          query=SupervisionLedgerQuery, response=SupervisionPage, errors=(403,))
async def ledger(request: Request, query: SupervisionLedgerQuery) -> SupervisionPage:
    return await service.ledger(user=request.ctx.user, query=query)
