"""Hotline cases: filed by a dispatcher for a caller or pushed by 12345 (one ticket per order),
the caller's details for staff, and 回访 (the callback result)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.core.errors import Conflict, Forbidden, NotFound
from app.hotline.models import HotlineCase
from app.hotline.schemas import (
    CallbackIn,
    HotlineCaseCreate,
    HotlineCaseOut,
    HotlineOrderIn,
    HotlineOrderOut,
)
from app.integrations import service as integrations
from app.integrations.models import Integration
from app.tickets import idempotency, intake
from app.tickets.access import ticket_roles
from app.tickets.models import Ticket, TicketSource
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
