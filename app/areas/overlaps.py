"""Pure rules of the grid import: which cells overlap, which stick out of their parent, which CRS.

Locating a point picks the lowest-id cell among those covering it, so overlapping cells would
silently send reports to whichever cell is older. The import therefore refuses overlaps, with a
tolerance for the slivers that digitising leaves along shared borders (two tracings of the same
street never agree to the centimetre). Areas are in square metres (see `geo.area_m2`).

No database or web code lives here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import shapely

from app.areas.geo import area_m2

__all__ = [
    "OVERLAP_TOLERANCE_M2",
    "OVERLAP_TOLERANCE_SHARE",
    "CrsSource",
    "is_sliver",
    "outside_parent_problems",
    "overlap_problems",
    "resolve_crs",
]

# A sliver is tolerated when it is under BOTH limits: 100 m² is a 0.3 m wide strip along a
# 300 m border, below what GPS can tell apart; the 1 % share keeps small cells (a market, a
# block) from losing a meaningful part of themselves to a neighbour within those 100 m².
OVERLAP_TOLERANCE_M2 = 100.0
OVERLAP_TOLERANCE_SHARE = 0.01

_TOLERANCE_TEXT = f"容差为 {OVERLAP_TOLERANCE_M2:g} m² 且不超过较小网格的 {OVERLAP_TOLERANCE_SHARE:.0%}"


def is_sliver(overlap_m2: float, smaller_m2: float) -> bool:
    """True when an overlap (or a part outside the parent) is small enough to be tolerated."""
    return overlap_m2 < OVERLAP_TOLERANCE_M2 and overlap_m2 < OVERLAP_TOLERANCE_SHARE * smaller_m2


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        # A rare robustness failure of GEOS on nearly collinear borders: snapping both to a
        # 1 mm grid (1e-8 degrees) changes no area we care about and lets it finish.
        return shapely.intersection(a, b, grid_size=1e-8)


def _describe(overlaps: list[dict[str, Any]]) -> str:
    parts = "、".join(f"{o['code']}（{o['area_m2']:.1f} m²）" for o in overlaps)
    return f"与网格 {parts} 重叠，超出容差（{_TOLERANCE_TEXT}）"


def overlap_problems(
    *,
    indexes: Sequence[int],
    codes: Sequence[str],
    geoms: np.ndarray,
    others: tuple[np.ndarray, Sequence[str], np.ndarray],
) -> list[dict[str, Any]]:
    """One problem per imported cell that overlaps another beyond tolerance, listing them all.

    `indexes`, `codes`, `geoms` describe the imported cells (feature index, code, WGS-84
    polygon); `others` are candidate pairs with existing cells already found by a spatial
    index: (position in `geoms`, existing code, existing polygon). Pairs inside the file are
    found here with a shapely STRtree, so the work grows with neighbours, not with n².
    """
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    own_m2 = area_m2(geoms)

    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if i.size:
        m2 = area_m2(_intersection(geoms[i], geoms[j]))
        for a, b, m in zip(i.tolist(), j.tolist(), m2.tolist(), strict=True):
            if not is_sliver(m, min(own_m2[a], own_m2[b])):
                found[a].append({"code": codes[b], "area_m2": round(m, 1)})
                found[b].append({"code": codes[a], "area_m2": round(m, 1)})

    at, other_codes, other_geoms = others
    if len(at):
        m2 = area_m2(_intersection(geoms[at], other_geoms))
        other_m2 = area_m2(other_geoms)
        for a, code, m, o in zip(at.tolist(), other_codes, m2.tolist(), other_m2.tolist(),
                                 strict=True):
            if not is_sliver(m, min(own_m2[a], o)):
                found[a].append({"code": code, "area_m2": round(m, 1)})

    problems = []
    for a in sorted(found, key=lambda k: indexes[k]):
        overlaps = sorted(found[a], key=lambda o: (-o["area_m2"], o["code"]))
        problems.append({"feature": indexes[a], "code": codes[a], "message": _describe(overlaps),
                         "overlaps": overlaps})
    return problems


def outside_parent_problems(
    *,
    indexes: Sequence[int],
    codes: Sequence[str],
    geoms: np.ndarray,
    parent_codes: Sequence[str],
    parent_geoms: np.ndarray,
) -> list[dict[str, Any]]:
    """One problem per area whose part outside its parent's polygon exceeds the tolerance."""
    if len(geoms) == 0:
        return []
    outside = area_m2(geoms) - area_m2(_intersection(geoms, parent_geoms))
    own = area_m2(geoms)
    problems = []
    for k, (m, size) in enumerate(zip(outside.tolist(), own.tolist(), strict=True)):
        m = max(m, 0.0)  # the subtraction can leave -1e-9 for a cell exactly inside
        if not is_sliver(m, size):
            problems.append({
                "feature": indexes[k], "code": codes[k],
                "message": f"有 {m:.1f} m² 超出上级区域 {parent_codes[k]} 的边界（{_TOLERANCE_TEXT}）",
                "outside_parent": {"code": parent_codes[k], "area_m2": round(m, 1)},
            })
    return problems


# --- CRS --------------------------------------------------------------------------------

CrsSource = Literal["query", "file", "assumed"]
CrsName = Literal["wgs84", "gcj02"]

# Names a file may declare, squeezed to lower-case letters and digits. CGCS2000 (EPSG:4490,
# China's official datum) differs from WGS-84 by centimetres: stored as WGS-84 unchanged.
_WGS84_NAMES = ("wgs84", "wgs1984", "crs84", "epsg4326", "cgcs2000", "epsg4490")
_GCJ02_NAMES = ("gcj02", "gcj2", "gcj")


def _declared_name(declared: str | dict[str, Any]) -> str:
    if isinstance(declared, str):
        return declared
    props = declared.get("properties")
    if isinstance(props, dict):
        if isinstance(props.get("name"), str):
            return str(props["name"])  # {"type": "name", "properties": {"name": "urn:…"}}
        if declared.get("type") == "EPSG" and props.get("code") is not None:
            return f"EPSG:{props['code']}"  # the pre-2008 {"type": "EPSG", …} form
    return str(declared)[:80]


def resolve_crs(
    query: str | None, declared: str | dict[str, Any] | None
) -> tuple[CrsName | None, CrsSource, str]:
    """(crs, where it came from, the declared name): `?crs=` wins, then the file, then WGS-84.

    crs None means the file declares a CRS we do not know: the caller refuses it rather than
    guess, since a wrong guess shifts every cell by hundreds of metres.
    """
    if query:
        return cast(CrsName, query), "query", ""  # the route and the CLI allow only the two
    if declared is None:
        return "wgs84", "assumed", ""
    name = _declared_name(declared)
    squeezed = re.sub(r"[^0-9a-z]", "", name.lower())
    if squeezed.endswith(_WGS84_NAMES):
        return "wgs84", "file", name
    if squeezed.endswith(_GCJ02_NAMES) or "gcj02" in squeezed:
        return "gcj02", "file", name
    return None, "file", name
