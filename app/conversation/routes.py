"""Conversation API: progress notes and requests for information on a ticket; reply templates."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from app.conversation import service
from app.conversation.schemas import (
    ReplyTemplateIn,
    ReplyTemplateList,
    ReplyTemplateOut,
    ReplyTemplatePatch,
    ReplyTemplateQuery,
    StaffNoteIn,
)
from app.core.api import endpoint
from app.tickets.routes import ACTION_ERRORS, IDEMPOTENCY, act_and_answer
from app.tickets.schemas import TicketDetail

bp = Blueprint("conversation")
TAG = "conversation"


@bp.post("/tickets/<ticket_id:int>/notes")
@IDEMPOTENCY
@endpoint(summary="进展说明: a progress note the reporter and followers read (and are told of)",
          tag=TAG, body=StaffNoteIn, response=TicketDetail, errors=ACTION_ERRORS)
async def post_note(request: Request, ticket_id: int, body: StaffNoteIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: service.post_note(
        actor=request.ctx.user, ticket_id=ticket_id, note=body.note, version=body.version))


@bp.post("/tickets/<ticket_id:int>/info-requests")
@IDEMPOTENCY
@endpoint(summary="请求补充信息: ask the reporter for more; they answer with POST /tickets/{id}/info",
          tag=TAG, body=StaffNoteIn, response=TicketDetail, errors=ACTION_ERRORS)
async def ask_info(request: Request, ticket_id: int, body: StaffNoteIn) -> HTTPResponse:
    return await act_and_answer(request, ticket_id, body, lambda: service.ask_info(
        actor=request.ctx.user, ticket_id=ticket_id, note=body.note, version=body.version))


@bp.get("/reply-templates")
@endpoint(summary="常用语: every template (staff), or those fitting a ticket, most specific first",
          tag=TAG, query=ReplyTemplateQuery, response=ReplyTemplateList, errors=(403, 404))
async def templates(request: Request, query: ReplyTemplateQuery) -> ReplyTemplateList:
    return await service.templates(viewer=request.ctx.user, query=query)


@bp.post("/reply-templates")
@endpoint(summary="Add a reply template (admins, dispatchers)", tag=TAG, body=ReplyTemplateIn,
          response=ReplyTemplateOut, status=201, errors=(403, 404))
async def create_template(request: Request, body: ReplyTemplateIn) -> ReplyTemplateOut:
    return await service.create_template(actor=request.ctx.user, body=body)


@bp.patch("/reply-templates/<template_id:int>")
@endpoint(summary="Change a reply template's text or retire it (admins, dispatchers)", tag=TAG,
          body=ReplyTemplatePatch, response=ReplyTemplateOut, errors=(403, 404))
async def update_template(request: Request, template_id: int,
                          body: ReplyTemplatePatch) -> ReplyTemplateOut:
    return await service.update_template(actor=request.ctx.user, template_id=template_id,
                                         body=body)
