"""Tickets API: residents report and follow; staff accept, dispatch, handle, verify, close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from app.core.api import endpoint
from app.core.paging import PageQuery
from app.tickets import actions, idempotency, intake, queries
from app.tickets.schemas import (
    AddInfoIn,
    DispatchIn,
    ExtensionIn,
    ExtensionOut,
    HandleIn,
    MergeIn,
    NearbyQuery,
    PublicTicketList,
    QueueQuery,
    ReasonIn,
    RecategoriseIn,
    ReportCreate,
    SelfDisposeCreate,
    StaffListQuery,
    TaskQuery,
    TicketDetail,
    TicketOut,
    TicketPage,
    VerifyIn,
    VersionIn,
    WithdrawIn,
)

bp = Blueprint("tickets")
TAG = "tickets"
ACTION_ERRORS = (403, 404, 409)
TASKS = "tasks"
IDEMPOTENCY = openapi.parameter(
    "Idempotency-Key", str, "header",
    description="A retry with the same key and body answers as the first request did "
    "(header Idempotent-Replayed: true) and changes nothing again; the same key with another "
    "body is 422 idempotency_key_reused (≤128 printable ASCII characters)")


async def answer_once(request: Request, body: BaseModel | None,
                run: Callable[[], Awaitable[idempotency.Answer]]) -> HTTPResponse:
    """Answer `run`'s result, once per Idempotency-Key (a retry replays the first answer).

    The one idempotent-action wrapper: every domain's routes that change a ticket use it.
    """
    answer = await idempotency.once(
        actor=request.ctx.user, key=request.headers.get("idempotency-key"),
        scope=f"{request.method} {request.path}",
        body=body.model_dump(mode="json") if body is not None else {}, run=run)
    response = json(answer.body, status=answer.status)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def act_and_answer(request: Request, ticket_id: int, body: BaseModel | None,
               act: Callable[[], Awaitable[Any]], *, written: bool = False) -> HTTPResponse:
    """Take a ticket action (once per Idempotency-Key) and answer with the ticket's detail.

    `written`: `act` returns the ticket as its last transition wrote it (the door's answer,
    nothing written after it), so the detail does not read the row again.
    """
    async def run() -> idempotency.Answer:
        done = await act()
        detail = await queries.detail(user=request.ctx.user, ticket_id=ticket_id,
                                      ticket=done if written else None)
        return 200, detail.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/tickets")
@IDEMPOTENCY
@endpoint(summary="Report a problem (随手拍); routed to a grid cell and unit at once", tag=TAG,
          body=ReportCreate, response=TicketDetail, status=201, errors=(404, 409, 429))
async def report(request: Request, body: ReportCreate) -> HTTPResponse:
    detail, replayed = await intake.report(
        actor=request.ctx.user, body=body,
        idempotency_key=request.headers.get("idempotency-key"))
    # Straight to JSON bytes in pydantic's serialiser (as `endpoint` answers a model).
    response = HTTPResponse(detail.model_dump_json(), status=201,
                            content_type="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/tickets/nearby")
@endpoint(summary="Open public tickets near a point (\"same problem?\"), no identities", tag=TAG,
          query=NearbyQuery, response=PublicTicketList, errors=(404,))
async def nearby(request: Request, query: NearbyQuery) -> PublicTicketList:
    return PublicTicketList(items=await queries.public_near(
        lng=query.lng, lat=query.lat, crs=query.crs, radius_m=query.radius_m,
        category_code=query.category, open_only=True))


@bp.get("/tickets/public")
@endpoint(summary="Public tickets near a point for the map, no identities", tag=TAG,
          query=NearbyQuery, response=PublicTicketList, errors=(404,))
async def public(request: Request, query: NearbyQuery) -> PublicTicketList:
    return PublicTicketList(items=await queries.public_near(
        lng=query.lng, lat=query.lat, crs=query.crs, radius_m=query.radius_m,
        category_code=query.category, open_only=False))


@bp.get("/tickets/mine")
@endpoint(summary="Tickets I reported or follow", tag=TAG, query=PageQuery, response=TicketPage)
async def mine(request: Request, query: PageQuery) -> TicketPage:
    return await queries.list_mine(user=request.ctx.user, limit=query.limit, cursor=query.cursor)


@bp.get("/tickets/queue")
@endpoint(summary="The dispatcher's queue: new, returned, unroutable, handled, extensions",
          tag=TAG, query=QueueQuery, response=TicketPage, errors=(403,))
async def queue(request: Request, query: QueueQuery) -> TicketPage:
    return await queries.dispatcher_queue(user=request.ctx.user, limit=query.limit,
                                          cursor=query.cursor)


@bp.get("/tickets")
@endpoint(summary="Tickets in my area (staff), with deadline colours", tag=TAG,
          query=StaffListQuery, response=TicketPage, errors=(403, 404))
async def staff_list(request: Request, query: StaffListQuery) -> TicketPage:
    return await queries.list_for_staff(user=request.ctx.user, query=query)


@bp.get("/tickets/<ticket_id:int>")
@endpoint(summary="A ticket with its timeline and photos", tag=TAG, response=TicketDetail,
          errors=(404,))
async def get_ticket(request: Request, ticket_id: int) -> TicketDetail:
    return await queries.detail(user=request.ctx.user, ticket_id=ticket_id)


@bp.post("/tickets/<ticket_id:int>/follow")
@IDEMPOTENCY
@endpoint(summary="Me too: follow an open ticket instead of reporting it again", tag=TAG,
          response=TicketOut, errors=(404, 409, 422))
async def follow(request: Request, ticket_id: int) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        ticket = await actions.follow(actor=request.ctx.user, ticket_id=ticket_id)
        return 200, (await queries.ticket_outs(request.ctx.user, [ticket]))[0].model_dump(
            mode="json")

    return await answer_once(request, None, run)


@bp.post("/tickets/<ticket_id:int>/release-content")
@IDEMPOTENCY
@endpoint(summary="Clear a description held by the content check (staff review)", tag=TAG,
          response=TicketOut, errors=(404, 422))
async def release_content(request: Request, ticket_id: int) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        ticket = await actions.release_content(actor=request.ctx.user, ticket_id=ticket_id)
        return 200, (await queries.ticket_outs(request.ctx.user, [ticket]))[0].model_dump(
            mode="json")

    return await answer_once(request, None, run)


@bp.post("/tickets/<ticket_id:int>/withdraw")
@IDEMPOTENCY
@endpoint(summary="Withdraw my report (撤回) before it is accepted; it ends as rejected",
          tag=TAG, body=WithdrawIn, response=TicketDetail, errors=ACTION_ERRORS)
async def withdraw(request: Request, ticket_id: int, body: WithdrawIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.withdraw(
        actor=request.ctx.user, ticket_id=ticket_id, reason=body.reason, version=body.version))


@bp.post("/tickets/<ticket_id:int>/info")
@IDEMPOTENCY
@endpoint(summary="Add a note and/or photos to my open report (补充信息), on its timeline",
          tag=TAG, body=AddInfoIn, response=TicketDetail, errors=(*ACTION_ERRORS, 422))
async def add_info(request: Request, ticket_id: int, body: AddInfoIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.add_info(
        actor=request.ctx.user, ticket_id=ticket_id, note=body.note, media_ids=body.media_ids,
        version=body.version))


# --- dispatcher actions -----------------------------------------------------------------------

@bp.post("/tickets/<ticket_id:int>/accept")
@IDEMPOTENCY
@endpoint(summary="Accept (立案); routed tickets are dispatched at once", tag=TAG,
          body=VersionIn, response=TicketDetail, errors=ACTION_ERRORS)
async def accept(request: Request, ticket_id: int, body: VersionIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.accept(
        actor=request.ctx.user, ticket_id=ticket_id, version=body.version))


@bp.post("/tickets/<ticket_id:int>/reject")
@IDEMPOTENCY
@endpoint(summary="Reject (不予立案) with a reason", tag=TAG, body=ReasonIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def reject(request: Request, ticket_id: int, body: ReasonIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.reject(
        actor=request.ctx.user, ticket_id=ticket_id, reason=body.reason, version=body.version))


@bp.post("/tickets/<ticket_id:int>/dispatch")
@IDEMPOTENCY
@endpoint(summary="Dispatch by hand to a unit", tag=TAG, body=DispatchIn, response=TicketDetail,
          errors=ACTION_ERRORS)
async def dispatch(request: Request, ticket_id: int, body: DispatchIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.dispatch(
        actor=request.ctx.user, ticket_id=ticket_id, unit_id=body.unit_id, version=body.version))


@bp.post("/tickets/<ticket_id:int>/recategorise")
@IDEMPOTENCY
@endpoint(summary="Change the category; routing runs again", tag=TAG, body=RecategoriseIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def recategorise(request: Request, ticket_id: int, body: RecategoriseIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.recategorise(
        actor=request.ctx.user, ticket_id=ticket_id, category_code=body.category_code,
        version=body.version))


@bp.post("/tickets/<ticket_id:int>/merge")
@IDEMPOTENCY
@endpoint(summary="Merge a duplicate into another ticket", tag=TAG, body=MergeIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def merge(request: Request, ticket_id: int, body: MergeIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.merge(
        actor=request.ctx.user, ticket_id=ticket_id, duplicate_of=body.duplicate_of,
        version=body.version))


@bp.post("/tickets/<ticket_id:int>/verify")
@IDEMPOTENCY
@endpoint(summary="Verify on site (核查): pass closes, fail sends it back to the same unit",
          tag=TAG, body=VerifyIn, response=TicketDetail, errors=ACTION_ERRORS)
async def verify(request: Request, ticket_id: int, body: VerifyIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.verify(
        actor=request.ctx.user, ticket_id=ticket_id, passed=body.passed, note=body.note,
        media_ids=body.media_ids, version=body.version))


@bp.post("/tickets/<ticket_id:int>/close")
@IDEMPOTENCY
@endpoint(summary="Close (结案) without a field check", tag=TAG, body=VersionIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def close(request: Request, ticket_id: int, body: VersionIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.close(
        actor=request.ctx.user, ticket_id=ticket_id, note="", version=body.version))


@bp.post("/tickets/<ticket_id:int>/rework")
@IDEMPOTENCY
@endpoint(summary="Send a closed ticket back for rework (重办)", tag=TAG, body=ReasonIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def rework(request: Request, ticket_id: int, body: ReasonIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.rework(
        actor=request.ctx.user, ticket_id=ticket_id, reason=body.reason, version=body.version))


@bp.post("/tickets/<ticket_id:int>/extensions/<extension_id:int>/approve")
@IDEMPOTENCY
@endpoint(summary="Approve an extension request: the deadline moves", tag=TAG, body=VersionIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def approve_extension(request: Request, ticket_id: int, extension_id: int,
                            body: VersionIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.decide_extension(
        actor=request.ctx.user, ticket_id=ticket_id, extension_id=extension_id, approve=True,
        reason="", version=body.version))


@bp.post("/tickets/<ticket_id:int>/extensions/<extension_id:int>/refuse")
@IDEMPOTENCY
@endpoint(summary="Refuse an extension request", tag=TAG, body=ReasonIn, response=TicketDetail,
          errors=ACTION_ERRORS)
async def refuse_extension(request: Request, ticket_id: int, extension_id: int,
                           body: ReasonIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.decide_extension(
        actor=request.ctx.user, ticket_id=ticket_id, extension_id=extension_id, approve=False,
        reason=body.reason, version=body.version))


# --- grid workers and handlers ------------------------------------------------------------------


@bp.get("/tasks")
@endpoint(summary="My task pool (cells / unit), soonest deadline first; or my claimed tasks",
          tag=TASKS, query=TaskQuery, response=TicketPage, errors=(403,))
async def tasks(request: Request, query: TaskQuery) -> TicketPage:
    return await queries.list_tasks(user=request.ctx.user, scope_name=query.scope,
                                    limit=query.limit, cursor=query.cursor)


@bp.post("/tasks/<ticket_id:int>/claim")
@IDEMPOTENCY
@endpoint(summary="Claim a task: exactly one of simultaneous claims wins (409 already_claimed)",
          tag=TASKS, body=VersionIn, response=TicketDetail, errors=ACTION_ERRORS)
async def claim(request: Request, ticket_id: int, body: VersionIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.claim(
        actor=request.ctx.user, ticket_id=ticket_id, version=body.version), written=True)


@bp.post("/tasks/<ticket_id:int>/release")
@IDEMPOTENCY
@endpoint(summary="Release a claimed task back to the pool", tag=TASKS, body=VersionIn,
          response=TicketDetail, errors=ACTION_ERRORS)
async def release(request: Request, ticket_id: int, body: VersionIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.release(
        actor=request.ctx.user, ticket_id=ticket_id, version=body.version))


@bp.post("/tasks/<ticket_id:int>/return")
@IDEMPOTENCY
@endpoint(summary="Return to dispatch as not ours (退回), with a reason", tag=TASKS,
          body=ReasonIn, response=TicketDetail, errors=ACTION_ERRORS)
async def return_task(request: Request, ticket_id: int, body: ReasonIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.return_to_dispatch(
        actor=request.ctx.user, ticket_id=ticket_id, reason=body.reason, version=body.version))


@bp.post("/tasks/<ticket_id:int>/handle")
@IDEMPOTENCY
@endpoint(summary="Mark handled with a note and after-photos; verification follows", tag=TASKS,
          body=HandleIn, response=TicketDetail, errors=(*ACTION_ERRORS, 422))
async def handle(request: Request, ticket_id: int, body: HandleIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: actions.handle(
        actor=request.ctx.user, ticket_id=ticket_id, note=body.note, media_ids=body.media_ids,
        version=body.version), written=True)


@bp.post("/tasks/<ticket_id:int>/extension")
@IDEMPOTENCY
@endpoint(summary="Request more time (延期); the deadline moves only when approved", tag=TASKS,
          body=ExtensionIn, response=ExtensionOut, status=201, errors=ACTION_ERRORS)
async def extension(request: Request, ticket_id: int, body: ExtensionIn) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        row = await actions.request_extension(
            actor=request.ctx.user, ticket_id=ticket_id, reason=body.reason,
            extra_value=body.extra_value, extra_unit=body.extra_unit, version=body.version)
        out = ExtensionOut(id=row.id, status=row.status, reason=row.reason,
                           extra_value=row.extra_value, extra_unit=row.extra_unit,
                           created_at=row.created_at)
        return 201, out.model_dump(mode="json")

    return await answer_once(request, body, run)


@bp.post("/tasks/patrol")
@IDEMPOTENCY
@endpoint(summary="A grid worker's patrol report: accepted and routed at once", tag=TASKS,
          body=ReportCreate, response=TicketDetail, status=201, errors=(403, 404, 409))
async def patrol(request: Request, body: ReportCreate) -> HTTPResponse:
    detail = await intake.create_patrol_report(
        actor=request.ctx.user, body=body, idempotency_key=request.headers.get("idempotency-key"))
    return json(detail.model_dump(mode="json"), status=201)


@bp.post("/tasks/self-dispose")
@IDEMPOTENCY
@endpoint(summary="Report and handle at once (自行处置): closed immediately", tag=TASKS,
          body=SelfDisposeCreate, response=TicketDetail, status=201, errors=(403, 404, 409))
async def self_dispose(request: Request, body: SelfDisposeCreate) -> HTTPResponse:
    async def run() -> idempotency.Answer:
        ticket = await intake.self_dispose(actor=request.ctx.user, body=body)
        detail = await queries.detail(user=request.ctx.user, ticket_id=ticket.id)
        return 201, detail.model_dump(mode="json")

    return await answer_once(request, body, run)
