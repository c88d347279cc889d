"""Tickets: report, route, and move through the lifecycle — every status change through `transition`.

`transition()` is the one door: it checks the workflow table and the actor's scope, applies the
change with a version check (a stale or concurrent write gets 409), writes the TicketEvent and
the outbox rows, all in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.service import ROLE_LABELS, Scope, area_ref, scope_of
from app.areas import service as areas
from app.areas.geo import gcj02_to_wgs84
from app.areas.models import Area
from app.catalog import service as catalog
from app.catalog.models import Category
from app.core import config_cache, workcalendar
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.paths import under, under_any
from app.media import service as media_service
from app.media.models import Media, MediaPurpose
from app.notifications.models import Outbox
from app.routing import service as routing
from app.stats import service as stats
from app.tickets import workflow
from app.tickets.models import (
    CalendarOverride,
    ExtensionRequest,
    ExtensionStatus,
    IdempotencyRecord,
    MediaStage,
    RoutedBy,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketMedia,
    TicketSource,
    Urgency,
)
from app.tickets.schemas import (
    CategoryRef,
    EventOut,
    Point,
    PublicTicketOut,
    ReportCreate,
    SelfDisposeCreate,
    TicketDetail,
    TicketMediaOut,
    TicketOut,
    TicketPage,
    UnitRef,
)
from app.tickets.workflow import Status
from app.units import service as unit_service
from app.units.models import Unit, UnitKind

log = logging.getLogger("gongzhi.tickets")

SYSTEM = workflow.SYSTEM
NEARBY_DAYS = 30
# Who hears about what (the outbox rows a transition writes).
NOTIFY_REPORTER = {"accept", "auto_accept", "reject", "dispatch", "handle", "verify_pass", "close",
                   "merge"}
# Stage timestamps the statistics read, stamped by the door whichever action gets there.
STATUS_STAMPS = {Status.ACCEPTED: "accepted_at", Status.REJECTED: "rejected_at"}
ACTION_LABELS = {t.action: t.label for t in workflow.TRANSITIONS.values()}


class TicketError(AppError):
    """A workflow refusal rendered in the envelope (status set per code)."""


_TRANSITION_STATUS = {"unknown_action": 400, "role_not_allowed": 403, "invalid_transition": 409}


def _refusal(error: workflow.TransitionError) -> AppError:
    exc = TicketError(error.message, code=error.code)
    exc.status_code = _TRANSITION_STATUS.get(error.code, 409)
    return exc


# --- who may do what ----------------------------------------------------------------------


def ticket_roles(user: User, ticket: Ticket, scope: Scope | None = None) -> set[str]:
    """The roles `user` holds *for this ticket* (scope applied); empty = may not see it."""
    scope = scope or scope_of(user)
    roles: set[str] = set()
    path = ticket.area_path
    # Unlocated tickets (outside every cell) are in every dispatcher's manual queue.
    if scope.has(Role.DISPATCHER) and (not path or scope.covers(path, Role.DISPATCHER)):
        roles.add(Role.DISPATCHER)
    if path and scope.covers(path, Role.COMMUNITY_STAFF):
        roles.add(Role.COMMUNITY_STAFF)
    if path and scope.covers(path, Role.ADMIN):
        roles.add(Role.ADMIN)
    if path and scope.covers(path, Role.GRID_WORKER):
        roles.add(Role.GRID_WORKER)
    if ticket.unit_id is not None and ticket.unit_id in scope.unit_ids.get(Role.HANDLER, ()):
        roles.add(Role.HANDLER)
    if ticket.reporter_id == user.id:
        roles.add(Role.RESIDENT)
    return roles


async def _is_follower(user: User, ticket: Ticket) -> bool:
    return await TicketFollower.filter(ticket_id=ticket.id, user_id=user.id).exists()


async def get_visible_or_raise(*, user: User, ticket_id: int) -> tuple[Ticket, set[str]]:
    """The ticket and the caller's roles on it; 404 if they may not see it at all."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound("找不到该案件", code="ticket_not_found")
    roles = ticket_roles(user, ticket)
    if not roles and await _is_follower(user, ticket):
        roles.add("follower")
    if not roles and (not ticket.is_public or ticket.content_held):
        raise NotFound("找不到该案件", code="ticket_not_found")
    return ticket, roles


# --- deadlines ------------------------------------------------------------------------------


@config_cache.snapshot
async def _calendar_overrides() -> dict:
    return {o.day: o.is_workday for o in await CalendarOverride.all()}


async def calendar_overrides() -> dict:
    """Admin holiday / adjusted-workday overrides by day (this process's snapshot)."""
    return await _calendar_overrides.get()


async def compute_deadline(start: datetime, *, value: int, unit: str) -> datetime:
    result = workcalendar.deadline(start, limit_value=value, limit_unit=unit,  # type: ignore[arg-type]
                                   overrides=await calendar_overrides())
    if result.missing_years:
        # Visible to admins through GET /api/v1/calendar/status as well.
        log.warning("official holiday schedule missing for %s: weekdays used",
                    sorted(result.missing_years))
    return result.deadline_at


def _limit(category: Category, urgency: str) -> tuple[int, str]:
    if urgency == Urgency.URGENT:
        return category.urgent_limit_value, category.urgent_limit_unit
    return category.limit_value, category.limit_unit


def deadline_colour(ticket: Ticket, category: Category, now: datetime,
                    overrides: dict | None = None) -> str | None:
    if ticket.deadline_at is None or ticket.dispatched_at is None:
        return None
    if ticket.status not in workflow.OPEN_STATUSES:
        return None
    _, unit = _limit(category, ticket.urgency)
    # The same calendar (admin overrides included) that computed the deadline judges it.
    return workcalendar.deadline_colour(ticket.dispatched_at, deadline_at=ticket.deadline_at,
                                        now=now, limit_unit=unit,  # type: ignore[arg-type]
                                        overrides=overrides)


# --- the one door ---------------------------------------------------------------------------


