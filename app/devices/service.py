"""The device registry and the event-type table: admins register cameras and sensors (one by
one or from a CSV / GeoJSON file, all or nothing) and say what each event type means."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.accounts.scope import Role, scope_of
from app.areas import service as areas
from app.areas.models import Area
from app.catalog import service as catalog
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.paging import Ordering, keyset_page
from app.devices import importer
from app.devices.models import Device, DeviceEventType
from app.devices.schemas import (
    DeviceCreate,
    DeviceImport,
    DeviceImportResult,
    DeviceOut,
    DevicePage,
    DeviceQuery,
    DeviceUpdate,
    EventTypeIn,
    EventTypeList,
    EventTypeOut,
)
from app.integrations.models import Integration, IntegrationKind
from app.tickets.schemas import Location
from app.units.models import Unit

ORDER = Ordering.of("id")
DEVICE_KINDS = (IntegrationKind.CAMERA, IntegrationKind.SENSOR)


def require_admin(actor: User) -> None:
    if not scope_of(actor).has(Role.ADMIN):
        raise Forbidden("只有管理员可以管理设备", code="admin_only")


def _admin_paths(actor: User) -> Q | None:
    """The admin's areas as a filter on `area_path` (None: the whole city)."""
    scope = scope_of(actor)
    if scope.is_city_wide(Role.ADMIN):
        return None
    condition = Q(id=-1)
    for path in scope.paths(Role.ADMIN):
        condition |= Q(area_path__startswith=path)
    return condition


async def _cell_of(location: Location, actor: User) -> Area:
    cell = await areas.locate_cell(lng=location.lng, lat=location.lat, crs=location.crs)
    if cell is None:
        raise Invalid("该位置不在本平台服务范围内", code="outside_service_area")
    if not scope_of(actor).covers(cell.path, Role.ADMIN):
        raise Forbidden("只能登记自己管理区域内的设备", code="outside_my_area")
    return cell


async def _integration_id(code: str) -> int:
    found = await Integration.get_or_none(code=code)
    if found is None or found.kind not in DEVICE_KINDS:
        raise Invalid("找不到该摄像头或传感器接入平台", code="unknown_integration",
                      details={"integration": code})
    return found.id


async def _check_unit(unit_id: int | None) -> None:
    if unit_id is not None and not await Unit.exists(id=unit_id):
        raise Invalid("找不到该处置单位", code="unknown_unit", details={"unit_id": unit_id})


async def _outs(devices: list[Device]) -> list[DeviceOut]:
    cells = await areas.areas_by_id({d.cell_id for d in devices})
    codes = dict(await Integration.filter(id__in={d.integration_id for d in devices})
                 .values_list("id", "code"))
    return [DeviceOut.from_model(d, cell_code=cells[d.cell_id].code if d.cell_id in cells
                                 else "", integration=str(codes.get(d.integration_id, "")))
            for d in devices]


async def _out(device: Device) -> DeviceOut:
    return (await _outs([device]))[0]


async def _located(location: Location, actor: User) -> dict[str, Any]:
    cell = await _cell_of(location, actor)
    return {"lng": location.lng, "lat": location.lat, "crs": location.crs, "cell_id": cell.id,
            "area_path": cell.path}


async def create_device(*, actor: User, data: DeviceCreate) -> DeviceOut:
    """Register a camera or sensor in the admin's area; 409 if the code is taken."""
    require_admin(actor)
    values = await _located(data.location, actor)
    await _check_unit(data.unit_id)
    integration_id = await _integration_id(data.integration)
    try:
        device = await Device.create(code=data.code, name=data.name, kind=data.kind,
                                     vendor=data.vendor, address=data.address,
                                     unit_id=data.unit_id, integration_id=integration_id,
                                     is_active=data.is_active, **values)
    except IntegrityError:
        raise Conflict("该设备编码已存在", code="device_exists") from None
    return await _out(device)


async def _device_for(actor: User, code: str) -> Device:
    device = await Device.get_or_none(code=code)
    if device is None or not scope_of(actor).covers(device.area_path, Role.ADMIN):
        raise NotFound("找不到该设备", code="device_not_found")
    return device


async def get_device(*, actor: User, code: str) -> DeviceOut:
    require_admin(actor)
    return await _out(await _device_for(actor, code))


