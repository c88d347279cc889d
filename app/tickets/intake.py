"""New tickets: a resident's report, a grid worker's patrol report or self-disposal, and a
case filed for a caller (hotline: by a dispatcher, or pushed by the 12345 platform).

A request is validated and routed here, then enters through `door.open_ticket` with the
actions it takes on its way in (submit, then maybe auto-accept and dispatch). A retried
`Idempotency-Key` returns the ticket the first request made, never a second one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.areas import service as areas
from app.areas.geo import gcj02_to_wgs84
from app.areas.models import Area
from app.catalog import service as catalog
from app.core.contentsafety import Scene, Verdict, check_text
from app.core.errors import Conflict, Forbidden, Invalid
from app.media import service as media_service
from app.media.models import MediaPurpose
from app.routing import service as routing
from app.tickets import idempotency
from app.tickets.actions import dispatch_effect
from app.tickets.door import SYSTEM, Change, Opened, Step, open_ticket
from app.tickets.models import IdempotencyRecord, MediaStage, RoutedBy, Ticket, TicketSource
from app.tickets.queries import detail, fresh_detail
from app.tickets.schemas import ReportCreate, SelfDisposeCreate, TicketDetail


async def _cell_at(location: Any) -> Area | None:
    return await areas.locate_cell(lng=location.lng, lat=location.lat, crs=location.crs)


def _wgs84(location: Any) -> tuple[float, float]:
    if location.crs == "gcj02":
        return gcj02_to_wgs84(location.lng, location.lat)
    return location.lng, location.lat


async def report(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                 source: TicketSource = TicketSource.RESIDENT) -> tuple[TicketDetail, bool]:
    """File a report and answer with its detail: (detail, replayed)."""
    opened = await _file(actor=actor, body=body, idempotency_key=idempotency_key, source=source)
    if opened.replayed:
        return await detail(user=actor, ticket_id=opened.ticket.id), True
    return await fresh_detail(actor, opened), False


async def create_report(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                        source: TicketSource = TicketSource.RESIDENT) -> tuple[Ticket, bool]:
    """File a report, route it, and return (ticket, replayed). A retried key never makes two."""
    opened = await _file(actor=actor, body=body, idempotency_key=idempotency_key, source=source)
    return opened.ticket, opened.replayed


async def _file(*, actor: User, body: ReportCreate, idempotency_key: str | None,
                source: TicketSource) -> Opened:
    if idempotency_key is not None and not idempotency.valid_key(idempotency_key):
        raise Invalid("Idempotency-Key 格式有误", code="invalid_idempotency_key")
    role = Role.RESIDENT if source == TicketSource.RESIDENT else Role.GRID_WORKER
    request_hash = ""  # the body's fingerprint, needed only with a key
    if idempotency_key:
        request_hash = idempotency.request_hash(body.model_dump(mode="json"))
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
                              effect=dispatch_effect(route.unit_id, category)))
    try:
        async with in_transaction("default"):
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
    record = await idempotency.lookup(actor=actor, key=key, fingerprint=request_hash)
    if record is None:
        return None
    if record.ticket_id is None:  # another call's key, or a report still being written
        raise Conflict("相同的请求正在处理中，请稍后", code="idempotency_in_progress")
    return await Ticket.get(id=record.ticket_id)


async def self_dispose(*, actor: User, body: SelfDisposeCreate) -> Ticket:
    """自行处置: a grid worker reports and handles a problem on the spot, closed at once.

    Its Idempotency-Key is kept by the route (`idempotency.once`), with its answer.
    """
    scope = scope_of(actor)
    if not scope.has(Role.GRID_WORKER):
        raise Forbidden("只有网格员可以自行处置")
    category = await catalog.get_active_leaf_or_raise(code=body.category_code)
    # The category's photo rule holds for both halves: what was found and what was done.
    if category.requires_photo and not (body.media_ids and body.after_media_ids):
        raise Invalid("该类问题需要上传处置前和处置后的现场照片", code="photo_required")
    before = await media_service.claim_for_attachment(owner=actor, media_ids=body.media_ids,
                                                      purpose=MediaPurpose.REPORT)
    after = await media_service.claim_for_attachment(owner=actor, media_ids=body.after_media_ids,
                                                     purpose=MediaPurpose.HANDLING)
    cell = await _cell_at(body.location)
    if cell is None or not scope.covers(cell.path, Role.GRID_WORKER):
        raise Forbidden("只能在自己负责的网格内自行处置", code="outside_my_cells")
    # Public like any report (its note too, on the timeline): the patrol report's check.
    verdict = await check_text(f"{body.description}\n{body.note}", openid=actor.openid,
                               scene=Scene.FORUM)
    lng, lat = _wgs84(body.location)
    ticket = Ticket(
        source=TicketSource.PATROL, reporter_id=actor.id, category_id=category.id,
        description=body.description, lng=lng, lat=lat, original_lng=body.location.lng,
        original_lat=body.location.lat, original_crs=body.location.crs, address=body.address,
        cell_id=cell.id, area_path=cell.path, urgency=body.urgency, is_public=body.is_public,
        routed_by=RoutedBy.SELF, is_self_disposed=True, content_held=verdict == Verdict.HOLD,
    )
    now = datetime.now(UTC)
    disposed = {"assignee_id": actor.id, "handled_at": now, "first_handled_at": now,
                "closed_at": now}
    steps = [Step("submit", Role.GRID_WORKER, actor,
                  change=Change(media=before, stage=MediaStage.REPORT)),
             Step("self_dispose", Role.GRID_WORKER, actor, note=body.note,
                  change=Change(fields=disposed, media=after, stage=MediaStage.HANDLING))]
    async with in_transaction("default"):
        opened = await open_ticket(ticket, steps)
    return opened.ticket


# Run in the new ticket's transaction with the ticket as written (e.g. the caller's details);
# an IntegrityError it raises rolls the ticket back too.
Attach = Callable[[Ticket], Awaitable[None]]


async def file_for_caller(*, body: ReportCreate, source: TicketSource, actor: User | None,
                          attach: Attach) -> Ticket:
    """A case filed on someone's behalf: by a dispatcher who took the call, or by an outside
    platform (`actor` None). No reporter account (the caller is not a user, so no notice goes
    to anyone as its reporter); the filer is the actor of its first events.

    A dispatcher's case is 立案 (accepted) at once by them, then routed; a platform's is
    submitted and auto-accepted only where its category is. Callers send no photos, so a
    category's photo rule does not apply. The caller's details are the caller's: `attach`
    keeps them outside the ticket, in the same transaction.
    """
    category = await catalog.get_active_leaf_or_raise(code=body.category_code)
    cell = await _cell_at(body.location)
    if cell is None:
        raise Invalid("该位置不在本平台服务范围内", code="outside_service_area")
    if actor is not None and not scope_of(actor).covers(cell.path, Role.DISPATCHER):
        raise Forbidden("只能为自己负责区域内的来电立案", code="outside_my_area")
    route = await routing.decide_route(category=category, cell=cell)
    verdict = await check_text(body.description, openid=None, scene=Scene.FORUM)
    lng, lat = _wgs84(body.location)
    ticket = Ticket(
        source=source, reporter_id=None, category_id=category.id,
        description=body.description, lng=lng, lat=lat, original_lng=body.location.lng,
        original_lat=body.location.lat, original_crs=body.location.crs,
        location_accuracy=body.location.accuracy, address=body.address, cell_id=cell.id,
        area_path=cell.path, unit_id=route.unit_id, routed_by=route.routed_by,
        routing_rule_id=route.rule_id, urgency=body.urgency, is_public=body.is_public,
        content_held=verdict == Verdict.HOLD,
    )
    if actor is not None:
        steps = [Step("submit", Role.DISPATCHER, actor), Step("accept", Role.DISPATCHER, actor)]
    else:
        steps = [Step("submit", SYSTEM)]
    if actor is not None or category.auto_accept:
        if actor is None:
            steps.append(Step("auto_accept", SYSTEM))
        if route.unit_id is not None:
            steps.append(Step("dispatch", SYSTEM, effect=dispatch_effect(route.unit_id, category)))
    async with in_transaction("default"):
        opened = await open_ticket(ticket, steps)
        await attach(opened.ticket)
    return opened.ticket
