"""Hotline cases: filed by a dispatcher for a caller or pushed by 12345 (one ticket per order),
the caller's details for staff, 回访 (the callback result), and 热线推送 (a case outside the
district's remit forwarded to an outside body, whose answer is recorded later)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.hotline import notices
from app.hotline.models import HotlineCase, HotlineForward
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
from app.integrations.models import Integration
from app.notifications.outbox import NoticeKind, enqueue, notice
from app.tickets import idempotency, intake
from app.tickets.access import get_visible_or_raise, ticket_roles
from app.tickets.door import Change, transition
from app.tickets.models import Ticket, TicketFollower, TicketSource
from app.tickets.workflow import Status

log = logging.getLogger("gongzhi.hotline")
# Who sees a caller's name and phone: the command centre and the community's staff.
SEES_CALLER = frozenset({Role.DISPATCHER, Role.COMMUNITY_STAFF})


async def _out(case: HotlineCase, ticket: Ticket | None = None) -> HotlineCaseOut:
    ticket = ticket or await Ticket.get(id=case.ticket_id)
    codes: list[Any] = []
    if case.integration_id is not None:
        codes = list(await Integration.filter(id=case.integration_id)
                     .values_list("code", flat=True))
    return HotlineCaseOut.from_model(case, number=ticket.number, status=ticket.status,
                                     integration=codes[0] if codes else None)


async def file_case(*, actor: User, body: HotlineCaseCreate) -> HotlineCaseOut:
    """热线工单: a dispatcher files the caller's problem; 立案 at once, then routed."""
    if not scope_of(actor).has(Role.DISPATCHER):
        raise Forbidden("只有坐席员可以登记热线工单", code="dispatcher_only")
    made: list[HotlineCase] = []

    async def attach(ticket: Ticket) -> None:
        made.append(await HotlineCase.create(
            ticket_id=ticket.id, caller_name=body.caller_name, caller_phone=body.caller_phone,
            wants_callback=body.wants_callback, filed_by_id=actor.id))

    ticket = await intake.file_for_caller(body=body.report(), source=TicketSource.HOTLINE,
                                          actor=actor, attach=attach)
    return await _out(made[0], ticket)


async def file_case_once(*, actor: User, body: HotlineCaseCreate,
                         key: str | None) -> idempotency.Replayable:
    """`file_case` under an Idempotency-Key (the API and the console's form): once per key."""
    async def run() -> idempotency.Answer:
        return 201, (await file_case(actor=actor, body=body)).model_dump(mode="json")

    return await idempotency.once(actor=actor, key=key, scope="POST /hotline/cases",
                                  body=body.model_dump(mode="json"), run=run)


async def _order(integration_id: int, order_number: str) -> HotlineCase | None:
    return await HotlineCase.get_or_none(integration_id=integration_id, order_number=order_number)


def _order_out(case: HotlineCase, ticket: Ticket, *, is_new: bool) -> HotlineOrderOut:
    return HotlineOrderOut(order_number=str(case.order_number), ticket_id=ticket.id,
                           ticket_number=ticket.number, status=ticket.status, is_new=is_new)


async def receive_order(*, verified: integrations.Verified,
                        body: HotlineOrderIn) -> HotlineOrderOut:
    """A 12345 order: a new ticket, or the ticket its earlier push made (never a second)."""
    integration_id = verified.integration.id
    known = await _order(integration_id, body.order_number)
    if known is None:
        made: list[HotlineCase] = []

        async def attach(ticket: Ticket) -> None:
            await integrations.remember(verified)  # a replayed request: 409, nothing written
            made.append(await HotlineCase.create(
                ticket_id=ticket.id, integration_id=integration_id,
                order_number=body.order_number, caller_name=body.caller_name,
                caller_phone=body.caller_phone, wants_callback=body.wants_callback))

        try:
            ticket = await intake.file_for_caller(body=body.report(), source=TicketSource.HOTLINE,
                                                  actor=None, attach=attach)
            return _order_out(made[0], ticket, is_new=True)
        except IntegrityError:
            # The same order, pushed again at the same moment, made its ticket first.
            known = await _order(integration_id, body.order_number)
            if known is None:
                raise
            log.info("12345 order %s pushed twice at once: one ticket", body.order_number)
    await integrations.remember(verified)
    return _order_out(known, await Ticket.get(id=known.ticket_id), is_new=False)


async def _case_for(viewer: User, ticket_id: int, allowed: frozenset[Role]
                    ) -> tuple[HotlineCase, Ticket]:
    ticket = await Ticket.get_or_none(id=ticket_id)
    case = await HotlineCase.get_or_none(ticket_id=ticket_id) if ticket else None
    roles = ticket_roles(viewer, ticket) if ticket is not None else set()
    if ticket is None or case is None or not roles:
        raise NotFound("找不到该热线工单", code="hotline_case_not_found")
    if not roles & allowed:
        raise Forbidden("无权查看来电人信息", code="caller_details_forbidden")
    return case, ticket


async def get_case(*, viewer: User, ticket_id: int) -> HotlineCaseOut:
    case, ticket = await _case_for(viewer, ticket_id, SEES_CALLER)
    return await _out(case, ticket)


async def record_callback(*, actor: User, ticket_id: int, body: CallbackIn) -> HotlineCaseOut:
    """回访: the caller's answer when called back after the case closed (recorded once)."""
    case, ticket = await _case_for(actor, ticket_id, frozenset({Role.DISPATCHER}))
    if ticket.status != Status.CLOSED:
        raise Conflict("案件结案后才能回访", code="not_closed", details={"status": ticket.status})
    done = await HotlineCase.filter(id=case.id, callback_at__isnull=True).update(
        callback_result=body.result, callback_note=body.note, callback_at=datetime.now(UTC),
        callback_by_id=actor.id)
    if not done:
        raise Conflict("该工单已回访", code="callback_recorded")
    return await _out(await HotlineCase.get(id=case.id), ticket)


