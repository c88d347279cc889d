"""督办 rules: who raises one, who hears of it, the ledgers, the automatic one, the closing.

A 督办 is recorded on the ticket's timeline by the door (action `supervise`, status kept), in
the transaction that writes the `Supervision` row and the notices. Supervisors (巡查督办员)
and dispatchers raise them on open tickets in their area; the overdue job raises one per
ticket and deadline; every open 督办 of a ticket closes when the ticket closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.core.errors import Forbidden, Invalid
from app.core.paging import BY_NEWEST, keyset_page
from app.core.paths import under_any
from app.supervision import notices
from app.supervision.models import Supervision, SupervisionLevel, SupervisionStatus
from app.supervision.schemas import (
    SupervisionIn,
    SupervisionLedgerQuery,
    SupervisionOut,
    SupervisionPage,
)
from app.tickets import workflow
from app.tickets.access import FOLLOWER, get_visible_or_raise
from app.tickets.deadlines import compute_deadline
from app.tickets.door import Change, transition
from app.tickets.models import Ticket
from app.units import service as unit_service

LEDGER_ROLES = (Role.SUPERVISOR, Role.DISPATCHER)
AUTO_NOTE = "案件已超过处置时限，系统自动督办"
AUTO_LIMIT = (1, "work_days")  # the automatic 督办's own deadline


class _AlreadyRaised(Exception):
    """Another job process raised this automatic 督办 first: write nothing."""


async def _holders(ticket: Ticket) -> list[int]:
    """Who must act: the claimant, else the unit's active handlers."""
    if ticket.assignee_id is not None:
        return [ticket.assignee_id]
    if ticket.unit_id is None:
        return []
    return list(await unit_service.handlers_of(ticket.unit_id))


async def _raise(*, ticket_id: int, actor: User | None, level: SupervisionLevel, note: str,
                 deadline_at: datetime | None, auto_key: str | None = None) -> Supervision:
    created: list[Supervision] = []

    async def effect(ticket: Ticket, change: Change) -> None:
        if auto_key is not None and await Supervision.filter(auto_key=auto_key).exists():
            raise _AlreadyRaised
        deadline = deadline_at or await compute_deadline(
            datetime.now(UTC), value=AUTO_LIMIT[0], unit=AUTO_LIMIT[1])
        row = await Supervision.create(
            ticket_id=ticket.id, unit_id=ticket.unit_id, area_path=ticket.area_path,
            level=level, note=note, deadline_at=deadline, raised_by=actor, auto_key=auto_key)
        created.append(row)
        change.data.update(supervision_id=row.id, level=level.value,
                           deadline_at=deadline.isoformat())
        change.notify += [(notices.RAISED, uid) for uid in dict.fromkeys(await _holders(ticket))]

    await transition(ticket_id=ticket_id, action="supervise", actor=actor, note=note,
                     effect=effect)
    return created[0]


async def raise_supervision(*, actor: User, ticket_id: int, body: SupervisionIn) -> SupervisionOut:
    """A supervisor or dispatcher raises a 督办 on an open ticket in their area."""
    if body.deadline_at <= datetime.now(UTC):
        raise Invalid("督办时限须晚于当前时间", code="deadline_in_past")
    row = await _raise(ticket_id=ticket_id, actor=actor, level=body.level, note=body.note,
                       deadline_at=body.deadline_at)
    number = await Ticket.filter(id=ticket_id).first().values_list("number", flat=True)
    return SupervisionOut.from_model(row, cast(str | None, number))


async def _page(qs: Any, limit: int, cursor: str | None) -> SupervisionPage:
    rows, next_cursor = await keyset_page(qs, ordering=BY_NEWEST, limit=limit, cursor=cursor)
    ids = {r.ticket_id for r in rows}
    numbers = dict(cast(list[tuple[int, str | None]], await Ticket.filter(
        id__in=list(ids)).values_list("id", "number"))) if ids else {}
    return SupervisionPage(items=[SupervisionOut.from_model(r, numbers.get(r.ticket_id))
                                  for r in rows], next=next_cursor)


async def list_for_ticket(*, user: User, ticket_id: int, limit: int,
                          cursor: str | None) -> SupervisionPage:
    """A ticket's 督办, newest first: for staff who see the ticket (residents: 403)."""
    _, roles = await get_visible_or_raise(user=user, ticket_id=ticket_id)
    if not roles - {Role.RESIDENT, FOLLOWER}:
        raise Forbidden("督办信息仅工作人员可见", code="staff_only")
    return await _page(Supervision.filter(ticket_id=ticket_id), limit, cursor)


async def ledger(*, user: User, query: SupervisionLedgerQuery) -> SupervisionPage:
    """督办台账: supervisors and dispatchers see their area's, handlers their units'."""
    scope = scope_of(user)
    units = scope.unit_ids.get(Role.HANDLER, ())
    if not scope.has(*LEDGER_ROLES) and not units:
        raise Forbidden("只有督办员、派遣员和处置单位可以查看督办台账", code="not_allowed")
    visible = Q(id=0)
    if paths := scope.paths(*LEDGER_ROLES):
        visible |= under_any("area_path", paths)
    if scope.has(Role.DISPATCHER):
        visible |= Q(area_path="")  # unlocated tickets are every dispatcher's
    if units:
        visible |= Q(unit_id__in=list(units))
    qs = Supervision.filter(visible)
    if query.unit is not None:
        qs = qs.filter(unit_id=query.unit)
    if query.status != "all":
        qs = qs.filter(status=query.status)
    return await _page(qs, query.limit, query.cursor)


def auto_key(ticket_id: int, deadline_at: datetime) -> str:
    """One automatic 督办 per ticket and deadline (an extension or rework earns a new one)."""
    return f"overdue:{ticket_id}:{int(deadline_at.timestamp())}"


async def raise_overdue(tickets: Sequence[Ticket]) -> int:
    """The automatic 督办 of each overdue ticket that has none for its deadline; how many."""
    keys = {t.id: auto_key(t.id, t.deadline_at) for t in tickets if t.deadline_at is not None}
    if not keys:
        return 0
    done = set(await Supervision.filter(auto_key__in=list(keys.values()))
               .values_list("auto_key", flat=True))
    raised = 0
    for ticket_id, key in keys.items():
        if key in done:
            continue
        try:
            await _raise(ticket_id=ticket_id, actor=None, level=SupervisionLevel.NORMAL,
                         note=AUTO_NOTE, deadline_at=None, auto_key=key)
        except (_AlreadyRaised, IntegrityError):
            continue  # another job process raised it first
        raised += 1
    return raised


async def close_with_ticket(before: Ticket | None, after: Ticket) -> None:
    """A door listener: the ticket reached a final status, so its open 督办 close."""
    if after.status not in workflow.FINAL_STATUSES:
        return
    if before is not None and before.status == after.status:
        return
    await Supervision.filter(ticket_id=after.id, status=SupervisionStatus.OPEN).update(
        status=SupervisionStatus.CLOSED, closed_at=datetime.now(UTC))
