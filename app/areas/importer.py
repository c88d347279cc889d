"""The checks of the GeoJSON import: rows, geometry, overlaps, and what still refers to a cell.

`service.import_areas` runs them in order and writes nothing unless every one passes; each
returns problems in the one shape the import reports: {"feature", "code", "message", …}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from tortoise import Tortoise
from tortoise.functions import Count

from app.areas.geo import LocateIndex, gcj02_to_wgs84_many
from app.areas.models import KIND_DEPTH, Area, AreaKind
from app.areas.overlaps import outside_parent_problems, overlap_problems
from app.areas.schemas import FeatureCollection

Problem = dict[str, Any]


@dataclass
class Row:
    index: int
    code: str
    name: str
    kind: AreaKind
    parent_code: str | None
    geometry: dict | None
    existing_id: int | None = None  # a redraw updates this area in place (its id stays)


def parent_code_of(area: Area) -> str | None:
    """The parent's code, read from the materialised path (no query)."""
    codes = [c for c in area.path.strip("/").split("/") if c]
    return codes[-2] if len(codes) > 1 else None


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


def validate_rows(
    collection: FeatureCollection, crs: str, existing: dict[str, Area],
    replaceable: dict[str, Area],
) -> tuple[list[Row], list[Problem]]:
    """Rows to write and the problems of each feature on its own (codes, levels, geometry).

    `replaceable` holds the areas a redraw may update in place (the subtree being redrawn);
    any other code already in the database is a duplicate.
    """
    errors: list[Problem] = []
    rows: list[Row] = []
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
        existing_id = None
        if props.code in existing:
            old = replaceable.get(props.code)
            if old is None:
                err(i, props.code, "编码已存在")
                continue
            if old.kind != props.kind:
                err(i, props.code, f"重绘不能改变区域层级（原为 {old.kind.value}）")
                continue
            if parent_code_of(old) != props.parent_code:
                # Tickets copy their cell's path: moving a cell would leave them behind.
                err(i, props.code, f"重绘不能改变上级区域（原为 {parent_code_of(old)}）")
                continue
            existing_id = old.id
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
        rows.append(Row(i, props.code, props.name, props.kind, props.parent_code, geometry,
                        existing_id))
    return rows, errors


@dataclass
class CellCheck:
    """The imported cells and their parents as shapely polygons, and candidate neighbours."""

    indexes: list[int]
    codes: list[str]
    geoms: np.ndarray
    at: np.ndarray  # position in `geoms` of each candidate pair with an existing cell
    other_ids: np.ndarray
    other_geoms: np.ndarray
    children: list[tuple[int, str, BaseGeometry, str, BaseGeometry]]


def prepare_cell_check(
    rows: Sequence[Row], existing: dict[str, Area], index: LocateIndex, *, skip_ids: set[int]
) -> CellCheck:
    """Shapes for the rows and their candidate overlaps among the indexed cells.

    Cells in `skip_ids` (those a redraw replaces) are no neighbours of the new ones.
    """
    cells = [r for r in rows if r.kind == AreaKind.GRID and r.geometry is not None]
    geoms = np.empty(len(cells), dtype=object)
    geoms[:] = [shape(g) for r in cells if (g := r.geometry) is not None]
    at, ids, other = index.intersecting(geoms)
    keep = ~np.isin(ids, np.fromiter(skip_ids, dtype=np.int64, count=len(skip_ids)))
    # An area's own row in a redraw (same id) is among the skipped: it never meets itself.
    new_geometry = {r.code: r.geometry for r in rows}
    children = []
    for r in rows:
        if r.geometry is None or not r.parent_code:
            continue
        parent_raw = (new_geometry[r.parent_code] if r.parent_code in new_geometry
                      else getattr(existing.get(r.parent_code), "geometry", None))
        if parent_raw is not None:
            children.append((r.index, r.code, shape(r.geometry), r.parent_code, shape(parent_raw)))
    return CellCheck([r.index for r in cells], [r.code for r in cells], geoms,
                     at[keep], ids[keep], other[keep], children)


def cell_problems(check: CellCheck, codes_by_id: dict[int, str]) -> list[Problem]:
    """Overlaps beyond tolerance (in the file and with existing cells) and parts outside parents."""
    problems = []
    if len(check.geoms):
        problems += overlap_problems(
            indexes=check.indexes, codes=check.codes, geoms=check.geoms,
            others=(check.at, [codes_by_id[i] for i in check.other_ids.tolist()],
                    check.other_geoms),
        )
    if check.children:
        idx, codes, geoms, parent_codes, parent_geoms = zip(*check.children, strict=True)
        problems += outside_parent_problems(
            indexes=idx, codes=codes, geoms=np.array(geoms, dtype=object),
            parent_codes=parent_codes, parent_geoms=np.array(parent_geoms, dtype=object),
        )
    return problems


# What a referring table is called in a refusal; others are named by their table.
_REFERENCE_LABELS = {
    "tickets": "工单", "role_grants": "人员授权", "users": "用户常住地", "routing_rules": "分派规则",
    "polls": "投票", "units": "单位辖区", "areas": "下级区域",
}


async def references_to(ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each area id, how many rows of each table refer to it.

    Found from the ORM's own foreign keys, so the tree needs no knowledge of the domains
    above it (tickets, accounts, routing…), and a new table that points at areas is counted
    without anyone remembering to add it here.
    """
    found: dict[int, dict[str, int]] = {}
    if not ids:
        return found
    for models in Tortoise.apps.values():
        for model in models.values():
            for name in model._meta.fk_fields:
                field = model._meta.fields_map[name]
                if getattr(field, "related_model", None) is not Area:
                    continue
                column = f"{name}_id"
                pairs = await (model.filter(**{f"{column}__in": list(ids)})
                               .annotate(n=Count(model._meta.pk_attr)).group_by(column)
                               .values_list(column, "n"))
                for area_id, n in pairs:
                    found.setdefault(area_id, {})[model._meta.db_table] = n
    return found


def removal_problems(removed: Sequence[Area], refs: dict[int, dict[str, int]],
                     redraw_code: str) -> list[Problem]:
    """One problem per cell a redraw would remove while something still refers to it."""
    problems = []
    for area in removed:
        if area.id not in refs:
            continue
        uses = "、".join(f"{_REFERENCE_LABELS.get(t, t)} {n} 条" for t, n in sorted(refs[area.id].items()))
        problems.append({
            "feature": None, "code": area.code,
            "message": f"重绘 {redraw_code} 时文件中没有这个网格，但它仍被引用（{uses}），不能删除："
                       "请在文件中保留同一编码",
            "references": refs[area.id],
        })
    return problems