@dataclass
class Change:
    """What a transition does besides the status: fields, media, events, notifications."""

    fields: dict[str, Any] = field(default_factory=dict)
    media: list[Media] = field(default_factory=list)
    stage: MediaStage | None = None
    data: dict[str, Any] = field(default_factory=dict)
    notify: list[tuple[str, int | None]] = field(default_factory=list)


Effect = Callable[[Ticket, Change], Awaitable[None]]


async def transition(
    *,
    ticket_id: int,
    action: str,
    actor: User | None,
    note: str = "",
    expected_version: int | None = None,
    effect: Effect | None = None,
    acting_as: str | None = None,
) -> Ticket:
    """Apply `action` to the ticket: the only code that writes a ticket's status."""
    async with in_transaction():
        ticket = await _locked(ticket_id)
        if actor is None:
            roles = {SYSTEM}
        else:
            roles = ticket_roles(actor, ticket)
            if not roles:
                raise NotFound("找不到该案件", code="ticket_not_found")
        if action == "claim" and ticket.status == Status.CLAIMED:
            raise Conflict("该任务已被其他网格员认领", code="already_claimed")
        try:
            rule = workflow.resolve(action=action, status=ticket.status, roles=roles)
        except workflow.TransitionError as exc:
            raise _refusal(exc) from None
        if expected_version is not None and expected_version != ticket.version:
            raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version",
                           details={"version": ticket.version})
        change = Change()
        if effect is not None:
            await effect(ticket, change)
        new_status = rule.next_status(ticket.status)
        now = datetime.now(UTC)
        stamp = STATUS_STAMPS.get(new_status) if new_status != ticket.status else None
        if stamp:
            change.fields.setdefault(stamp, now)
        values = {**change.fields, "status": new_status, "version": ticket.version + 1,
                  "updated_at": now}
        # Conditional on the version we read: of two concurrent writers exactly one wins.
        updated = await Ticket.filter(id=ticket.id, version=ticket.version).update(**values)
        if not updated:
            if action == "claim":
                raise Conflict("该任务已被其他网格员认领", code="already_claimed")
            raise Conflict("案件已被他人更新，请刷新后重试", code="stale_version")
        role = acting_as or _acting_role(rule.roles, roles)
        await _record(ticket, action=action, actor=actor, role=role, from_status=ticket.status,
                      to_status=new_status, note=note, change=change)
        after = await Ticket.get(id=ticket.id)
        await stats.record(ticket, after)
        return after


async def _locked(ticket_id: int) -> Ticket:
    # FOR UPDATE serialises writers on MySQL/MariaDB (SQLite serialises transactions anyway,
    # and Tortoise drops the clause there); the version check below guards both.
    ticket = await Ticket.filter(id=ticket_id).select_for_update().first()
    if ticket is None:
        raise NotFound("找不到该案件", code="ticket_not_found")
    return ticket


def _acting_role(allowed: frozenset[str], held: set[str]) -> str:
    for role in (SYSTEM, Role.DISPATCHER, Role.HANDLER, Role.GRID_WORKER, Role.COMMUNITY_STAFF,
                 Role.ADMIN, Role.RESIDENT):
        if role in allowed and role in held:
            return role
    return next(iter(held))


async def _record(ticket: Ticket, *, action: str, actor: User | None, role: str,
                  from_status: str | None, to_status: str | None, note: str,
                  change: Change) -> TicketEvent:
    event = await TicketEvent.create(
        ticket_id=ticket.id, actor=actor, actor_role=role, action=action,
        from_status=from_status, to_status=to_status, note=note,
        data={**change.data, "media_ids": [m.id for m in change.media]},
    )
    if change.media and change.stage is not None:
        await TicketMedia.bulk_create([
            TicketMedia(ticket_id=ticket.id, media_id=m.id, stage=change.stage, event_id=event.id)
            for m in change.media
        ])
    followers = (await TicketFollower.filter(ticket_id=ticket.id).values_list("user_id", flat=True)
                 if action in NOTIFY_REPORTER else [])
    rows = _notices(ticket, action=action, actor=actor, to_status=to_status, change=change,
                    followers=followers)
    if rows:
        await Outbox.bulk_create(rows)
    return event


def _notices(ticket: Ticket, *, action: str, actor: User | None, to_status: str | None,
             change: Change, followers: Sequence[int]) -> list[Outbox]:
    """The outbox rows of one step: `change.notify`, and the reporter and followers."""
    now = datetime.now(UTC)

    def row(kind: str, user_id: int | None) -> Outbox:
        return Outbox(kind=f"ticket.{kind}", recipient_id=user_id, ticket_id=ticket.id,
                      payload={"number": ticket.number, "action": action, "status": to_status},
                      available_at=now)

    rows = [row(kind, user_id) for kind, user_id in change.notify]
    if action in NOTIFY_REPORTER:
        recipients = {ticket.reporter_id} if ticket.reporter_id else set()
        recipients |= set(followers)
        recipients.discard(actor.id if actor else None)
        rows += [row(action, uid) for uid in sorted(recipients)]
    return rows


# --- opening a ticket -------------------------------------------------------------------------


@dataclass
class Step:
    """One action a new ticket takes on its way in (submit, then maybe auto-accept, dispatch)."""

    action: str
    role: str  # the role acting; SYSTEM for automatic steps
    actor: User | None = None
    note: str = ""
    change: Change = field(default_factory=Change)
    effect: Effect | None = None


@dataclass
class Opened:
    """A ticket as `open_ticket` wrote it: its steps and their events, in order."""

    ticket: Ticket
    steps: Sequence[Step] = ()
    events: list[TicketEvent] = field(default_factory=list)
    replayed: bool = False


