"""Polls API: staff ask an area, its residents answer once, results live and as CSV."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, text
from sanic_ext.extensions.openapi import openapi

from app.core.api import endpoint
from app.polls import queries, service
from app.polls.schemas import (
    HeldText,
    PollClose,
    PollCreate,
    PollDetail,
    PollPage,
    PollQuery,
    PollResults,
    ResponseIn,
    ResponseReceipt,
    ResultsCsvQuery,
    ResultsQuery,
)
from app.tickets.routes import IDEMPOTENCY

bp = Blueprint("polls")
TAG = "polls"


@bp.post("/polls")
@IDEMPOTENCY
@endpoint(summary="Create a poll for an area subtree (community staff); once per "
          "Idempotency-Key", tag=TAG, body=PollCreate, response=PollDetail, status=201,
          errors=(403, 409, 422))
async def create(request: Request, body: PollCreate) -> HTTPResponse:
    poll_id, replayed = await service.create_poll_once(
        actor=request.ctx.user, body=body, key=request.headers.get("idempotency-key"))
    # A replay answers with the poll as it is now, as a replayed report does.
    detail = await queries.detail(user=request.ctx.user, poll_id=poll_id)
    response = json(detail.model_dump(mode="json"), status=201)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/polls")
@endpoint(summary="Residents: open polls for my area (or the point's); staff: polls in my scope",
          tag=TAG, query=PollQuery, response=PollPage, errors=(404, 409))
async def list_polls(request: Request, query: PollQuery) -> PollPage:
    return await queries.list_polls(user=request.ctx.user, query=query)


@bp.get("/polls/<poll_id:int>")
@endpoint(summary="A poll with its questions; whether I have voted and may vote", tag=TAG,
          response=PollDetail, errors=(404, 409))
async def get_poll(request: Request, poll_id: int) -> PollDetail:
    return await queries.detail(user=request.ctx.user, poll_id=poll_id)


@bp.post("/polls/<poll_id:int>/responses")
@endpoint(summary="Answer a poll, once (409 already_voted for a second try)", tag=TAG,
          body=ResponseIn, response=ResponseReceipt, status=201, errors=(403, 404, 409))
async def respond(request: Request, poll_id: int, body: ResponseIn) -> ResponseReceipt:
    return await service.respond(user=request.ctx.user, poll_id=poll_id, body=body)


@bp.get("/polls/<poll_id:int>/results")
@endpoint(summary="Results per question; staff: live, free text, per sub-area with ?by=",
          tag=TAG, query=ResultsQuery, response=PollResults, errors=(403, 404, 409))
async def results(request: Request, poll_id: int, query: ResultsQuery) -> PollResults:
    return await queries.results(user=request.ctx.user, poll_id=poll_id, by=query.by)


@bp.get("/polls/<poll_id:int>/results.csv")
@openapi.response(200, {"text/csv": str}, "Results as CSV (UTF-8 with BOM)")
@endpoint(summary="Export results as CSV (staff): summary, free texts, or named responses",
          tag=TAG, query=ResultsCsvQuery, errors=(403, 404, 409))
async def results_csv(request: Request, poll_id: int, query: ResultsCsvQuery) -> HTTPResponse:
    body = await queries.results_csv(user=request.ctx.user, poll_id=poll_id, by=query.by,
                                     view=query.view)
    return text(body, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="poll-{poll_id}-{query.view}.csv"'})


@bp.post("/polls/<poll_id:int>/publish")
@endpoint(summary="Publish a draft: residents see it and are notified (staff; publishing a "
          "published poll answers it as it is)", tag=TAG, response=PollDetail,
          errors=(403, 404, 409))
async def publish(request: Request, poll_id: int) -> PollDetail:
    poll = await service.publish_poll(actor=request.ctx.user, poll_id=poll_id)
    return await queries.detail(user=request.ctx.user, poll_id=poll.id)


@bp.post("/polls/<poll_id:int>/close")
@endpoint(summary="Close a poll early with a reason residents see (staff)", tag=TAG,
          body=PollClose, response=PollDetail, errors=(403, 404, 409))
async def close(request: Request, poll_id: int, body: PollClose) -> PollDetail:
    poll = await service.close_poll(actor=request.ctx.user, poll_id=poll_id, reason=body.reason)
    return await queries.detail(user=request.ctx.user, poll_id=poll.id)


@bp.post("/polls/<poll_id:int>/texts/<answer_id:str>/release")
@endpoint(summary="Release a free-text answer held by the content check (staff)", tag=TAG,
          response=HeldText, errors=(403, 404))
async def release_text(request: Request, poll_id: int, answer_id: str) -> HeldText:
    return await service.release_text(user=request.ctx.user, poll_id=poll_id,
                                      answer_id=answer_id)
