"""上报/升级 and 主办/协办 rules (issue 15 item 3, docs/supervision.md).

Escalation: a case goes one level up the area tree (grid → community → street → district).
Whoever holds the task (the unit's handlers, the cell's grid workers of a grid-team task) or
staff of the current level (`AT_LEVEL`, their grant covering that level's area) asks; the
ticket leaves its unit and waits, `escalated`, in the next level's queue. Staff of that level
(`ACCEPTORS`, a grant covering the new area) accept it by dispatching it to a unit serving that
area; the ticket's deadline is then reset to the level's limit (`ESCALATION_LIMIT_*_HOURS`,
working hours from the acceptance). Every step passes the ticket door, so of an escalation and
a handling (or two acceptances) racing, one wins and the other gets 409.

Co-handling: a dispatcher adds co-handling units (协办) to a dispatched ticket; each co-unit's
handler records its part (note and photos); the lead unit's `handle` is refused
(`co_handling_pending`) until every co-unit reported or the dispatcher waived it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError

from app.accounts.models import Role, User
from app.accounts.scope import Scope, scope_of
from app.areas import service as areas
from app.areas.models import Area
from app.catalog import service as catalog
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.paging import BY_NEWEST, Ordering, keyset_page
from app.core.paths import under_any
from app.escalation import notices
from app.escalation.models import CoHandling, CoHandlingStatus, Escalation, EscalationStatus
from app.escalation.schemas import (
    CoHandlingOut,
    CoHandlingPage,
    EscalationOut,
    EscalationPage,
)
from app.media import service as media_service
from app.media.models import MediaPurpose
from app.settings import current as current_settings
from app.tickets import workflow
from app.tickets.access import FOLLOWER, get_visible_or_raise, on_duty, ticket_roles
from app.tickets.actions import dispatch_effect
from app.tickets.deadlines import compute_deadline
from app.tickets.door import Change, transition
from app.tickets.models import MediaStage, RoutedBy, Ticket, TicketLevel
from app.units import service as unit_service

UP: dict[TicketLevel, TicketLevel] = {TicketLevel.GRID: TicketLevel.COMMUNITY, TicketLevel.COMMUNITY: TicketLevel.STREET,
                          TicketLevel.STREET: TicketLevel.DISTRICT}
DEPTH = {TicketLevel.DISTRICT: 0, TicketLevel.STREET: 1, TicketLevel.COMMUNITY: 2, TicketLevel.GRID: 3}
# Staff of the current level who may ask, besides whoever holds the task.
AT_LEVEL: dict[TicketLevel, tuple[Role, ...]] = {
    TicketLevel.GRID: (Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.DISPATCHER),
    TicketLevel.COMMUNITY: (Role.COMMUNITY_STAFF, Role.DISPATCHER),
    TicketLevel.STREET: (Role.COMMUNITY_STAFF, Role.DISPATCHER),
    TicketLevel.DISTRICT: (Role.DISPATCHER,),
}
# Who accepts at each level: a grant covering the level's area.
ACCEPTORS: dict[TicketLevel, tuple[Role, ...]] = {
    TicketLevel.COMMUNITY: (Role.COMMUNITY_STAFF, Role.DISPATCHER),
    TicketLevel.STREET: (Role.COMMUNITY_STAFF, Role.DISPATCHER),
    TicketLevel.DISTRICT: (Role.DISPATCHER,),
}
OLDEST_FIRST = Ordering.of("id")


def level_path(area_path: str, level: TicketLevel) -> str | None:
    """The path of the area at `level` above a cell's path; None when the path is too short."""
    codes = [c for c in area_path.split("/") if c]
    depth = DEPTH[level]
    if len(codes) <= depth:
        return None
    return "/" + "/".join(codes[:depth + 1]) + "/"


def limit_hours(level: TicketLevel) -> int:
    """The level's time limit in working hours (settings `ESCALATION_LIMIT_<LEVEL>_HOURS`)."""
    settings = current_settings()
    hours = {TicketLevel.COMMUNITY: settings.escalation_limit_community_hours,
             TicketLevel.STREET: settings.escalation_limit_street_hours,
             TicketLevel.DISTRICT: settings.escalation_limit_district_hours}.get(level, 0)
    return max(1, hours)