async def open_ticket(ticket: Ticket, steps: Sequence[Step]) -> Opened:
    """The door's entrance for new tickets, inside the caller's transaction.

    Each step is checked against the workflow table from the status the previous one reached
    (a creating action, such as submit or self_dispose, from "new") and applied in memory;
    the ticket is then inserted once, in the state the steps reach, with one event per step,
    its photo links and its outbox rows. An auto-accepted, auto-dispatched report so costs
    one insert per table instead of a transition per step.
    """
    now = datetime.now(UTC)
    walked: list[tuple[Step, str | None, str]] = []
    status: str | None = None
    for step in steps:
        # A creating action starts from "new" even after another step: a self-disposal is
        # recorded as its report (submit) and its disposal (self_dispose), both from "new".
        row = workflow.TRANSITIONS.get(step.action)
        if row is not None and row.creates:
            status = None
        try:
            rule = workflow.resolve(action=step.action, status=status, roles={step.role})
        except workflow.TransitionError as exc:
            raise _refusal(exc) from None
        ticket.status = status  # what an effect sees, as in `transition`
        if step.effect is not None:
            await step.effect(ticket, step.change)
        new_status = rule.next_status(status)
        if stamp := STATUS_STAMPS.get(new_status):
            step.change.fields.setdefault(stamp, now)
        for name, value in step.change.fields.items():
            setattr(ticket, name, value)
        walked.append((step, status, new_status))
        status = new_status
    ticket.status = status
    await ticket.save()
    # The public number is derived from the id, so it is unique without another lookup.
    ticket.number = f"{ticket.created_at.astimezone(workcalendar.SHANGHAI):%Y%m%d}{ticket.id:06d}"
    await Ticket.filter(id=ticket.id).update(number=ticket.number)

    events: list[TicketEvent] = []
    pending: list[TicketEvent] = []  # written together; one with photos needs its id first
    links: list[TicketMedia] = []
    notices: list[Outbox] = []
    for step, before, after in walked:
        change = step.change
        event = TicketEvent(ticket_id=ticket.id, actor=step.actor, actor_role=step.role,
                            action=step.action, from_status=before, to_status=after,
                            note=step.note, created_at=now,
                            data={**change.data, "media_ids": [m.id for m in change.media]})
        if change.media and change.stage is not None:
            if pending:
                await TicketEvent.bulk_create(pending)
                pending = []
            await event.save()
            links += [TicketMedia(ticket_id=ticket.id, media_id=m.id, stage=change.stage,
                                  event_id=event.id) for m in change.media]
        else:
            pending.append(event)
        events.append(event)
        notices += _notices(ticket, action=step.action, actor=step.actor, to_status=after,
                            change=change, followers=())
    if pending:
        await TicketEvent.bulk_create(pending)
    if links:
        await TicketMedia.bulk_create(links)
    if notices:
        await Outbox.bulk_create(notices)
    await stats.record(None, ticket)
    return Opened(ticket=ticket, steps=steps, events=events)


# --- reporting ------------------------------------------------------------------------------


async def _cell_at(location: Any) -> Area | None:
    return await areas.locate_cell(lng=location.lng, lat=location.lat, crs=location.crs)


def _wgs84(location: Any) -> tuple[float, float]:
    if location.crs == "gcj02":
        return gcj02_to_wgs84(location.lng, location.lat)
    return location.lng, location.lat


def _request_hash(body: ReportCreate) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def valid_idempotency_key(key: str) -> bool:
    return 0 < len(key) <= 128 and all(33 <= ord(c) <= 126 for c in key)


async def report(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                 source: TicketSource = TicketSource.RESIDENT) -> tuple[TicketDetail, bool]:
    """File a report and answer with its detail: (detail, replayed)."""
    opened = await _file(actor=actor, body=body, idempotency_key=idempotency_key, source=source)
    if opened.replayed:
        return await detail(user=actor, ticket_id=opened.ticket.id), True
    return await _fresh_detail(actor, opened), False


async def create_report(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                        source: TicketSource = TicketSource.RESIDENT) -> tuple[Ticket, bool]:
    """File a report, route it, and return (ticket, replayed). A retried key never makes two."""
    opened = await _file(actor=actor, body=body, idempotency_key=idempotency_key, source=source)
    return opened.ticket, opened.replayed


async def _file(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                source: TicketSource) -> Opened:
    if idempotency_key is not None and not valid_idempotency_key(idempotency_key):
        raise Invalid("Idempotency-Key 格式有误", code="invalid_idempotency_key")
    role = Role.RESIDENT if source == TicketSource.RESIDENT else Role.GRID_WORKER
    request_hash = _request_hash(body)
    if idempotency_key:
        replay = await _replay(actor, idempotency_key, request_hash)
        if replay is not None:
            return Opened(ticket=replay, replayed=True)
    category = await catalog.get_active_leaf_or_raise(code=body.category_code)
    if category.requires_photo and not body.media_ids:
        raise Invalid("该类问题需要上传现场照片", code="photo_required")
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=body.media_ids,
                                                      purpose=MediaPurpose.REPORT)
    cell = await _cell_at(body.location)
    if cell is None:
        # Farther than the snapping tolerance from every cell: not this city's to handle.
        raise Invalid("该位置不在本平台服务范围内", code="outside_service_area")
    if source == TicketSource.PATROL and not scope_of(actor).covers(cell.path, Role.GRID_WORKER):
        raise Forbidden("只能在自己负责的网格内巡查上报", code="outside_my_cells")
    route = await routing.decide_route(category=category, cell=cell)
    verdict = await check_text(body.description, openid=actor.openid, scene=Scene.FORUM)
    lng, lat = _wgs84(body.location)
    ticket = Ticket(
        source=source, reporter_id=actor.id, category_id=category.id,
        description=body.description, lng=lng, lat=lat, original_lng=body.location.lng,
        original_lat=body.location.lat, original_crs=body.location.crs,
        location_accuracy=body.location.accuracy, address=body.address, cell_id=cell.id,
        area_path=cell.path, unit_id=route.unit_id, routed_by=route.routed_by,
        routing_rule_id=route.rule_id, urgency=body.urgency, is_public=body.is_public,
        content_held=verdict == Verdict.HOLD,
    )
    steps = [Step("submit", role, actor,
                  change=Change(media=photos, stage=MediaStage.REPORT))]
    if category.auto_accept or source == TicketSource.PATROL:
        steps.append(Step("auto_accept", SYSTEM))
        if route.unit_id is not None:
            steps.append(Step("dispatch", SYSTEM,
                              effect=_dispatch_effect(route.unit_id, category)))
    try:
        async with in_transaction():
            opened = await open_ticket(ticket, steps)
            if idempotency_key:  # unique per (user, key): a concurrent twin fails here
                await IdempotencyRecord.create(user_id=actor.id, key=idempotency_key,
                                               request_hash=request_hash, ticket_id=ticket.id)
    except IntegrityError:
        if idempotency_key:  # a concurrent request with the same key got there first
            replay = await _replay(actor, idempotency_key, request_hash)
            if replay is not None:
                return Opened(ticket=replay, replayed=True)
            raise Conflict("相同的请求正在处理中，请稍后", code="idempotency_in_progress") from None
        raise
    return opened


