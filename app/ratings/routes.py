"""Ratings API: residents rate closed tickets; community staff reply and send back for rework."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.core.api import endpoint
from app.ratings import service
from app.ratings.schemas import (
    OutcomeIn,
    QueueQuery,
    RatingIn,
    RatingOut,
    RatingPage,
    RatingUpdate,
    ReplyIn,
)

bp = Blueprint("ratings")
TAG = "ratings"


async def _one(request: Request, rating: object) -> RatingOut:
    return (await service.rating_outs(request.ctx.user, [rating]))[0]  # type: ignore[list-item]


@bp.post("/tickets/<ticket_id:int>/rating")
@endpoint(summary="Rate a closed ticket (result and service), once", tag=TAG, body=RatingIn,
          response=RatingOut, status=201, errors=(403, 404, 409))
async def rate(request: Request, ticket_id: int, body: RatingIn) -> RatingOut:
    return await _one(request, await service.rate(user=request.ctx.user, ticket_id=ticket_id,
                                                  data=body))


@bp.get("/tickets/<ticket_id:int>/ratings")
@endpoint(summary="Ratings of a ticket with staff replies (residents: their own)", tag=TAG,
          response=RatingPage, errors=(404,))
async def of_ticket(request: Request, ticket_id: int) -> RatingPage:
    return RatingPage(items=await service.ratings_of_ticket(user=request.ctx.user,
                                                            ticket_id=ticket_id))


@bp.patch("/ratings/<rating_id:int>")
@endpoint(summary="Change my rating within 24 hours", tag=TAG, body=RatingUpdate,
          response=RatingOut, errors=(404, 409))
async def update(request: Request, rating_id: int, body: RatingUpdate) -> RatingOut:
    return await _one(request, await service.update(user=request.ctx.user, rating_id=rating_id,
                                                    changes=body))


@bp.get("/ratings/queue")
@endpoint(summary="Ratings in my area: unsatisfied first, then unreplied", tag=TAG,
          query=QueueQuery, response=RatingPage, errors=(403,))
async def queue(request: Request, query: QueueQuery) -> RatingPage:
    return await service.queue(user=request.ctx.user, limit=query.limit, cursor=query.cursor,
                               only_open=query.only_open)


@bp.post("/ratings/<rating_id:int>/replies")
@endpoint(summary="Reply to a rating; the resident sees it on the ticket", tag=TAG,
          body=ReplyIn, response=RatingOut, status=201, errors=(404,))
async def reply(request: Request, rating_id: int, body: ReplyIn) -> RatingOut:
    return await _one(request, await service.reply(user=request.ctx.user, rating_id=rating_id,
                                                   body=body.body))


@bp.post("/ratings/<rating_id:int>/rework")
@endpoint(summary="Send an unsatisfied rating's ticket back for rework (重办)", tag=TAG,
          body=OutcomeIn, response=RatingOut, errors=(403, 404, 409))
async def rework(request: Request, rating_id: int, body: OutcomeIn) -> RatingOut:
    return await _one(request, await service.send_back(user=request.ctx.user,
                                                       rating_id=rating_id, reason=body.reason))


@bp.post("/ratings/<rating_id:int>/decline")
@endpoint(summary="Record why an unsatisfied rating is not sent back", tag=TAG, body=OutcomeIn,
          response=RatingOut, errors=(404, 409))
async def decline(request: Request, rating_id: int, body: OutcomeIn) -> RatingOut:
    return await _one(request, await service.decline(user=request.ctx.user, rating_id=rating_id,
                                                     reason=body.reason))
