"""Areas: the tree, GeoJSON import (all or nothing), and point → grid cell location."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from shapely.geometry import shape
from tortoise.transactions import in_transaction

from app.areas import importer
from app.areas.geo import LocateHit, LocateIndex, gcj02_to_wgs84
from app.areas.models import KIND_DEPTH, Area, AreaKind, GeometryRevision
from app.areas.overlaps import CrsSource, resolve_crs
from app.areas.schemas import (
    AreaDetail,
    AreaOut,
    AreaRef,
    AreaUpdate,
    Crs,
    FeatureCollection,
    ImportPreview,
    ImportResult,
    LocateOut,
    Point,
    PreviewFeature,
)
from app.core import config_cache
from app.core.errors import Forbidden, Invalid, NotFound
from app.settings import current

log = logging.getLogger("gongzhi.areas")

# Enough to list every overlapping cell of a district-sized file (a refused 801-cell grid laid
# over another district lists all 801); `error_count` still says how many there were.
MAX_REPORTED_ERRORS = 1000
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
    values = changes.model_dump(exclude_none=True)
    for name, value in values.items():
        setattr(area, name, value)
    async with in_transaction("default"):
        # The edited fields only: an import may redraw this row's geometry meanwhile.
        await area.save(update_fields=[*values, "updated_at"])
        await config_cache.bump()  # names shown on tickets come from a per-process cache
    return area_out(area, area.parent.code if area.parent else None)


async def ancestors_of(area: Area) -> list[Area]:
    """The area's ancestors from the root down (excluding itself), in one query."""
    codes = [c for c in area.path.strip("/").split("/")[:-1] if c]
    rows = {a.code: a for a in await Area.filter(code__in=codes)} if codes else {}
    return [rows[c] for c in codes if c in rows]


# --- import -----------------------------------------------------------------------------


def _refuse(errors: list[dict]) -> Invalid:
    return Invalid(
        f"导入失败：{len(errors)} 处错误，未写入任何数据", code="invalid_geojson",
        details={"errors": errors[:MAX_REPORTED_ERRORS], "error_count": len(errors)},
    )


@dataclass
class _Plan:
    """An import checked as far as it can be without the geometry lock."""

    rows: list[importer.Row]
    errors: list[dict]
    existing: dict[str, Area]
    subtree: list[Area]
    removed: list[Area]
    redraw: Area | None
    crs: str
    crs_source: CrsSource
    declared: str


async def _plan(*, collection: FeatureCollection, crs: str | None, actor: TreeEditor | None,
                replace: str | None) -> _Plan:
    """Who may import, the CRS, and every problem of each row on its own (no writes)."""
    if actor is not None and not actor.may_import_areas():
        raise Forbidden("只有管理员可以导入区域")  # before any heavy geometry work
    used_crs, crs_source, declared = resolve_crs(crs, collection.crs)
    if used_crs is None:
        raise Invalid(f"无法识别文件声明的坐标系「{declared}」：请用 ?crs=wgs84|gcj02（命令行 --crs）指明",
                      code="unknown_crs")
    redraw = await get_area_or_raise(code=replace) if replace else None
    if redraw is not None:
        if redraw.kind == AreaKind.GRID:
            raise Invalid("只能重绘区、街道或社区的网格", code="invalid_replace")
        if actor is not None and not actor.may_import_areas(redraw.path):
            raise Forbidden("只能重绘本辖区的网格", code="out_of_scope")
    codes = {f.properties.code for f in collection.features}
    codes |= {f.properties.parent_code for f in collection.features if f.properties.parent_code}
    existing = {a.code: a for a in await Area.filter(code__in=list(codes))}
    subtree = list(await Area.filter(path__startswith=redraw.path)) if redraw else []
    replaceable = {a.code: a for a in subtree}
    existing.update(replaceable)
    rows, errors = await asyncio.to_thread(
        importer.validate_rows, collection, used_crs, existing, replaceable)
    for row in rows:
        parent = existing.get(row.parent_code or "")
        if row.parent_code in codes and parent is None:
            continue  # parent comes in the same file; its own row is checked
        target = parent.path if parent else "/"
        if redraw is not None and row.code != redraw.code and not target.startswith(redraw.path):
            errors.append({"feature": row.index, "code": row.code,
                           "message": f"不在重绘范围 {redraw.code} 之内"})
        elif actor is not None and not actor.may_import_areas(target):
            errors.append({"feature": row.index, "code": row.code, "message": "不在您的管辖范围内"})
    in_file = {r.code for r in rows}
    removed = [a for a in subtree if a.kind == AreaKind.GRID and a.code not in in_file]
    return _Plan(rows, errors, existing, subtree, removed, redraw, used_crs, crs_source, declared)


async def _cell_errors(plan: _Plan, index: LocateIndex) -> list[dict]:
    """Overlaps, parts outside parents, and cells a redraw would remove while still in use."""
    skip = {a.id for a in plan.subtree if a.kind == AreaKind.GRID}
    check = await asyncio.to_thread(importer.prepare_cell_check, plan.rows, plan.existing, index,
                                    skip_ids=skip)
    neighbours = set(check.other_ids.tolist())
    codes_by_id = dict(await Area.filter(id__in=list(neighbours)).values_list("id", "code")
                       ) if neighbours else {}
    errors = await asyncio.to_thread(importer.cell_problems, check, codes_by_id)
    if plan.redraw is not None:
        refs = await importer.references_to([a.id for a in plan.removed])
        errors += importer.removal_problems(plan.removed, refs, plan.redraw.code)
    return errors


