"""Notifications API: my in-app messages, WeChat subscription consents, the admins' outbox."""

from __future__ import annotations

from sanic import Blueprint, Request

from app.core.api import endpoint
from app.core.paging import PageQuery
from app.notifications import service
from app.notifications.schemas import (
    MessageOut,
    MessagePage,
    OutboxOut,
    OutboxPage,
    OutboxQuery,
    QuotaList,
    ReadAllOut,
    SubscriptionIn,
    UnreadCount,
)

bp = Blueprint("notifications")
TAG = "messages"
ADMIN = "admin"


@bp.get("/messages")
@endpoint(summary="My messages (站内消息), newest first", tag=TAG, query=PageQuery,
          response=MessagePage)
async def list_messages(request: Request, query: PageQuery) -> MessagePage:
    return await service.list_messages(user=request.ctx.user, limit=query.limit,
                                       cursor=query.cursor)


@bp.get("/messages/unread-count")
@endpoint(summary="How many of my messages are unread (the badge)", tag=TAG,
          response=UnreadCount)
async def unread_count(request: Request) -> UnreadCount:
    return UnreadCount(unread=await service.unread_count(user=request.ctx.user))


@bp.post("/messages/<message_id:int>/read")
@endpoint(summary="Mark one of my messages read (repeating it changes nothing)", tag=TAG,
          response=MessageOut, errors=(404,))
async def mark_read(request: Request, message_id: int) -> MessageOut:
    return await service.mark_read(user=request.ctx.user, message_id=message_id)


@bp.post("/messages/read-all")
@endpoint(summary="Mark all my messages read", tag=TAG, response=ReadAllOut)
async def read_all(request: Request) -> ReadAllOut:
    return await service.mark_all_read(user=request.ctx.user)


@bp.post("/messages/subscriptions")
@endpoint(summary="Record a wx.requestSubscribeMessage tap: each accepted template buys one "
          "WeChat message", tag=TAG, body=SubscriptionIn, response=QuotaList,
          description="Send what the mini-program asked for (`template_ids`) and what the user "
          "accepted (`accepted`). WeChat allows one subscribe message per acceptance; without "
          "one left, notifications arrive in the in-app list only.")
async def subscribe(request: Request, body: SubscriptionIn) -> QuotaList:
    return await service.record_consent(user=request.ctx.user, template_ids=body.template_ids,
                                        accepted=body.accepted)


@bp.get("/messages/subscriptions")
@endpoint(summary="WeChat messages I still may receive, per template", tag=TAG,
          response=QuotaList)
async def my_quotas(request: Request) -> QuotaList:
    return await service.quotas(user=request.ctx.user)


@bp.get("/admin/outbox")
@endpoint(summary="Outbox rows (e.g. ?status=parked: given up after repeated failures)",
          tag=ADMIN, query=OutboxQuery, response=OutboxPage, errors=(403,))
async def list_outbox(request: Request, query: OutboxQuery) -> OutboxPage:
    return await service.list_outbox(user=request.ctx.user, status=query.status,
                                     limit=query.limit, cursor=query.cursor)


@bp.post("/admin/outbox/<outbox_id:int>/retry")
@endpoint(summary="Re-queue a parked outbox row now, with fresh attempts", tag=ADMIN,
          response=OutboxOut, errors=(403, 404, 409))
async def retry_outbox(request: Request, outbox_id: int) -> OutboxOut:
    return await service.retry(user=request.ctx.user, outbox_id=outbox_id)