async def create_patrol_report(*, actor: User, body: ReportCreate,
                               idempotency_key: str | None) -> TicketDetail:
    """巡查上报: a grid worker's report from their own cells, accepted and routed at once."""
    if not scope_of(actor).has(Role.GRID_WORKER):
        raise Forbidden("只有网格员可以巡查上报")
    out, _ = await report(actor=actor, body=body, idempotency_key=idempotency_key,
                          source=TicketSource.PATROL)
    return out


async def _replay(actor: User, key: str, request_hash: str) -> Ticket | None:
    record = await IdempotencyRecord.get_or_none(user_id=actor.id, key=key)
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Invalid("同一个 Idempotency-Key 用于了不同的内容", code="idempotency_key_reused")
    if record.ticket_id is None:
        raise Conflict("相同的请求正在处理中，请稍后", code="idempotency_in_progress")
    return await Ticket.get(id=record.ticket_id)


async def auto_dispatch(*, ticket: Ticket, category: Category | None = None) -> Ticket:
    """Dispatch an accepted ticket to its routed unit, if routing found one."""
    if ticket.status != Status.ACCEPTED or ticket.unit_id is None:
        return ticket
    category = category or await _category_of(ticket)
    return await transition(ticket_id=ticket.id, action="dispatch", actor=None,
                            effect=_dispatch_effect(ticket.unit_id, category))


async def _category_of(ticket: Ticket) -> Category:
    return (await catalog.categories_by_id())[ticket.category_id]


def _dispatch_effect(unit_id: int, category: Category) -> Effect:
    async def effect(ticket: Ticket, change: Change) -> None:
        now = datetime.now(UTC)
        fields: dict[str, Any] = {"unit_id": unit_id, "dispatched_at": now, "assignee_id": None}
        if ticket.first_dispatched_at is None:
            fields["first_dispatched_at"] = now
        # The clock starts at the first dispatch and restarts for a rework cycle (返工); a
        # ticket returned as "not ours" keeps its original deadline.
        if ticket.deadline_at is None or ticket.status == Status.REOPENED:
            value, unit = _limit(category, ticket.urgency)
            fields["deadline_at"] = await compute_deadline(now, value=value, unit=unit)
            fields["is_overdue"] = False
        change.fields.update(fields)
        change.data["unit_id"] = unit_id
        members = await unit_service.handlers_of(unit_id)
        change.notify += [("task_assigned", uid) for uid in members]

    return effect


async def self_dispose(*, actor: User, body: SelfDisposeCreate) -> Ticket:
    """自行处置: a grid worker reports and handles a problem on the spot, closed at once."""
    scope = scope_of(actor)
    if not scope.has(Role.GRID_WORKER):
        raise Forbidden("只有网格员可以自行处置")
    category = await catalog.get_active_leaf_or_raise(code=body.category_code)
    before = await media_service.claim_for_attachment(owner=actor, media_ids=body.media_ids,
                                                      purpose=MediaPurpose.REPORT)
    after = await media_service.claim_for_attachment(owner=actor, media_ids=body.after_media_ids,
                                                     purpose=MediaPurpose.HANDLING)
    cell = await _cell_at(body.location)
    if cell is None or not scope.covers(cell.path, Role.GRID_WORKER):
        raise Forbidden("只能在自己负责的网格内自行处置", code="outside_my_cells")
    now = datetime.now(UTC)
    lng, lat = _wgs84(body.location)
    ticket = Ticket(
        source=TicketSource.PATROL, reporter_id=actor.id, category_id=category.id,
        description=body.description, lng=lng, lat=lat, original_lng=body.location.lng,
        original_lat=body.location.lat, original_crs=body.location.crs, address=body.address,
        cell_id=cell.id, area_path=cell.path, urgency=body.urgency, is_public=body.is_public,
        routed_by=RoutedBy.SELF, is_self_disposed=True,
    )
    disposed = {"assignee_id": actor.id, "handled_at": now, "first_handled_at": now,
                "closed_at": now}
    steps = [Step("submit", Role.GRID_WORKER, actor,
                  change=Change(media=before, stage=MediaStage.REPORT)),
             Step("self_dispose", Role.GRID_WORKER, actor, note=body.note,
                  change=Change(fields=disposed, media=after, stage=MediaStage.HANDLING))]
    async with in_transaction():
        opened = await open_ticket(ticket, steps)
    return opened.ticket


# --- actions ----------------------------------------------------------------------------------