async def import_areas(
    *,
    collection: FeatureCollection,
    crs: str | None,
    actor: TreeEditor | None,
    replace: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a FeatureCollection in one transaction: any problem rejects the whole file.

    `actor` None means the command line (trusted operator); through the API only admins may
    import, and only below areas in their scope. `replace` names an area whose cells the file
    redraws (see ImportQuery.replace).
    """
    plan = await _plan(collection=collection, crs=crs, actor=actor, replace=replace)
    rows, errors, removed = plan.rows, plan.errors, plan.removed
    async with in_transaction("default"):
        # Imports run one at a time: two files checked against the same old cells could
        # otherwise both pass and overlap each other.
        locked = await GeometryRevision.all().select_for_update().first()
        errors += await _cell_errors(plan, await _cache.at(locked.revision if locked else 0))
        if errors:
            raise _refuse(errors)
        created, updated = await _write_rows(rows, plan.existing, plan.crs, progress)
        if removed:
            await Area.filter(id__in=[a.id for a in removed]).delete()
        revision = await bump_geometry_revision()
        await config_cache.bump()
    invalidate_index()
    return ImportResult(created=created, updated=updated, removed=len(removed),
                        by_kind=dict(Counter(r.kind.value for r in rows)),
                        geometry_revision=revision, crs=cast(Crs, plan.crs),
                        crs_source=plan.crs_source)


async def preview_import(*, collection: FeatureCollection, crs: str | None,
                         actor: TreeEditor | None, replace: str | None = None) -> ImportPreview:
    """A dry run of `import_areas`: every check against the cells as they are now, no write.

    Problems come back as data (all of them, not a refusal), with the shapes in WGS-84, so a
    person can look before importing; the import itself checks everything again under its lock.
    """
    plan = await _plan(collection=collection, crs=crs, actor=actor, replace=replace)
    errors = plan.errors + await _cell_errors(plan, await _cache.get())
    errors.sort(key=lambda e: (e["feature"] is None, e["feature"] or 0))
    return ImportPreview(
        error_count=len(errors), errors=errors[:MAX_REPORTED_ERRORS],
        creates=sum(r.existing_id is None for r in plan.rows),
        updates=sum(r.existing_id is not None for r in plan.rows), removes=len(plan.removed),
        by_kind=dict(Counter(r.kind.value for r in plan.rows)), crs=cast(Crs, plan.crs),
        crs_source=plan.crs_source, crs_declared=plan.declared,
        features=[PreviewFeature(index=r.index, code=r.code, name=r.name, kind=r.kind.value,
                                 parent_code=r.parent_code, geometry=r.geometry)
                  for r in plan.rows if r.geometry is not None],
    )


async def _write_rows(rows: list[importer.Row], existing: dict[str, Area], crs: str,
                      progress: Callable[[int], None] | None) -> tuple[int, int]:
    """Create the new areas level by level (parents first) and redraw the kept ones in place."""
    by_code = dict(existing)
    created = updated = 0
    for kind in sorted(AreaKind, key=lambda k: KIND_DEPTH[k]):
        level = [r for r in rows if r.kind == kind]
        for r in (r for r in level if r.existing_id is not None):
            # Same id, so tickets and grants on the area stay on it.
            await Area.filter(id=r.existing_id).update(name=r.name, geometry=r.geometry,
                                                        source_crs=crs)
            updated += 1
        new = [r for r in level if r.existing_id is None]
        if new:
            objs = []
            for r in new:
                parent = by_code.get(r.parent_code) if r.parent_code else None
                objs.append(Area(
                    code=r.code, name=r.name, kind=r.kind, parent_id=parent.id if parent else None,
                    path=f"{parent.path if parent else '/'}{r.code}/", geometry=r.geometry,
                    source_crs=crs,
                ))
            await Area.bulk_create(objs, batch_size=500)
            for area in await Area.filter(code__in=[r.code for r in new]):
                by_code[area.code] = area
            created += len(new)
        if progress and level:
            progress(len(level))
    return created, updated


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
            return await self._fresh(row.revision if row else 0)

    async def at(self, revision: int) -> LocateIndex:
        """The index at exactly this revision (the import holds it locked), rebuilt if older."""
        async with self.lock:
            return await self._fresh(revision)

    async def _fresh(self, revision: int) -> LocateIndex:
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


# What the caches keep of an area: no geometry.
AREA_COLUMNS = ("id", "code", "name", "kind", "path", "parent_id")


@config_cache.lookup
async def _areas(ids: list[int]) -> dict[int, Area]:
    rows = await Area.filter(id__in=ids).only(*AREA_COLUMNS)
    return {a.id: a for a in rows}


async def areas_by_id(ids: Iterable[int]) -> dict[int, Area]:
    """Areas without their geometry, from this process's cache: read-only."""
    return await _areas.get_many(ids)


@config_cache.lookup
async def _areas_by_code(codes: list[str]) -> dict[str, Area]:
    rows = await Area.filter(code__in=codes).only(*AREA_COLUMNS)
    return {a.code: a for a in rows}


async def area_by_code(code: str) -> Area | None:
    """An area without its geometry (a district's polygon is large), from this process's
    cache: read-only; None for a code no area has."""
    found = await _areas_by_code.get(code)
    if found is None:  # the column's collation may match what the exact key does not
        found = await Area.get_or_none(code=code).only(*AREA_COLUMNS)
    return found


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

