"""Areas: the tree, GeoJSON import (all or nothing), and point → grid cell location."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from tortoise.transactions import in_transaction

from app.areas.geo import LocateHit, LocateIndex, gcj02_to_wgs84, gcj02_to_wgs84_many
from app.areas.models import KIND_DEPTH, Area, AreaKind, GeometryRevision
from app.areas.schemas import (
    AreaDetail,
    AreaOut,
    AreaRef,
    AreaUpdate,
    FeatureCollection,
    ImportResult,
    LocateOut,
    Point,
)
from app.core import config_cache
from app.core.errors import Forbidden, Invalid, NotFound
from app.settings import current

log = logging.getLogger("gongzhi.areas")

MAX_REPORTED_ERRORS = 100
# How often a process asks the database whether the geometry changed (seconds).
REVISION_CHECK_INTERVAL = 2.0


class TreeEditor(Protocol):
    """Whoever changes the tree through the API (accounts' `User`).

    The tree sits below accounts: it knows no users or roles, so it asks the caller; accounts
    answers from their roles.
    """

    def may_edit_area(self, path: str) -> bool: ...

    def may_import_areas(self, under: str | None = None) -> bool: ...


def area_ref(area: Area | None) -> AreaRef | None:
    if area is None:
        return None
    return AreaRef(id=area.id, code=area.code, name=area.name, kind=area.kind, path=area.path)


def area_out(area: Area, parent_code: str | None = None) -> AreaOut:
    return AreaOut(
        id=area.id, code=area.code, name=area.name, kind=area.kind, path=area.path,
        parent_code=parent_code, has_geometry=area.geometry is not None,
        office_address=area.office_address, office_phone=area.office_phone,
    )


async def get_area_or_raise(*, code: str) -> Area:
    area = await Area.get_or_none(code=code).select_related("parent")
    if area is None:
        raise NotFound("找不到该区域", code="area_not_found")
    return area


async def list_children(*, parent_code: str | None) -> list[AreaOut]:
    if parent_code is None:
        rows = await Area.filter(parent_id=None).order_by("code")
        return [area_out(a) for a in rows]
    parent = await get_area_or_raise(code=parent_code)
    rows = await Area.filter(parent_id=parent.id).order_by("code")
    return [area_out(a, parent.code) for a in rows]


async def get_detail(*, code: str) -> AreaDetail:
    area = await get_area_or_raise(code=code)
    out = area_out(area, area.parent.code if area.parent else None)
    return AreaDetail(**out.model_dump(), geometry=area.geometry)


async def update_area(*, actor: TreeEditor, code: str, changes: AreaUpdate) -> AreaOut:
    """Admins and the community's own staff may edit names and office contacts."""
    area = await get_area_or_raise(code=code)
    if not actor.may_edit_area(area.path):
        raise Forbidden("只能修改本辖区的信息", code="out_of_scope")
    for name, value in changes.model_dump(exclude_none=True).items():
        setattr(area, name, value)
    async with in_transaction():
        await area.save()
        await config_cache.bump()  # names shown on tickets come from a per-process cache
    return area_out(area, area.parent.code if area.parent else None)


async def ancestors_of(area: Area) -> list[Area]:
    """The area's ancestors from the root down (excluding itself), in one query."""
    codes = [c for c in area.path.strip("/").split("/")[:-1] if c]
    rows = {a.code: a for a in await Area.filter(code__in=codes)} if codes else {}
    return [rows[c] for c in codes if c in rows]


# --- import -----------------------------------------------------------------------------


@dataclass
class _Row:
    index: int
    code: str
    name: str
    kind: AreaKind
    parent_code: str | None
    geometry: dict | None


def _to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    def convert(coords: np.ndarray) -> np.ndarray:
        lngs, lats = gcj02_to_wgs84_many(coords[:, 0], coords[:, 1])
        return np.column_stack([lngs, lats])

    return shapely.transform(geom, convert)


def _check_geometry(raw: dict, crs: str) -> tuple[dict | None, str | None]:
    """(WGS-84 GeoJSON, None) for a valid polygon, else (None, what is wrong)."""
    if raw.get("type") not in ("Polygon", "MultiPolygon"):
        return None, "几何类型必须是 Polygon 或 MultiPolygon"
    try:
        geom = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError,
            shapely.errors.GEOSException):
        return None, "几何坐标格式有误"
    if geom.is_empty:
        return None, "几何为空"
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90) or not all(
        np.isfinite(geom.bounds)
    ):
        return None, "坐标超出经纬度范围"
    if not geom.is_valid:
        return None, f"几何无效：{explain_validity(geom)}"
    if crs == "gcj02":
        geom = _to_wgs84(geom)
    return mapping(geom), None


