"""Devices API: admins keep the registry and the event-type table; camera and sensor platforms
post signed events and heartbeats; dispatchers review doubtful events (docs/integrations.md)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Component

from app.core.api import client_ip, endpoint
from app.core.paging import PageQuery
from app.devices import events, service
from app.devices.schemas import (
    DeviceCreate,
    DeviceEventIn,
    DeviceEventOut,
    DeviceImport,
    DeviceImportResult,
    DeviceOut,
    DevicePage,
    DeviceQuery,
    DeviceUpdate,
    DiscardIn,
    EventTypeIn,
    EventTypeList,
    EventTypeOut,
    HeartbeatIn,
    HeartbeatOut,
    ReviewOut,
    ReviewPage,
)
from app.integrations import service as integrations
from app.integrations.models import IntegrationKind
from app.integrations.routes import SIGNED

bp = Blueprint("devices")
TAG = "devices"
KINDS = (IntegrationKind.CAMERA, IntegrationKind.SENSOR)


@bp.get("/admin/devices")
@endpoint(summary="Cameras and sensors in the admin's areas", tag=TAG, query=DeviceQuery,
          response=DevicePage, errors=(403,))
async def list_devices(request: Request, query: DeviceQuery) -> DevicePage:
    return await service.list_devices(actor=request.ctx.user, query=query)


@bp.post("/admin/devices")
@endpoint(summary="Register a camera or sensor (located in its grid cell)", tag=TAG,
          body=DeviceCreate, response=DeviceOut, status=201, errors=(403, 409))
async def create_device(request: Request, body: DeviceCreate) -> DeviceOut:
    return await service.create_device(actor=request.ctx.user, data=body)


@bp.post("/admin/devices/import")
@endpoint(summary="Import devices from CSV or GeoJSON: all or nothing, 422 lists every problem",
          tag=TAG, body=DeviceImport, response=DeviceImportResult, errors=(403, 409))
async def import_devices(request: Request, body: DeviceImport) -> DeviceImportResult:
    return await service.import_devices(actor=request.ctx.user, data=body)


@bp.get("/admin/devices/<device_code:str>")
@endpoint(summary="One device", tag=TAG, response=DeviceOut, errors=(403,))
async def get_device(request: Request, device_code: str) -> DeviceOut:
    return await service.get_device(actor=request.ctx.user, code=device_code)


@bp.patch("/admin/devices/<device_code:str>")
@endpoint(summary="Change a device (move it, deactivate it, hand it to another platform)",
          tag=TAG, body=DeviceUpdate, response=DeviceOut, errors=(403,))
async def update_device(request: Request, device_code: str, body: DeviceUpdate) -> DeviceOut:
    return await service.update_device(actor=request.ctx.user, code=device_code, changes=body)


@bp.get("/admin/device-event-types")
@endpoint(summary="What each device event type means (category, urgency, confidence)",
          tag=TAG, response=EventTypeList, errors=(403,))
async def list_event_types(request: Request) -> EventTypeList:
    return await service.list_event_types(actor=request.ctx.user)


@bp.put("/admin/device-event-types/<event_type:str>")
@endpoint(summary="Set what a device event type means", tag=TAG, body=EventTypeIn,
          response=EventTypeOut, errors=(403,))
async def put_event_type(request: Request, event_type: str, body: EventTypeIn) -> EventTypeOut:
    return await service.put_event_type(actor=request.ctx.user, event_type=event_type, data=body)


@bp.post("/hooks/devices/events")
@openapi.secured("signature")
@openapi.body({"application/json": Component(DeviceEventIn)},
              description="An event; the same event_id again answers the same result")
@endpoint(summary="A camera or sensor event (signed; recorded once per event id)", tag=TAG,
          response=DeviceEventOut, auth=False, throttle=False, description=SIGNED,
          errors=(401, 403, 409, 413, 415, 422, 429))
async def receive_event(request: Request) -> DeviceEventOut:
    raw = request.body or b""
    verified = await integrations.verify(headers=request.headers, body=raw, kinds=KINDS,
                                         ip=client_ip(request))
    integrations.json_object(content_type=request.headers.get("content-type", ""), body=raw)
    body = DeviceEventIn.model_validate_json(raw, strict=True)
    return await events.receive_event(verified=verified, body=body)


@bp.post("/hooks/devices/heartbeats")
@openapi.secured("signature")
@openapi.body({"application/json": Component(HeartbeatIn)},
              description="The codes of the platform's devices that are alive")
@endpoint(summary="Devices alive now (signed): they are no longer silent", tag=TAG,
          response=HeartbeatOut, auth=False, throttle=False, description=SIGNED,
          errors=(401, 403, 409, 413, 415, 422, 429))
async def heartbeat(request: Request) -> HeartbeatOut:
    raw = request.body or b""
    verified = await integrations.verify(headers=request.headers, body=raw, kinds=KINDS,
                                         ip=client_ip(request))
    integrations.json_object(content_type=request.headers.get("content-type", ""), body=raw)
    body = HeartbeatIn.model_validate_json(raw, strict=True)
    return await events.heartbeat(verified=verified, body=body)


@bp.get("/devices/events/review")
@endpoint(summary="Device events below their confidence threshold, waiting for a dispatcher",
          tag=TAG, query=PageQuery, response=ReviewPage, errors=(403,))
async def review_list(request: Request, query: PageQuery) -> ReviewPage:
    return await events.review_list(actor=request.ctx.user, limit=query.limit,
                                    cursor=query.cursor)


@bp.post("/devices/events/<event_id:int>/confirm")
@endpoint(summary="Confirm a doubtful device event: it opens or joins its case", tag=TAG,
          response=ReviewOut, errors=(403, 409))
async def confirm_event(request: Request, event_id: int) -> ReviewOut:
    return await events.confirm(actor=request.ctx.user, event_id=event_id)


@bp.post("/devices/events/<event_id:int>/discard")
@endpoint(summary="Discard a doubtful device event (a false alarm)", tag=TAG, body=DiscardIn,
          response=ReviewOut, errors=(403, 409))
async def discard_event(request: Request, event_id: int, body: DiscardIn) -> ReviewOut:
    return await events.discard(actor=request.ctx.user, event_id=event_id, body=body)