# --- 热线推送: forwarding a case outside the district's remit --------------------------------

# Who reads a forward's record: the staff of the case's area, and its reporter.
SEES_FORWARD = frozenset({Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.SUPERVISOR, Role.ADMIN,
                          Role.RESIDENT})


async def _tell_reporter(ticket: Ticket, kind: NoticeKind, *, actor: User,
                         body_name: str) -> None:
    """The reporter's and followers' notice of a forward step (in the step's transaction)."""
    followers = cast(list[int], await TicketFollower.filter(ticket_id=ticket.id)
                     .values_list("user_id", flat=True))
    recipients = set(followers)
    if ticket.reporter_id is not None:
        recipients.add(ticket.reporter_id)
    recipients.discard(actor.id)
    payload = {"number": ticket.number, "action": kind.name, "status": Status.FORWARDED,
               "body": body_name}
    await enqueue([notice(kind, recipient_id=uid, ticket_id=ticket.id, payload=dict(payload))
                   for uid in sorted(recipients)])


async def _forward_out(ticket_id: int) -> ForwardOut:
    row = await HotlineForward.get(ticket_id=ticket_id)
    ticket = await Ticket.get(id=ticket_id)
    return ForwardOut.from_model(row, number=ticket.number, status=ticket.status)


async def forward(*, actor: User, ticket_id: int, body: ForwardIn) -> ForwardOut:
    """热线推送: a dispatcher forwards a case outside the district's remit to an outside body.

    Through the door (`forward`: its roles and statuses are the workflow table's); the record,
    the reporter's notice and, for a 12345 order, the status push commit with it.
    """
    async def effect(ticket: Ticket, change: Change) -> None:
        await HotlineForward.create(
            ticket_id=ticket.id, body_name=body.body_name, body_contact=body.body_contact,
            external_number=body.external_number, reason=body.reason,
            forwarded_by_id=actor.id, forwarded_at=datetime.now(UTC))
        change.data.update(body_name=body.body_name, external_number=body.external_number)
        # Off the unit and the clock: the case is no longer the district's to handle.
        change.fields.update(assignee_id=None, unit_id=None, claimed_at=None,
                             is_overdue=False)
        await _tell_reporter(ticket, notices.FORWARDED, actor=actor, body_name=body.body_name)

    await transition(ticket_id=ticket_id, action="forward", actor=actor, note=body.reason,
                     expected_version=body.version, effect=effect)
    return await _forward_out(ticket_id)


async def record_forward_reply(*, actor: User, ticket_id: int,
                               body: ForwardReplyIn) -> ForwardOut:
    """回复: a dispatcher records the outside body's answer (once); the reporter is told."""
    async def effect(ticket: Ticket, change: Change) -> None:
        row = await HotlineForward.get_or_none(ticket_id=ticket.id)
        if row is None:  # forwarded before forwards were recorded: nothing to answer
            raise NotFound("找不到该案件的推送记录", code="forward_not_found")
        done = await HotlineForward.filter(id=row.id, replied_at__isnull=True).update(
            reply=body.reply, replied_at=datetime.now(UTC), replied_by_id=actor.id)
        if not done:
            raise Conflict("外部单位的答复已记录", code="reply_recorded")
        change.data.update(body_name=row.body_name)
        await _tell_reporter(ticket, notices.FORWARD_REPLIED, actor=actor,
                             body_name=row.body_name)

    await transition(ticket_id=ticket_id, action="forward_reply", actor=actor, note=body.reply,
                     effect=effect)
    return await _forward_out(ticket_id)


async def get_forward(*, viewer: User, ticket_id: int) -> ForwardOut:
    """A forwarded case's record: staff of its area and its reporter (others who see the
    case: 403; a case not forwarded: 404)."""
    ticket, roles = await get_visible_or_raise(user=viewer, ticket_id=ticket_id)
    if not roles & SEES_FORWARD:
        raise Forbidden("无权查看推送记录", code="forward_forbidden")
    if not await HotlineForward.exists(ticket_id=ticket.id):
        raise NotFound("该案件没有推送记录", code="forward_not_found")
    return await _forward_out(ticket.id)


async def forward_of(*, viewer: User, ticket_id: int) -> ForwardOut | None:
    """`get_forward` for a page that shows it when there is one to show (else None)."""
    try:
        return await get_forward(viewer=viewer, ticket_id=ticket_id)
    except (NotFound, Forbidden):
        return None


# The console form's fields of a forward besides its reason.
FORWARD_FIELDS = ("body_name", "body_contact", "external_number")


async def forward_step(*, actor: User, ticket_id: int, action: str, version: int | None,
                       text: str, fields: Mapping[str, str]) -> None:
    """A forward (`text`: the reason) or the body's reply (`text`: the reply) from a form;
    input a model refuses is 422, as through the API."""
    try:
        if action == "forward":
            body = ForwardIn.model_validate({**{k: fields.get(k, "") for k in FORWARD_FIELDS},
                                             "reason": text, "version": version})
            await forward(actor=actor, ticket_id=ticket_id, body=body)
        else:
            await record_forward_reply(actor=actor, ticket_id=ticket_id,
                                       body=ForwardReplyIn.model_validate({"reply": text}))
    except ValidationError:
        raise Invalid("请填写接收的外部单位和理由（或外部单位的答复），并检查长度",
                      code="invalid_forward") from None