def _validate_rows(
    collection: FeatureCollection, crs: str, existing: dict[str, Area]
) -> tuple[list[_Row], list[dict]]:
    errors: list[dict] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    kinds: dict[str, AreaKind] = {code: area.kind for code, area in existing.items()}
    for feature in collection.features:
        kinds.setdefault(feature.properties.code, feature.properties.kind)

    def err(index: int, code: str, message: str) -> None:
        errors.append({"feature": index, "code": code, "message": message})

    for i, feature in enumerate(collection.features):
        props = feature.properties
        if props.code in seen:
            err(i, props.code, f"编码重复（与第 {seen[props.code]} 个要素相同）")
            continue
        seen[props.code] = i
        if props.code in existing:
            err(i, props.code, "编码已存在")
            continue
        if props.kind == AreaKind.DISTRICT:
            if props.parent_code:
                err(i, props.code, "区（县）不应有上级")
        elif not props.parent_code:
            err(i, props.code, "缺少上级区域编码 parent_code")
        elif props.parent_code not in kinds:
            err(i, props.code, f"上级区域 {props.parent_code} 不存在")
        elif KIND_DEPTH[kinds[props.parent_code]] != KIND_DEPTH[props.kind] - 1:
            err(i, props.code, f"上级区域 {props.parent_code} 的层级不对")
        geometry = None
        if feature.geometry is not None:
            geometry, problem = _check_geometry(feature.geometry, crs)
            if problem:
                err(i, props.code, problem)
        elif props.kind == AreaKind.GRID:
            err(i, props.code, "网格必须有边界几何")
        rows.append(_Row(i, props.code, props.name, props.kind, props.parent_code, geometry))
    return rows, errors


