"""Device events (自动识别): each recorded once, its snapshot through the photo pipeline, and
then a case — a new one, the open case of the same device and type within the window, or the
review list when the confidence is below the type's threshold.

The case of a (device, event type) is one `DeviceCase` row, unique on the pair. An event
inside the window joins it with a conditional update on the row's `generation`; the first
event, or one after the window or after the case ended, inserts the row or takes it over
(generation + 1) and opens a ticket in the same transaction. Two concurrent events race on
that insert or update: exactly one wins, the other's transaction rolls back whole and is
tried again, and then joins the winner's case.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.areas import service as areas
from app.areas.geo import gcj02_to_wgs84
from app.catalog import service as catalog
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge
from app.core.paging import Ordering, keyset_page
from app.devices.models import Device, DeviceCase, DeviceEvent, DeviceEventType, EventStatus
from app.devices.schemas import (
    DeviceEventIn,
    DeviceEventOut,
    DiscardIn,
    HeartbeatIn,
    HeartbeatOut,
    ReviewItem,
    ReviewOut,
    ReviewPage,
)
from app.integrations import service as integrations
from app.integrations.models import Integration
from app.media import service as media_service
from app.media.models import Media, MediaPurpose
from app.routing import service as routing
from app.settings import current
from app.tickets.actions import dispatch_effect
from app.tickets.door import SYSTEM, Change, Step, open_ticket
from app.tickets.models import MediaStage, Ticket, TicketMedia, TicketSource
from app.tickets.workflow import OPEN_STATUSES

log = logging.getLogger("gongzhi.devices")
ATTEMPTS = 8  # a lost race is tried again; eight in a row means something else is wrong
ORDER = Ordering.of("id")


class _Lost(Exception):
    """A concurrent event changed the case first: roll back and try again."""


class _Duplicate(Exception):
    """This platform event id was recorded by a concurrent request."""


# --- the snapshot -----------------------------------------------------------------------------


async def _platform_user(integration: Integration) -> User:
    """The account a platform's snapshots are owned by: no roles, no password, inactive, so
    nobody can sign in as it."""
    username = f"device-platform:{integration.code}"
    user = await User.get_or_none(username=username)
    if user is None:
        try:
            user = await User.create(username=username, display_name=integration.name[:64],
                                     is_active=False)
        except IntegrityError:
            user = await User.get(username=username)
    return user


async def _snapshot(integration: Integration, encoded: str) -> Media:
    """Decode a base64 snapshot and put it through the resident photo pipeline (sniffed,
    bounded, re-encoded without metadata, thumbnailed, stored)."""
    limit = current().media_max_bytes
    if len(encoded) > (limit + 2) // 3 * 4 + 4:
        raise PayloadTooLarge("快照图片过大", code="too_large", details={"max_bytes": limit})
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("快照须为 base64 编码的 JPEG 或 PNG 图片", code="invalid_snapshot") from None
    owner = await _platform_user(integration)
    now = datetime.now(UTC)
    media = await Media.create(owner_id=owner.id, purpose=MediaPurpose.REPORT, storage="local",
                               key=f"device/{now:%Y/%m}/{uuid.uuid4().hex}.jpg",
                               expires_at=now + timedelta(minutes=5))
    try:
        return await media_service.receive_local_file(owner=owner, media_id=media.id, data=data)
    except AppError:
        await Media.filter(id=media.id).delete()
        raise


# --- the case ---------------------------------------------------------------------------------


async def _open_ticket(device: Device, kind: DeviceEventType, event: DeviceEvent,
                       media: Media | None, confirmer: User | None) -> Ticket:
    try:
        category = await catalog.get_active_leaf_or_raise(code=kind.category_code)
    except AppError:
        raise Conflict("该事件类型对应的问题分类不存在或已停用，请管理员检查配置",
                       code="event_type_misconfigured",
                       details={"event_type": kind.event_type}) from None
    cell = (await areas.areas_by_id([device.cell_id]))[device.cell_id]
    route = await routing.decide_route(category=category, cell=cell)
    lng, lat = gcj02_to_wgs84(device.lng, device.lat) if device.crs == "gcj02" \
        else (device.lng, device.lat)
    ticket = Ticket(
        source=TicketSource.CAMERA, reporter_id=None, category_id=category.id,
        description=f"自动识别：{kind.label}（设备 {device.name}，置信度 "
                    f"{event.confidence:.0%}）",
        lng=lng, lat=lat, original_lng=device.lng, original_lat=device.lat,
        original_crs=device.crs, address=device.address, cell_id=cell.id,
        area_path=cell.path, unit_id=route.unit_id, routed_by=route.routed_by,
        routing_rule_id=route.rule_id, urgency=kind.urgency,
        # A street camera's picture shows passers-by and number plates: staff only.
        is_public=False,
    )
    data = {"device_code": device.code, "event_type": kind.event_type,
            "confidence": event.confidence, "device_event_id": event.id}
    steps = [Step("submit", SYSTEM, change=Change(media=[media] if media else [],
                                                  stage=MediaStage.REPORT, data=data))]
    # Accepted at once like a patrol report; a confirmed review event by the dispatcher.
    steps.append(Step("accept", Role.DISPATCHER, confirmer) if confirmer is not None
                 else Step("auto_accept", SYSTEM))
    if route.unit_id is not None:
        steps.append(Step("dispatch", SYSTEM, effect=dispatch_effect(route.unit_id, category)))
    return (await open_ticket(ticket, steps)).ticket


async def _open_or_attach(device: Device, kind: DeviceEventType, event: DeviceEvent,
                          media: Media | None, confirmer: User | None = None
                          ) -> tuple[Ticket, bool]:
    """(the case's ticket, whether it is new), in the caller's transaction; `_Lost` if a
    concurrent event changed the case first."""
    now = datetime.now(UTC)
    fresh_after = now - timedelta(seconds=current().device_event_window_s)
    case = await DeviceCase.get_or_none(device_id=device.id, event_type=kind.event_type)
    if case is not None and case.ticket_id is not None and case.last_event_at >= fresh_after:
        ticket = await Ticket.get_or_none(id=case.ticket_id)
        if ticket is not None and ticket.status in OPEN_STATUSES:
            if not await DeviceCase.filter(id=case.id, generation=case.generation).update(
                    last_event_at=now, event_count=F("event_count") + 1):
                raise _Lost
            if media is not None:
                await TicketMedia.create(ticket_id=ticket.id, media_id=media.id,
                                         stage=MediaStage.REPORT)
            return ticket, False
    # Claim the case before opening the ticket, so that a loser waits (MySQL) or fails here.
    if case is None:
        try:
            case = await DeviceCase.create(device_id=device.id, event_type=kind.event_type,
                                           opened_at=now, last_event_at=now)
        except IntegrityError:
            raise _Lost from None
    elif not await DeviceCase.filter(id=case.id, generation=case.generation).update(
            generation=case.generation + 1, ticket_id=None, event_count=1, opened_at=now,
            last_event_at=now):
        raise _Lost
    ticket = await _open_ticket(device, kind, event, media, confirmer)
    await DeviceCase.filter(id=case.id).update(ticket_id=ticket.id)
    return ticket, True


# --- receiving events -------------------------------------------------------------------------


async def _event_out(event: DeviceEvent, device_code: str, *, is_new: bool) -> DeviceEventOut:
    number = None
    if event.ticket_id is not None:
        numbers = await Ticket.filter(id=event.ticket_id).values_list("number", flat=True)
        number = str(numbers[0]) if numbers and numbers[0] else None
    return DeviceEventOut(event_id=event.external_id, device_code=device_code,
                          event_type=event.event_type, status=event.status,
                          ticket_id=event.ticket_id, ticket_number=number, is_new=is_new)


async def _repeat(verified: integrations.Verified, event: DeviceEvent,
                  device_code: str) -> DeviceEventOut:
    await integrations.remember(verified)  # a replayed request id is still refused
    return await _event_out(event, device_code, is_new=False)


async def receive_event(*, verified: integrations.Verified,
                        body: DeviceEventIn) -> DeviceEventOut:
    """Record a device's event once and make or join its case (or queue it for review)."""
    integration = verified.integration
    known = await DeviceEvent.get_or_none(integration_id=integration.id,
                                          external_id=body.event_id)
    if known is not None:
        return await _repeat(verified, known, body.device_code)
    device = await Device.get_or_none(code=body.device_code, integration_id=integration.id)
    if device is None:
        raise Invalid("该接入平台没有登记此设备", code="unknown_device",
                      details={"device_code": body.device_code})
    if not device.is_active:
        raise Conflict("该设备已停用", code="device_inactive")
    kind = await DeviceEventType.get_or_none(event_type=body.event_type, is_active=True)
    if kind is None:
        raise Invalid("未配置的事件类型", code="unknown_event_type",
                      details={"event_type": body.event_type})
    media = await _snapshot(integration, body.snapshot) if body.snapshot else None
    try:
        return await _record(verified, body, device, kind, media)
    except Exception:
        # Refused after all (a replayed request id): the snapshot of no event is not kept.
        if media is not None and not await DeviceEvent.exists(media_id=media.id):
            await Media.filter(id=media.id).delete()
        raise


async def _record(verified: integrations.Verified, body: DeviceEventIn, device: Device,
                  kind: DeviceEventType, media: Media | None) -> DeviceEventOut:
    integration = verified.integration
    review = body.confidence < kind.min_confidence
    for _ in range(ATTEMPTS):
        try:
            async with in_transaction("default"):
                await integrations.remember(verified)
                try:
                    event = await DeviceEvent.create(
                        integration_id=integration.id, external_id=body.event_id,
                        device_id=device.id, event_type=kind.event_type,
                        occurred_at=body.occurred_at, confidence=body.confidence,
                        media_id=media.id if media else None, area_path=device.area_path,
                        status=EventStatus.REVIEW if review else EventStatus.OPENED)
                except IntegrityError:
                    raise _Duplicate from None
                if not review:
                    ticket, is_new = await _open_or_attach(device, kind, event, media)
                    event.status = EventStatus.OPENED if is_new else EventStatus.ATTACHED
                    event.ticket_id = ticket.id
                    await DeviceEvent.filter(id=event.id).update(status=event.status,
                                                                 ticket_id=ticket.id)
            # Outside the transaction: concurrent events of one device do not queue on its row
            # while a case is opened.
            await Device.filter(id=device.id).update(last_seen_at=datetime.now(UTC),
                                                     is_silent=False)
            return await _event_out(event, device.code, is_new=True)
        except _Lost:
            continue
        except _Duplicate:
            if media is not None:  # the first copy of the event kept its own snapshot
                await Media.filter(id=media.id).delete()
            first = await DeviceEvent.get(integration_id=integration.id,
                                          external_id=body.event_id)
            return await _repeat(verified, first, device.code)
    log.error("device %s: event %s lost the case race %d times", device.code, body.event_id,
              ATTEMPTS)
    raise Conflict("该设备事件正在处理，请稍后重试", code="device_event_busy")


async def heartbeat(*, verified: integrations.Verified, body: HeartbeatIn) -> HeartbeatOut:
    """Devices reported alive by their platform: heard now (and no longer silent)."""
    codes = list(dict.fromkeys(body.devices))
    owned = Device.filter(integration_id=verified.integration.id, code__in=codes)
    async with in_transaction("default"):
        await integrations.remember(verified)
        await owned.update(last_seen_at=datetime.now(UTC), is_silent=False)
    known = set(await owned.values_list("code", flat=True))
    return HeartbeatOut(seen=len(known), unknown=[c for c in codes if c not in known])


# --- the review list (坐席员) ------------------------------------------------------------------


def _require_dispatcher(actor: User) -> None:
    if not scope_of(actor).has(Role.DISPATCHER):
        raise Forbidden("只有坐席员可以审核设备事件", code="dispatcher_only")


async def review_list(*, actor: User, limit: int, cursor: str | None) -> ReviewPage:
    """Events below their type's confidence threshold, oldest first, in the actor's areas."""
    _require_dispatcher(actor)
    within = Q(id=-1)
    for path in scope_of(actor).paths(Role.DISPATCHER):
        within |= Q(area_path__startswith=path)
    qs = DeviceEvent.filter(within, status=EventStatus.REVIEW)
    rows, nxt = await keyset_page(qs, ordering=ORDER, limit=limit, cursor=cursor)
    devices = {d.id: d for d in await Device.filter(id__in={r.device_id for r in rows})}
    photos = {m.id: m for m in await Media.filter(
        id__in=[r.media_id for r in rows if r.media_id is not None])}
    items = [ReviewItem.from_model(r, devices[r.device_id],
                                   media_service.media_out(photos[r.media_id])
                                   if r.media_id in photos else None) for r in rows]
    return ReviewPage(items=items, next=nxt)


async def _reviewable(actor: User, event_id: int) -> DeviceEvent:
    _require_dispatcher(actor)
    event = await DeviceEvent.get_or_none(id=event_id)
    if event is None or not scope_of(actor).covers(event.area_path, Role.DISPATCHER):
        raise NotFound("找不到该设备事件", code="device_event_not_found")
    return event


def _reviewed() -> Conflict:
    return Conflict("该事件已审核过", code="event_reviewed")


async def confirm(*, actor: User, event_id: int) -> ReviewOut:
    """A dispatcher confirms a doubtful event: it opens (or joins) its case, once."""
    event = await _reviewable(actor, event_id)
    if event.status != EventStatus.REVIEW:
        raise _reviewed()
    device = await Device.get(id=event.device_id)
    kind = await DeviceEventType.get_or_none(event_type=event.event_type)
    if kind is None:
        raise Conflict("该事件类型已不在配置中，请管理员检查配置", code="event_type_misconfigured",
                       details={"event_type": event.event_type})
    media = await Media.get_or_none(id=event.media_id) if event.media_id else None
    for _ in range(ATTEMPTS):
        try:
            async with in_transaction("default"):
                if not await DeviceEvent.filter(id=event.id, status=EventStatus.REVIEW).update(
                        status=EventStatus.CONFIRMED, reviewed_by_id=actor.id,
                        reviewed_at=datetime.now(UTC)):
                    raise _reviewed()
                ticket, _ = await _open_or_attach(device, kind, event, media, confirmer=actor)
                await DeviceEvent.filter(id=event.id).update(ticket_id=ticket.id)
            return ReviewOut(id=event.id, status=EventStatus.CONFIRMED, ticket_id=ticket.id,
                             ticket_number=ticket.number)
        except _Lost:
            continue
    raise Conflict("该设备事件正在处理，请稍后重试", code="device_event_busy")


async def discard(*, actor: User, event_id: int, body: DiscardIn) -> ReviewOut:
    """A dispatcher discards a doubtful event (a false alarm): no case, kept on record."""
    event = await _reviewable(actor, event_id)
    if not await DeviceEvent.filter(id=event.id, status=EventStatus.REVIEW).update(
            status=EventStatus.DISCARDED, reviewed_by_id=actor.id,
            reviewed_at=datetime.now(UTC), review_note=body.reason):
        raise _reviewed()
    return ReviewOut(id=event.id, status=EventStatus.DISCARDED, ticket_id=None,
                     ticket_number=None)
