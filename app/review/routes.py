"""Content review API: what is held in my areas, and release or keep each held text."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.core.api import endpoint
from app.review import service
from app.review.models import Decision
from app.review.schemas import DecisionOut, RatingSeen, ReviewQueue

bp = Blueprint("review")
TAG = "review"
ERRORS = (403, 404, 409)
RELEASED, KEPT = Decision.RELEASED, Decision.KEPT


@bp.get("/review/queue")
@endpoint(summary="Held case texts, rating comments and poll answers in my areas not yet "
          "released or kept (100 of each)", tag=TAG, response=ReviewQueue, errors=(403,))
async def review_queue(request: Request) -> ReviewQueue:
    return await service.queue(user=request.ctx.user)


TICKET = "held case description: release (public as its reporter chose) or keep (hidden, "
RATING = "held rating comment (the one the reviewer read): release or keep (hidden, "
POLL = "held poll answer: release (joins results and exports) or keep (left out, "


@bp.post("/review/tickets/<ticket_id:int>/release")
@endpoint(summary="Release a " + TICKET + "off the queue)", tag=TAG, response=DecisionOut,
          errors=ERRORS)
async def release_ticket(request: Request, ticket_id: int) -> DecisionOut:
    return await service.decide_ticket(user=request.ctx.user, ticket_id=ticket_id,
                                       decision=RELEASED)


@bp.post("/review/tickets/<ticket_id:int>/keep")
@endpoint(summary="Keep a " + TICKET + "off the queue)", tag=TAG, response=DecisionOut,
          errors=ERRORS)
async def keep_ticket(request: Request, ticket_id: int) -> DecisionOut:
    return await service.decide_ticket(user=request.ctx.user, ticket_id=ticket_id,
                                       decision=KEPT)


@bp.post("/review/ratings/<rating_id:int>/release")
@endpoint(summary="Release a " + RATING + "off the queue)", tag=TAG, body=RatingSeen,
          response=DecisionOut, errors=(*ERRORS, 422))
async def release_rating(request: Request, rating_id: int, body: RatingSeen) -> DecisionOut:
    return await service.decide_rating(user=request.ctx.user, rating_id=rating_id,
                                       seen=body.seen, decision=RELEASED)


@bp.post("/review/ratings/<rating_id:int>/keep")
@endpoint(summary="Keep a " + RATING + "off the queue)", tag=TAG, body=RatingSeen,
          response=DecisionOut, errors=(*ERRORS, 422))
async def keep_rating(request: Request, rating_id: int, body: RatingSeen) -> DecisionOut:
    return await service.decide_rating(user=request.ctx.user, rating_id=rating_id,
                                       seen=body.seen, decision=KEPT)


@bp.post("/review/polls/<poll_id:int>/texts/<answer_id:str>/release")
@endpoint(summary="Release a " + POLL + "off the queue)", tag=TAG, response=DecisionOut,
          errors=ERRORS)
async def release_poll_text(request: Request, poll_id: int, answer_id: str) -> DecisionOut:
    return await service.decide_poll_text(user=request.ctx.user, poll_id=poll_id,
                                          answer_id=answer_id, decision=RELEASED)


@bp.post("/review/polls/<poll_id:int>/texts/<answer_id:str>/keep")
@endpoint(summary="Keep a " + POLL + "off the queue)", tag=TAG, response=DecisionOut,
          errors=ERRORS)
async def keep_poll_text(request: Request, poll_id: int, answer_id: str) -> DecisionOut:
    return await service.decide_poll_text(user=request.ctx.user, poll_id=poll_id,
                                          answer_id=answer_id, decision=KEPT)