async def _numbers(ids: Sequence[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    return dict(cast(list[tuple[int, str | None]], await Ticket.filter(
        id__in=list(set(ids))).values_list("id", "number")))


async def _out(row: Escalation) -> EscalationOut:
    return EscalationOut.from_model(row, (await _numbers([row.ticket_id])).get(row.ticket_id))


async def _unit_kind(ticket: Ticket) -> str | None:
    if ticket.unit_id is None:
        return None
    unit = (await unit_service.units_by_id([ticket.unit_id])).get(ticket.unit_id)
    return unit.kind if unit is not None else None


async def _asker_role(actor: User, ticket: Ticket) -> str:
    """The role `actor` asks in: holding the task, else staff of the current level; or 403."""
    scope = scope_of(actor)
    if (ticket.status in workflow.WORKED_STATUSES
            and on_duty(ticket, scope, await _unit_kind(ticket))
            and ticket.assignee_id in (None, actor.id)):
        return (Role.HANDLER if ticket.unit_id in scope.unit_ids.get(Role.HANDLER, ())
                else Role.GRID_WORKER)
    here = level_path(ticket.area_path, TicketLevel(ticket.level))
    for role in AT_LEVEL[TicketLevel(ticket.level)]:
        if here is not None and scope.covers(here, role):
            return role
    raise Forbidden("只有承办人员或本层级工作人员可以上报", code="not_your_level")


async def escalate(*, actor: User, ticket_id: int, reason: str,
                   version: int | None = None) -> EscalationOut:
    """上报/升级: one level up; the ticket waits, without a unit, in that level's queue."""
    ticket, _ = await get_visible_or_raise(user=actor, ticket_id=ticket_id)
    role = await _asker_role(actor, ticket) if ticket_roles(actor, ticket) else None
    created: list[Escalation] = []

    async def effect(ticket: Ticket, change: Change) -> None:
        current = TicketLevel(ticket.level)
        nxt = UP.get(current)
        if nxt is None:
            raise Conflict("案件已在区级办理，不能继续上报", code="top_level")
        target = level_path(ticket.area_path, nxt) if ticket.area_path else None
        area = await Area.filter(path=target).first() if target else None
        if target is None or area is None:
            raise Conflict("案件不在任何网格内，不能逐级上报", code="no_area")
        asked_as = await _asker_role(actor, ticket)
        await Escalation.filter(ticket_id=ticket.id, status=EscalationStatus.PENDING).update(
            status=EscalationStatus.PASSED_UP, pending_key=None)
        row = await Escalation.create(
            ticket_id=ticket.id, from_level=current, to_level=nxt, area_id=area.id,
            area_path=target, from_unit_id=ticket.unit_id, reason=reason, requested_by=actor,
            requester_role=asked_as, pending_key=str(ticket.id))
        created.append(row)
        change.fields.update(level=nxt, level_area_id=area.id, unit_id=None,
                             assignee_id=None, claimed_at=None)
        change.data.update(escalation_id=row.id, from_level=current.value, to_level=nxt.value,
                           area_code=area.code, from_unit_id=ticket.unit_id)

    try:
        await transition(ticket_id=ticket_id, action="escalate", actor=actor, note=reason,
                         acting_as=role, effect=effect, expected_version=version)
    except IntegrityError:  # another escalation of this ticket won the pending key
        raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version") from None
    if not created:  # a retry of the caller's own escalation (same version): the door kept it
        row = await Escalation.filter(ticket_id=ticket_id, requested_by_id=actor.id
                                      ).order_by("-id").first()
        if row is None:
            raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version")
        return await _out(row)
    return await _out(created[0])


def _acceptor_role(scope: Scope, row: Escalation) -> str | None:
    return next((r for r in ACCEPTORS[TicketLevel(row.to_level)] if scope.covers(row.area_path, r)),
                None)


async def _unit_serves(unit_id: int, area_path: str) -> None:
    """422 unless the unit is active and serves the level's area (inside it, or above it)."""
    unit = (await unit_service.units_by_id([unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise Invalid("处置单位不存在或已停用", code="unknown_unit")
    if unit.area_id is None:
        return  # a city-wide department serves every area
    area = (await areas.areas_by_id([unit.area_id])).get(unit.area_id)
    if area is not None and not (area.path.startswith(area_path)
                                 or area_path.startswith(area.path)):
        raise Invalid("该单位不服务于上报到的区域", code="unit_outside_level")


async def accept(*, actor: User, escalation_id: int, unit_id: int, note: str) -> EscalationOut:
    """受理上报: the level's staff dispatch the case to a unit; the level's deadline starts."""
    row = await Escalation.get_or_none(id=escalation_id)
    if row is None:
        raise NotFound("找不到该上报", code="escalation_not_found")
    role = _acceptor_role(scope_of(actor), row)
    if role is None:
        ticket = await Ticket.get(id=row.ticket_id)
        if ticket_roles(actor, ticket) - {Role.RESIDENT} or row.requested_by_id == actor.id:
            raise Forbidden("只有上报到的层级的工作人员可以受理", code="not_your_level")
        raise NotFound("找不到该上报", code="escalation_not_found")
    if row.status != EscalationStatus.PENDING:
        raise Conflict("该上报已被处理", code="escalation_closed")
    await _unit_serves(unit_id, row.area_path)
    hours = limit_hours(TicketLevel(row.to_level))

    async def effect(ticket: Ticket, change: Change) -> None:
        now = datetime.now(UTC)
        deadline = await compute_deadline(now, value=hours, unit="work_hours")
        won = await Escalation.filter(id=row.id, status=EscalationStatus.PENDING).update(
            status=EscalationStatus.ACCEPTED, accepted_by_id=actor.id, accepted_at=now,
            unit_id=unit_id, deadline_at=deadline, pending_key=None)
        if not won:
            raise Conflict("该上报已被处理", code="escalation_closed")
        category = (await catalog.categories_by_id())[ticket.category_id]
        await dispatch_effect(unit_id, category)(ticket, change)
        change.fields.update(deadline_at=deadline, is_overdue=False,
                             routed_by=RoutedBy.DISPATCHER)
        change.data.update(escalation_id=row.id, level=row.to_level.value,
                           deadline_at=deadline.isoformat(), limit_hours=hours)
        if row.requested_by_id != actor.id:
            change.notify.append((notices.ACCEPTED, row.requested_by_id))

    try:
        await transition(ticket_id=row.ticket_id, action="accept_escalation", actor=actor,
                         note=note, acting_as=role, effect=effect)
    except AppError as exc:
        # Lost a race (another acceptor, or the ticket moved on): say which.
        if exc.status_code == 409:
            latest = await Escalation.get(id=row.id)
            if latest.status != EscalationStatus.PENDING:
                raise Conflict("该上报已被处理", code="escalation_closed") from None
        raise
    return await _out(await Escalation.get(id=row.id))


async def queue(*, user: User, level: str, limit: int, cursor: str | None) -> EscalationPage:
    """A level's queue: pending escalations to the areas the caller accepts for, oldest first."""
    to_level = TicketLevel(level)
    scope = scope_of(user)
    paths = scope.paths(*ACCEPTORS[to_level])
    if not paths:
        raise Forbidden("只有该层级的工作人员可以查看上报队列", code="not_allowed")
    qs = Escalation.filter(under_any("area_path", paths), to_level=to_level,
                           status=EscalationStatus.PENDING)
    rows, next_cursor = await keyset_page(qs, ordering=OLDEST_FIRST, limit=limit, cursor=cursor)
    numbers = await _numbers([r.ticket_id for r in rows])
    return EscalationPage(items=[EscalationOut.from_model(r, numbers.get(r.ticket_id))
                                 for r in rows], next=next_cursor)


async def _staff_view(user: User, ticket_id: int) -> Ticket:
    ticket, roles = await get_visible_or_raise(user=user, ticket_id=ticket_id)
    if not roles - {Role.RESIDENT, FOLLOWER}:
        raise Forbidden("仅工作人员可见", code="staff_only")
    return ticket


async def for_ticket(*, user: User, ticket_id: int, limit: int,
                     cursor: str | None) -> EscalationPage:
    """A ticket's escalations, newest first (staff who see the ticket)."""
    await _staff_view(user, ticket_id)
    rows, next_cursor = await keyset_page(Escalation.filter(ticket_id=ticket_id),
                                          ordering=BY_NEWEST, limit=limit, cursor=cursor)
    numbers = await _numbers([ticket_id])
    return EscalationPage(items=[EscalationOut.from_model(r, numbers.get(r.ticket_id))
                                 for r in rows], next=next_cursor)


# --- 主办/协办 ----------------------------------------------------------------------------------


async def _co_out(row: CoHandling) -> CoHandlingOut:
    return CoHandlingOut.from_model(row, (await _numbers([row.ticket_id])).get(row.ticket_id))


async def add_co_unit(*, actor: User, ticket_id: int, unit_id: int) -> CoHandlingOut:
    """A dispatcher adds a co-handling unit to a dispatched ticket; its handlers are told."""
    unit = (await unit_service.units_by_id([unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise Invalid("处置单位不存在或已停用", code="unknown_unit")
    created: list[CoHandling] = []

    async def effect(ticket: Ticket, change: Change) -> None:
        if ticket.unit_id == unit_id:
            raise Invalid("主办单位不能同时作为协办单位", code="lead_unit")
        if await CoHandling.filter(ticket_id=ticket.id, unit_id=unit_id).exists():
            raise Conflict("该单位已是本案的协办单位", code="co_unit_exists")
        created.append(await CoHandling.create(ticket_id=ticket.id, unit_id=unit_id,
                                               added_by=actor))
        change.data.update(co_unit_id=unit_id)
        members = await unit_service.handlers_of(unit_id)
        change.notify += [(notices.CO_UNIT_ADDED, uid) for uid in members]

    try:
        await transition(ticket_id=ticket_id, action="add_co_unit", actor=actor,
                         acting_as=Role.DISPATCHER, effect=effect)
    except IntegrityError:
        raise Conflict("该单位已是本案的协办单位", code="co_unit_exists") from None
    return await _co_out(created[0])


async def _co_row(ticket_id: int, unit_id: int) -> CoHandling:
    row = await CoHandling.get_or_none(ticket_id=ticket_id, unit_id=unit_id)
    if row is None:
        raise NotFound("该单位不是本案的协办单位", code="co_unit_not_found")
    return row


async def co_report(*, actor: User, ticket_id: int, unit_id: int, note: str,
                    media_ids: Sequence[int]) -> CoHandlingOut:
    """A co-unit's handler records its part (a note and photos), once."""
    if unit_id not in scope_of(actor).unit_ids.get(Role.HANDLER, ()):
        await _staff_view(actor, ticket_id)  # 404 for who may not see the ticket at all
        raise Forbidden("只有协办单位的处置人员可以反馈协办情况", code="not_co_unit")
    row = await _co_row(ticket_id, unit_id)
    if row.status != CoHandlingStatus.PENDING:
        raise Conflict("该协办单位已反馈或已被免除", code="co_part_done")
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.HANDLING)

    async def effect(ticket: Ticket, change: Change) -> None:
        won = await CoHandling.filter(id=row.id, status=CoHandlingStatus.PENDING).update(
            status=CoHandlingStatus.REPORTED, note=note, media_ids=[m.id for m in photos],
            done_by_id=actor.id, done_at=datetime.now(UTC))
        if not won:
            raise Conflict("该协办单位已反馈或已被免除", code="co_part_done")
        change.media, change.stage = photos, MediaStage.HANDLING
        change.data.update(co_unit_id=unit_id)

    await transition(ticket_id=ticket_id, action="co_report", actor=actor, note=note,
                     acting_as=Role.HANDLER, extra_roles=frozenset({workflow.CO_HANDLER}),
                     effect=effect)
    return await _co_out(await CoHandling.get(id=row.id))


async def waive_co_unit(*, actor: User, ticket_id: int, unit_id: int,
                        reason: str) -> CoHandlingOut:
    """The dispatcher waives a co-unit's part, so that the lead unit may finish."""
    row = await _co_row(ticket_id, unit_id)

    async def effect(ticket: Ticket, change: Change) -> None:
        won = await CoHandling.filter(id=row.id, status=CoHandlingStatus.PENDING).update(
            status=CoHandlingStatus.WAIVED, note=reason, done_by_id=actor.id,
            done_at=datetime.now(UTC))
        if not won:
            raise Conflict("该协办单位已反馈或已被免除", code="co_part_done")
        change.data.update(co_unit_id=unit_id)

    await transition(ticket_id=ticket_id, action="waive_co_unit", actor=actor, note=reason,
                     acting_as=Role.DISPATCHER, effect=effect)
    return await _co_out(await CoHandling.get(id=row.id))


async def co_units_of(*, user: User, ticket_id: int) -> CoHandlingPage:
    """A ticket's co-handling units and their parts (staff who see it, the co-units)."""
    units = scope_of(user).unit_ids.get(Role.HANDLER, ())
    if not await CoHandling.filter(ticket_id=ticket_id, unit_id__in=list(units)).exists():
        await _staff_view(user, ticket_id)
    rows = await CoHandling.filter(ticket_id=ticket_id).order_by("id")
    numbers = await _numbers([ticket_id])
    return CoHandlingPage(items=[CoHandlingOut.from_model(r, numbers.get(r.ticket_id))
                                 for r in rows])


async def co_tasks(*, user: User, limit: int, cursor: str | None,
                   pending_only: bool) -> CoHandlingPage:
    """协办任务: the parts the caller's units are asked for, newest first."""
    units = scope_of(user).unit_ids.get(Role.HANDLER, ())
    if not units:
        raise Forbidden("只有处置单位人员有协办任务", code="not_allowed")
    qs: Any = CoHandling.filter(unit_id__in=list(units))
    if pending_only:
        qs = qs.filter(status=CoHandlingStatus.PENDING)
    rows, next_cursor = await keyset_page(qs, ordering=BY_NEWEST, limit=limit, cursor=cursor)
    numbers = await _numbers([r.ticket_id for r in rows])
    return CoHandlingPage(items=[CoHandlingOut.from_model(r, numbers.get(r.ticket_id))
                                 for r in rows], next=next_cursor)


async def require_co_parts(ticket: Ticket) -> None:
    """The tickets' handle guard: 409 while a co-unit has neither reported nor been waived."""
    if await CoHandling.filter(ticket_id=ticket.id, status=CoHandlingStatus.PENDING).exists():
        raise Conflict("尚有协办单位未反馈协办情况，主办单位暂不能办结", code="co_handling_pending")