async def accept(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    ticket = await transition(ticket_id=ticket_id, action="accept", actor=actor,
                              expected_version=version)
    return await auto_dispatch(ticket=ticket)


def _stamp(**values: Any) -> Effect:
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(values)

    return effect


async def reject(*, actor: User, ticket_id: int, reason: str, version: int | None) -> Ticket:
    return await transition(ticket_id=ticket_id, action="reject", actor=actor, note=reason,
                            expected_version=version,
                            effect=_stamp(reject_reason=reason))


async def dispatch(*, actor: User, ticket_id: int, unit_id: int, version: int | None) -> Ticket:
    unit = (await unit_service.units_by_id([unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise Invalid("处置单位不存在或已停用", code="unknown_unit")

    async def effect(ticket: Ticket, change: Change) -> None:
        await _dispatch_effect(unit_id, await _category_of(ticket))(ticket, change)
        change.fields["routed_by"] = RoutedBy.DISPATCHER

    return await transition(ticket_id=ticket_id, action="dispatch", actor=actor,
                            expected_version=version, effect=effect)


async def recategorise(*, actor: User, ticket_id: int, category_code: str,
                       version: int | None) -> Ticket:
    """Change the category and run routing again (the dispatcher still accepts/dispatches)."""
    category = await catalog.get_active_leaf_or_raise(code=category_code)

    async def effect(ticket: Ticket, change: Change) -> None:
        cells = await areas.areas_by_id([ticket.cell_id] if ticket.cell_id else [])
        route = await routing.decide_route(category=category, cell=cells.get(ticket.cell_id))
        change.fields.update(category_id=category.id, unit_id=route.unit_id,
                             routed_by=route.routed_by, routing_rule_id=route.rule_id)
        change.data.update(category=category.code, unit_id=route.unit_id)

    ticket = await transition(ticket_id=ticket_id, action="recategorise", actor=actor,
                              expected_version=version, effect=effect)
    return await auto_dispatch(ticket=ticket, category=category)


async def merge(*, actor: User, ticket_id: int, duplicate_of: int, version: int | None) -> Ticket:
    if duplicate_of == ticket_id:
        raise Invalid("不能与自身合并", code="invalid_duplicate")
    original, roles = await get_visible_or_raise(user=actor, ticket_id=duplicate_of)
    if original.status in (Status.MERGED, Status.REJECTED) or Role.DISPATCHER not in roles:
        raise Invalid("目标案件不可合并", code="invalid_duplicate")

    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields["duplicate_of_id"] = original.id
        change.data["duplicate_of"] = original.number
        # The duplicate's reporter follows the original from now on.
        if ticket.reporter_id and ticket.reporter_id != original.reporter_id:
            _, created = await TicketFollower.get_or_create(ticket_id=original.id,
                                                            user_id=ticket.reporter_id)
            if created:
                await Ticket.filter(id=original.id).update(follower_count=F("follower_count") + 1)

    return await transition(ticket_id=ticket_id, action="merge", actor=actor,
                            expected_version=version, effect=effect)


async def claim(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(assignee_id=actor.id, claimed_at=datetime.now(UTC))

    return await transition(ticket_id=ticket_id, action="claim", actor=actor,
                            expected_version=version, effect=effect)


def _only_assignee(actor: User) -> Effect:
    async def effect(ticket: Ticket, change: Change) -> None:
        if ticket.assignee_id is not None and ticket.assignee_id != actor.id:
            raise Forbidden("该任务由其他人认领", code="not_your_task")

    return effect


async def release(*, actor: User, ticket_id: int, version: int | None) -> Ticket:
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        change.fields.update(assignee_id=None, claimed_at=None)

    return await transition(ticket_id=ticket_id, action="release", actor=actor,
                            expected_version=version, effect=effect)


async def return_to_dispatch(*, actor: User, ticket_id: int, reason: str,
                             version: int | None) -> Ticket:
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        change.fields.update(assignee_id=None, unit_id=None, return_count=ticket.return_count + 1)
        change.data["returned_by_unit"] = ticket.unit_id

    return await transition(ticket_id=ticket_id, action="return", actor=actor, note=reason,
                            expected_version=version, effect=effect)


async def handle(*, actor: User, ticket_id: int, note: str, media_ids: Sequence[int],
                 version: int | None) -> Ticket:
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.HANDLING)
    check = _only_assignee(actor)

    async def effect(ticket: Ticket, change: Change) -> None:
        await check(ticket, change)
        now = datetime.now(UTC)
        change.fields["handled_at"] = now
        if ticket.first_handled_at is None:
            change.fields["first_handled_at"] = now
            change.fields["handled_on_time"] = (ticket.deadline_at is None
                                                or now <= ticket.deadline_at)
        change.media, change.stage = photos, MediaStage.HANDLING

    ticket = await transition(ticket_id=ticket_id, action="handle", actor=actor, note=note,
                              expected_version=version, effect=effect)
    # Field verification (核查) follows every handling.
    return await transition(ticket_id=ticket.id, action="request_verification", actor=None)


async def verify(*, actor: User, ticket_id: int, passed: bool, note: str,
                 media_ids: Sequence[int], version: int | None) -> Ticket:
    photos = await media_service.claim_for_attachment(owner=actor, media_ids=media_ids,
                                                      purpose=MediaPurpose.VERIFICATION)
    if not passed and not note:
        raise Invalid("核查不通过时请填写原因", code="reason_required")

    async def effect(ticket: Ticket, change: Change) -> None:
        change.media, change.stage = photos, MediaStage.VERIFICATION
        if passed:
            change.fields.update(_close_fields(ticket))
        else:
            change.fields.update(rework_count=ticket.rework_count + 1, closed_at=None,
                                 assignee_id=None)

    action = "verify_pass" if passed else "verify_fail"
    ticket = await transition(ticket_id=ticket_id, action=action, actor=actor, note=note,
                              expected_version=version, effect=effect)
    if not passed:  # 返工: back to the same unit for a new cycle
        ticket = await _redispatch_same_unit(ticket)
    return ticket


def _close_fields(ticket: Ticket) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"closed_at": now,
            "closed_on_time": ticket.deadline_at is None or now <= ticket.deadline_at}


async def close(*, actor: User, ticket_id: int, note: str, version: int | None) -> Ticket:
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(_close_fields(ticket))

    return await transition(ticket_id=ticket_id, action="close", actor=actor, note=note,
                            expected_version=version, effect=effect)


async def rework(*, actor: User, ticket_id: int, reason: str, version: int | None) -> Ticket:
    """重办 after an unsatisfied rating: a new dispatch cycle on the same ticket, same unit."""
    async def effect(ticket: Ticket, change: Change) -> None:
        change.fields.update(rework_count=ticket.rework_count + 1, closed_at=None,
                             assignee_id=None)

    ticket = await transition(ticket_id=ticket_id, action="rate_rework", actor=actor, note=reason,
                              expected_version=version, effect=effect)
    return await _redispatch_same_unit(ticket)


async def _redispatch_same_unit(ticket: Ticket) -> Ticket:
    if ticket.unit_id is None:
        return ticket  # stays reopened in the dispatchers' queue
    return await transition(ticket_id=ticket.id, action="dispatch", actor=None,
                            effect=_dispatch_effect(ticket.unit_id, await _category_of(ticket)))


async def request_extension(*, actor: User, ticket_id: int, reason: str, extra_value: int,
                            extra_unit: str, version: int | None) -> ExtensionRequest:
    created: list[ExtensionRequest] = []

    async def effect(ticket: Ticket, change: Change) -> None:
        if await ExtensionRequest.filter(ticket_id=ticket.id,
                                         status=ExtensionStatus.PENDING).exists():
            raise Conflict("已有待审批的延期申请", code="extension_pending")
        created.append(await ExtensionRequest.create(
            ticket_id=ticket.id, requested_by=actor, reason=reason, extra_value=extra_value,
            extra_unit=extra_unit))
        change.data.update(extra_value=extra_value, extra_unit=extra_unit)

    await transition(ticket_id=ticket_id, action="request_extension", actor=actor, note=reason,
                     expected_version=version, effect=effect)
    return created[0]


async def decide_extension(*, actor: User, ticket_id: int, extension_id: int, approve: bool,
                           reason: str, version: int | None) -> Ticket:
    """Approving moves the deadline by the requested time; refusing leaves it."""
    async def effect(ticket: Ticket, change: Change) -> None:
        request = await ExtensionRequest.get_or_none(id=extension_id, ticket_id=ticket.id)
        if request is None:
            raise NotFound("找不到该延期申请", code="extension_not_found")
        if request.status != ExtensionStatus.PENDING:
            raise Conflict("该延期申请已处理", code="extension_decided")
        request.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        request.decided_by = actor
        request.decided_at = datetime.now(UTC)
        await request.save()
        change.data["extension_id"] = request.id
        if approve and ticket.deadline_at is not None:
            new_deadline = await compute_deadline(ticket.deadline_at, value=request.extra_value,
                                                  unit=request.extra_unit)
            change.fields.update(deadline_at=new_deadline, is_overdue=False,
                                 extension_count=ticket.extension_count + 1)
            change.data["deadline_at"] = new_deadline.isoformat()
        if request.requested_by_id:
            change.notify.append(("extension_decided", request.requested_by_id))

    action = "approve_extension" if approve else "refuse_extension"
    return await transition(ticket_id=ticket_id, action=action, actor=actor, note=reason,
                            expected_version=version, effect=effect)


async def follow(*, actor: User, ticket_id: int) -> Ticket:
    """"Me too": the resident follows an open ticket instead of reporting it again."""
    ticket, _ = await get_visible_or_raise(user=actor, ticket_id=ticket_id)
    if ticket.status not in workflow.OPEN_STATUSES:
        raise Conflict("该案件已办结", code="ticket_not_open")
    if ticket.reporter_id == actor.id:
        return ticket
    try:
        async with in_transaction():
            await TicketFollower.create(ticket_id=ticket.id, user_id=actor.id)
            await Ticket.filter(id=ticket.id).update(follower_count=F("follower_count") + 1)
    except IntegrityError:
        pass  # already following: a double tap changes nothing
    return await Ticket.get(id=ticket.id)


async def release_content(*, actor: User, ticket_id: int) -> Ticket:
    """A reviewer clears a held description: the ticket becomes visible as its reporter chose."""
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not ({Role.DISPATCHER, Role.COMMUNITY_STAFF}
                              & ticket_roles(actor, ticket)):
        raise NotFound("找不到该案件", code="ticket_not_found")
    await Ticket.filter(id=ticket.id).update(content_held=False)
    return await Ticket.get(id=ticket.id)


async def mark_overdue(*, now: datetime | None = None) -> int:
    """The periodic job: flag open tickets whose deadline has passed. Returns how many."""
    now = now or datetime.now(UTC)
    return await Ticket.filter(
        status__in=[Status.DISPATCHED, Status.CLAIMED, Status.RETURNED, Status.REOPENED],
        deadline_at__lt=now, is_overdue=False,
    ).update(is_overdue=True)


# --- reading ----------------------------------------------------------------------------------


async def ticket_outs(user: User, tickets: Sequence[Ticket],
                      followed: set[int] | None = None) -> list[TicketOut]:
    """Serialise a page of tickets with a fixed number of queries (no N+1).

    Categories, cells and units come from the process's configuration snapshots; `followed`
    (the ids among `tickets` the user follows) is looked up unless given.
    """
    if not tickets:
        return []
    scope = scope_of(user)
    categories = await catalog.categories_by_id()
    cells = await areas.areas_by_id(t.cell_id for t in tickets if t.cell_id)
    units = await unit_service.units_by_id(t.unit_id for t in tickets if t.unit_id)
    assignee_ids = {t.assignee_id for t in tickets if t.assignee_id}
    assignees = ({u.id: u for u in await User.filter(id__in=list(assignee_ids))}
                 if assignee_ids else {})
    if followed is None:
        followed = set(await TicketFollower.filter(
            user_id=user.id, ticket_id__in=[t.id for t in tickets]).values_list("ticket_id", flat=True))
    now = datetime.now(UTC)
    overrides = await calendar_overrides()
    out = []
    for t in tickets:
        category = categories[t.category_id]
        roles = ticket_roles(user, t, scope)
        staff_view = bool(roles - {Role.RESIDENT})
        assignee = assignees.get(t.assignee_id) if t.assignee_id else None
        out.append(TicketOut(
            id=t.id, number=t.number, status=t.status, status_label=workflow.status_label(t.status),
            source=t.source, category=_category_ref(category), description=t.description,
            location=Point(lng=t.lng, lat=t.lat), address=t.address,
            cell=area_ref(cells.get(t.cell_id)) if t.cell_id else None,
            unit=UnitRef(id=units[t.unit_id].id, name=units[t.unit_id].name)
            if t.unit_id in units else None,
            urgency=t.urgency, is_public=t.is_public, content_held=t.content_held,
            routed_by=t.routed_by,
            deadline_at=t.deadline_at, deadline_colour=deadline_colour(t, category, now, overrides),  # type: ignore[arg-type]
            is_overdue=t.is_overdue, version=t.version, follower_count=t.follower_count,
            is_mine=t.reporter_id == user.id or t.id in followed,
            assignee_label=_staff_label(assignee, Role.HANDLER if t.unit_id else Role.GRID_WORKER)
            if assignee and (staff_view or t.reporter_id == user.id) else None,
            allowed_actions=workflow.allowed_actions(t.status, roles - {Role.RESIDENT}),
            created_at=t.created_at, updated_at=t.updated_at,
        ))
    return out


def _category_ref(category: Category) -> CategoryRef:
    return CategoryRef(code=category.code, name=category.name,
                       label=category.resident_label or category.name)


def _staff_label(user: User | None, role: str) -> str:
    if user is None:
        return ""
    return f"{ROLE_LABELS.get(Role(role), '工作人员')} {user.surname}".strip()


async def detail(*, user: User, ticket_id: int) -> TicketDetail:
    ticket, _ = await get_visible_or_raise(user=user, ticket_id=ticket_id)
    [out] = await ticket_outs(user, [ticket])
    events = await TicketEvent.filter(ticket_id=ticket.id).order_by("id")
    actors = {u.id: u for u in await User.filter(id__in=[e.actor_id for e in events if e.actor_id])}
    links = await TicketMedia.filter(ticket_id=ticket.id).order_by("id")
    media = {m.id: m for m in await Media.filter(id__in=[link.media_id for link in links])}
    photos = [(link.event_id, link.stage, media[link.media_id]) for link in links]
    return _detail_out(out, events, actors, photos)


async def _fresh_detail(user: User, opened: Opened) -> TicketDetail:
    """The detail of a ticket just opened, from what is in hand: no read-back."""
    [out] = await ticket_outs(user, [opened.ticket], followed=set())
    photos = [(event.id, event_step.change.stage, m)
              for event, event_step in zip(opened.events, opened.steps, strict=True)
              for m in event_step.change.media]
    return _detail_out(out, opened.events, {user.id: user}, photos)


def _detail_out(out: TicketOut, events: Sequence[TicketEvent], actors: dict[int, User],
                photos: Sequence[tuple[int | None, Any, Media]]) -> TicketDetail:
    """The detail: the ticket, its photos and its timeline (staff as role + surname)."""
    by_event: dict[int | None, list[TicketMediaOut]] = {}
    all_media = []
    for event_id, stage, medium in photos:
        item = TicketMediaOut(**media_service.media_out(medium).model_dump(), stage=stage)
        by_event.setdefault(event_id, []).append(item)
        all_media.append(item)
    timeline = []
    for e in events:
        if e.actor_role == SYSTEM or e.actor_id is None:
            label = "系统"
        elif e.actor_role == Role.RESIDENT:
            label = "居民"
        else:
            label = _staff_label(actors.get(e.actor_id), e.actor_role)
        timeline.append(EventOut(
            action=e.action, action_label=ACTION_LABELS.get(e.action, e.action),
            actor_label=label, from_status=e.from_status, to_status=e.to_status, note=e.note,
            media=by_event.get(e.id, []) if e.id is not None else [], created_at=e.created_at,
        ))
    return TicketDetail(**out.model_dump(), media=all_media, timeline=timeline)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise Invalid("分页参数有误", code="invalid_cursor")
    return int(value)


async def _page(user: User, qs: Any, limit: int, cursor: str | None) -> TicketPage:
    after = _cursor(cursor)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = await qs.order_by("-id").limit(limit + 1)
    items = await ticket_outs(user, rows[:limit])
    return TicketPage(items=items, next=str(rows[limit - 1].id) if len(rows) > limit else None)


async def list_mine(*, user: User, limit: int, cursor: str | None) -> TicketPage:
    followed = TicketFollower.filter(user_id=user.id).values_list("ticket_id", flat=True)
    qs = Ticket.filter(Q(reporter_id=user.id) | Q(id__in=await followed))
    return await _page(user, qs, limit, cursor)


def _scope_filter(scope: Scope, roles: Sequence[Role]) -> Q:
    return under_any("area_path", scope.paths(*roles))


async def list_for_staff(*, user: User, query: Any) -> TicketPage:
    scope = scope_of(user)
    roles = [Role.DISPATCHER, Role.COMMUNITY_STAFF, Role.ADMIN]
    if not scope.has(*roles):
        raise Forbidden()
    condition = _scope_filter(scope, roles)
    if scope.has(Role.DISPATCHER):
        condition |= Q(area_path="")
    qs = Ticket.filter(condition)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.area:
        area = await Area.get_or_none(code=query.area)
        if area is None:
            raise NotFound("找不到该区域", code="area_not_found")
        qs = qs.filter(under("area_path", area.path))
    if query.category:
        category = await catalog.get_category_or_raise(code=query.category)
        qs = qs.filter(under("category__path", category.path))
    if query.unit_id:
        qs = qs.filter(unit_id=query.unit_id)
    if query.overdue is not None:
        qs = qs.filter(is_overdue=query.overdue)
    return await _page(user, qs, query.limit, query.cursor)


async def dispatcher_queue(*, user: User, limit: int, cursor: str | None) -> TicketPage:
    """What waits for a dispatcher: new, returned, unroutable, reworked, handled tickets."""
    scope = scope_of(user)
    if not scope.has(Role.DISPATCHER):
        raise Forbidden("只有派遣员可以查看派遣队列")
    condition = _scope_filter(scope, [Role.DISPATCHER]) | Q(area_path="")
    waiting = (Q(status__in=[Status.SUBMITTED, Status.RETURNED, Status.REOPENED, Status.HANDLED,
                             Status.VERIFYING])
               | Q(status=Status.ACCEPTED, unit_id=None))
    pending_extensions = ExtensionRequest.filter(status=ExtensionStatus.PENDING).values_list(
        "ticket_id", flat=True)
    qs = Ticket.filter(condition).filter(waiting | Q(id__in=await pending_extensions))
    return await _page(user, qs, limit, cursor)


async def list_tasks(*, user: User, scope_name: str, limit: int, cursor: str | None) -> TicketPage:
    """Grid workers: their cells' tasks for the grid team; handlers: their unit's tasks."""
    scope = scope_of(user)
    if not scope.has(Role.GRID_WORKER, Role.HANDLER):
        raise Forbidden("只有网格员和处置人员有任务列表")
    if scope_name == "mine":
        qs = Ticket.filter(assignee_id=user.id, status=Status.CLAIMED)
        return await _page(user, qs, limit, cursor)
    if scope_name == "verify":
        in_cells = _scope_filter(scope, [Role.GRID_WORKER])
        return await _page(user, Ticket.filter(in_cells, status=Status.VERIFYING), limit, cursor)
    pool = Q(id=0)
    unit_ids = list(scope.unit_ids.get(Role.HANDLER, ()))
    if unit_ids:
        pool |= Q(unit_id__in=unit_ids)
    cells = scope.paths(Role.GRID_WORKER)
    if cells:
        teams = await Unit.filter(kind=UnitKind.GRID_TEAM).values_list("id", flat=True)
        in_cells = under_any("area_path", cells)
        pool |= in_cells & Q(unit_id__in=list(teams) or [0])
    qs = Ticket.filter(pool).filter(status=Status.DISPATCHED)
    # Soonest deadline first is what a worker in the street needs; ids break ties.
    after = _cursor(cursor)
    rows = await qs.order_by("deadline_at", "id").offset(after or 0).limit(limit + 1)
    items = await ticket_outs(user, rows[:limit])
    return TicketPage(items=items,
                      next=str((after or 0) + limit) if len(rows) > limit else None)


def _distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    kx = 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lng1 - lng2) * kx, (lat1 - lat2) * 110_574)


async def public_near(*, lng: float, lat: float, crs: str, radius_m: int,
                      category_code: str | None, open_only: bool) -> list[PublicTicketOut]:
    """Public tickets near a point, without anyone's identity (for "same problem?" and maps)."""
    wgs_lng, wgs_lat = gcj02_to_wgs84(lng, lat) if crs == "gcj02" else (lng, lat)
    dlat = radius_m / 110_574
    dlng = radius_m / (111_320 * max(math.cos(math.radians(wgs_lat)), 0.01))
    qs = Ticket.filter(is_public=True, content_held=False, lat__gte=wgs_lat - dlat, lat__lte=wgs_lat + dlat,
                       lng__gte=wgs_lng - dlng, lng__lte=wgs_lng + dlng)
    qs = qs.exclude(status__in=[Status.REJECTED, Status.MERGED])
    if open_only:
        since = datetime.now(UTC) - timedelta(days=NEARBY_DAYS)
        qs = qs.filter(status__in=list(workflow.OPEN_STATUSES), created_at__gte=since)
    if category_code:
        category = await catalog.get_category_or_raise(code=category_code)
        qs = qs.filter(category_id=category.id)
    rows = await qs.order_by("-id").limit(200)
    categories = await catalog.categories_by_id()
    found = []
    for t in rows:
        distance = _distance_m(wgs_lng, wgs_lat, t.lng, t.lat)
        if distance <= radius_m:
            found.append(PublicTicketOut(
                id=t.id, number=t.number, status_label=workflow.status_label(t.status),
                category=_category_ref(categories[t.category_id]),
                location=Point(lng=round(t.lng, 5), lat=round(t.lat, 5)),
                distance_m=round(distance, 1), follower_count=t.follower_count,
                created_at=t.created_at))
    return sorted(found, key=lambda p: p.distance_m)[:50]


# --- the working calendar ---------------------------------------------------------------------


def _require_admin(user: User, *roles: Role) -> None:
    if not scope_of(user).has(Role.ADMIN, *roles):
        raise Forbidden("只有管理员可以维护工作日历")


async def calendar_status(*, user: User) -> tuple[list[int], list[CalendarOverride]]:
    """Years ahead that the holiday package does not know and overrides do not cover."""
    _require_admin(user, Role.DISPATCHER)
    overrides = await CalendarOverride.all().order_by("day")
    covered = {o.day.year for o in overrides}
    today = datetime.now(workcalendar.SHANGHAI).date()
    days = [today + timedelta(days=i) for i in range(0, 400, 7)]
    missing = sorted(set(workcalendar.missing_schedule_years(days)) - covered)
    return missing, list(overrides)


async def set_override(*, user: User, day: Any, is_workday: bool, note: str) -> CalendarOverride:
    _require_admin(user)
    async with in_transaction():
        row, _ = await CalendarOverride.update_or_create(day=day, defaults={
            "is_workday": is_workday, "note": note})
        await config_cache.bump()
    return row


async def delete_override(*, user: User, day: Any) -> None:
    _require_admin(user)
    async with in_transaction():
        if not await CalendarOverride.filter(day=day).delete():
            raise NotFound("该日期没有调整", code="override_not_found")
        await config_cache.bump()