async def import_areas(
    *,
    collection: FeatureCollection,
    crs: str | None,
    actor: TreeEditor | None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a FeatureCollection in one transaction: any problem rejects the whole file.

    `actor` None means the command line (trusted operator); through the API only admins may
    import, and only below areas in their scope.
    """
    if actor is not None and not actor.may_import_areas():
        raise Forbidden("只有管理员可以导入区域")  # before any heavy geometry work
    crs = crs or (collection.crs if isinstance(collection.crs, str) else None) or "wgs84"
    codes = {f.properties.code for f in collection.features}
    codes |= {f.properties.parent_code for f in collection.features if f.properties.parent_code}
    existing = {a.code: a for a in await Area.filter(code__in=list(codes))}
    rows, errors = await asyncio.to_thread(_validate_rows, collection, crs, existing)
    if actor is not None:
        allowed: dict[str, bool] = {}  # asked once per parent, not once per row
        for row in rows:
            parent = existing.get(row.parent_code or "")
            if row.parent_code in codes and parent is None:
                continue  # parent comes in the same file; its own row is checked
            target = parent.path if parent else "/"
            if target not in allowed:
                allowed[target] = actor.may_import_areas(target)
            if not allowed[target]:
                errors.append({"feature": row.index, "code": row.code,
                               "message": "不在您的管辖范围内"})
    if errors:
        raise Invalid(
            f"导入失败：{len(errors)} 处错误，未写入任何数据", code="invalid_geojson",
            details={"errors": errors[:MAX_REPORTED_ERRORS], "error_count": len(errors)},
        )
    done = 0
    async with in_transaction():
        by_code = dict(existing)
        for kind in sorted(AreaKind, key=lambda k: KIND_DEPTH[k]):
            level = [r for r in rows if r.kind == kind]
            if not level:
                continue
            objs = []
            for r in level:
                parent = by_code.get(r.parent_code) if r.parent_code else None
                objs.append(Area(
                    code=r.code, name=r.name, kind=r.kind, parent_id=parent.id if parent else None,
                    path=f"{parent.path if parent else '/'}{r.code}/", geometry=r.geometry,
                    source_crs=crs,
                ))
            await Area.bulk_create(objs, batch_size=500)
            for area in await Area.filter(code__in=[r.code for r in level]):
                by_code[area.code] = area
            done += len(level)
            if progress:
                progress(len(level))
        revision = await bump_geometry_revision()
        await config_cache.bump()
    invalidate_index()
    return ImportResult(created=done, by_kind=dict(Counter(r.kind.value for r in rows)),
                        geometry_revision=revision)


async def bump_geometry_revision() -> int:
    """Call inside the transaction that changes geometry; other processes rebuild on it."""
    row = await GeometryRevision.all().select_for_update().first()
    if row is None:
        row = await GeometryRevision.create(revision=1)
    else:
        row.revision += 1
        await row.save(update_fields=["revision", "updated_at"])
    return row.revision


# --- locate -----------------------------------------------------------------------------


class _IndexCache:
    """This process's LocateIndex, rebuilt when the database's geometry revision moves on."""

    def __init__(self) -> None:
        self.index: LocateIndex | None = None
        self.revision: int | None = None
        self.checked_at = 0.0
        self.lock = asyncio.Lock()

    async def get(self) -> LocateIndex:
        if self.index is not None and time.monotonic() - self.checked_at < REVISION_CHECK_INTERVAL:
            return self.index
        async with self.lock:
            if self.index is not None and time.monotonic() - self.checked_at < REVISION_CHECK_INTERVAL:
                return self.index
            row = await GeometryRevision.first()
            revision = row.revision if row else 0
            if self.index is None or revision != self.revision:
                cells = await Area.filter(kind=AreaKind.GRID, geometry__not_isnull=True).values_list(
                    "id", "geometry"
                )
                tolerance = current().locate_tolerance_m
                # Building over 200,000 cells takes about a second: keep it off the event loop.
                self.index = await asyncio.to_thread(
                    lambda: LocateIndex([(i, shape(g)) for i, g in cells], tolerance_m=tolerance)
                )
                self.revision = revision
                log.info("locate index built: %d cells, geometry revision %s", len(cells), revision)
            self.checked_at = time.monotonic()
            return self.index


_cache = _IndexCache()


def invalidate_index() -> None:
    _cache.checked_at = 0.0
    _cache.revision = None


@config_cache.lookup
async def _areas(ids: list[int]) -> dict[int, Area]:
    rows = await Area.filter(id__in=ids).only("id", "code", "name", "kind", "path", "parent_id")
    return {a.id: a for a in rows}


async def areas_by_id(ids: Iterable[int]) -> dict[int, Area]:
    """Areas without their geometry, from this process's cache: read-only."""
    return await _areas.get_many(ids)


async def _locate_hit(lng: float, lat: float, crs: str) -> tuple[Point, LocateHit | None]:
    wgs_lng, wgs_lat = gcj02_to_wgs84(lng, lat) if crs == "gcj02" else (lng, lat)
    hit = (await _cache.get()).locate(wgs_lng, wgs_lat)
    return Point(lng=round(wgs_lng, 7), lat=round(wgs_lat, 7)), hit


async def locate_cell(*, lng: float, lat: float, crs: str) -> Area | None:
    """The grid cell holding the point (or snapped to it), without geometry; None if none."""
    _, hit = await _locate_hit(lng, lat, crs)
    return None if hit is None else await _areas.get(hit.area_id)


async def _cached_ancestors(area: Area) -> list[Area]:
    """`ancestors_of` from this process's cache: no query, and no polygons read."""
    chain: list[Area] = []
    parent_id = area.parent_id
    while parent_id is not None and (parent := await _areas.get(parent_id)) is not None:
        chain.append(parent)
        parent_id = parent.parent_id
    return chain[::-1]


async def locate(*, lng: float, lat: float, crs: str) -> LocateOut:
    """Which grid cell holds the point, with its ancestors; says so when none does."""
    point, hit = await _locate_hit(lng, lat, crs)
    # Names from the cache: a district's polygon can be large, and locating is what
    # the mini-program does each time a resident moves the map pin.
    cell = None if hit is None else await _areas.get(hit.area_id)
    if hit is None or cell is None:
        return LocateOut(found=False, wgs84=point, message="该位置不在任何网格内")
    ancestors: list[AreaRef] = [a for a in map(area_ref, await _cached_ancestors(cell)) if a]
    return LocateOut(
        found=True, cell=area_ref(cell), ancestors=ancestors, snapped=hit.snapped,
        distance_m=round(hit.distance_m, 1), wgs84=point,
    )