async def update_device(*, actor: User, code: str, changes: DeviceUpdate) -> DeviceOut:
    """Change a device's fields (only those sent), by field: never a full-row save."""
    require_admin(actor)
    device = await _device_for(actor, code)
    sent = changes.model_dump(exclude_unset=True)
    values: dict[str, Any] = {k: sent[k] for k in ("name", "kind", "vendor", "address",
                                                     "is_active") if sent.get(k) is not None}
    if "unit_id" in sent:  # null clears the owning unit
        await _check_unit(changes.unit_id)
        values["unit_id"] = changes.unit_id
    if changes.location is not None:
        values |= await _located(changes.location, actor)
    if changes.integration is not None:
        values["integration_id"] = await _integration_id(changes.integration)
    if values:
        await Device.filter(id=device.id).update(**values)
    return await _out(await Device.get(id=device.id))


async def list_devices(*, actor: User, query: DeviceQuery) -> DevicePage:
    require_admin(actor)
    qs = Device.all()
    if (within := _admin_paths(actor)) is not None:
        qs = qs.filter(within)
    if query.kind is not None:
        qs = qs.filter(kind=query.kind)
    if query.is_active is not None:
        qs = qs.filter(is_active=query.is_active)
    if query.integration is not None:
        qs = qs.filter(integration_id__in=Integration.filter(code=query.integration)
                       .values_list("id", flat=True))
    rows, nxt = await keyset_page(qs, ordering=ORDER, limit=query.limit, cursor=query.cursor)
    return DevicePage(items=await _outs(rows), next=nxt)


async def import_devices(*, actor: User, data: DeviceImport) -> DeviceImportResult:
    """Create or update every device of the file, or none: 422 with every problem found."""
    require_admin(actor)
    rows, problems = importer.parse(data.format, data.content)
    resolved: list[tuple[str, dict[str, Any]]] = []
    integrations: dict[str, int] = {}
    for row in rows:
        item = row.data
        try:
            values = await _located(item.location, actor)
            await _check_unit(item.unit_id)
            if item.integration not in integrations:
                integrations[item.integration] = await _integration_id(item.integration)
        except AppError as exc:
            problems.append({"row": row.line, "code": exc.code, "message": exc.message})
            continue
        values.update(name=item.name, kind=item.kind, vendor=item.vendor, address=item.address,
                      unit_id=item.unit_id, integration_id=integrations[item.integration],
                      is_active=item.is_active)
        resolved.append((item.code, values))
    if problems:
        raise Invalid("设备文件有误，未导入任何设备", code="import_invalid",
                      details={"problems": problems[:200], "count": len(problems)})
    created = updated = 0
    try:
        async with in_transaction("default"):
            existing = {d.code: d for d in await Device.filter(
                code__in=[code for code, _ in resolved])}
            for code, values in resolved:
                known = existing.get(code)
                if known is not None:
                    if not scope_of(actor).covers(known.area_path, Role.ADMIN):
                        raise Forbidden("文件中的设备不在您管理的区域内", code="outside_my_area",
                                        details={"code": code})
                    await Device.filter(id=known.id).update(**values)
                    updated += 1
                else:
                    await Device.create(code=code, **values)
                    created += 1
    except IntegrityError:
        raise Conflict("导入时设备已被他人登记，请重试", code="device_exists") from None
    return DeviceImportResult(created=created, updated=updated)


# --- event types ------------------------------------------------------------------------------


async def list_event_types(*, actor: User) -> EventTypeList:
    require_admin(actor)
    rows = await DeviceEventType.all().order_by("event_type").limit(500)
    return EventTypeList(items=[EventTypeOut.from_model(r) for r in rows])


async def put_event_type(*, actor: User, event_type: str, data: EventTypeIn) -> EventTypeOut:
    """Set what an event type means (city-wide configuration, like the catalogue)."""
    require_admin(actor)
    if not importer.EVENT_TYPE.fullmatch(event_type):
        raise Invalid("事件类型须为小写字母、数字或下划线", code="invalid_event_type")
    await catalog.get_active_leaf_or_raise(code=data.category_code)
    values = data.model_dump()
    if not await DeviceEventType.filter(event_type=event_type).update(**values):
        try:
            await DeviceEventType.create(event_type=event_type, **values)
        except IntegrityError:  # made by a concurrent call a moment ago: ours is the newer
            await DeviceEventType.filter(event_type=event_type).update(**values)
    return EventTypeOut.from_model(await DeviceEventType.get(event_type=event_type))
