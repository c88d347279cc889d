"""Generators of realistic, irregular grid cells for demos, tests and benchmarks.

Real grid cells follow streets and are never squares, so everything here is built
from clipped Voronoi diagrams of jittered seed points: cells are irregular polygons
that tile their parent with shared borders. All output is WGS-84 (lng, lat).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

__all__ = ["demo_district_geojson", "synthetic_cells", "voronoi_cells"]

# Jitter as a fraction of the seed spacing: large enough that no cell looks like a
# square or a hexagon, small enough that cells stay of comparable size.
_JITTER = 0.45
_M_PER_DEG_LAT = 6371008.8 * math.pi / 180.0
# 1e-7 degrees ~ 1 cm: the precision GeoJSON output is rounded to.
_GEOJSON_DECIMALS = 7


def _jittered_grid(
    bounds: tuple[float, float, float, float], spacing: float, rng: np.random.Generator
) -> np.ndarray:
    """Seed points on a grid of `spacing` over `bounds`, each moved by random jitter."""
    minx, miny, maxx, maxy = bounds
    xs = np.arange(minx + spacing / 2, maxx, spacing)
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-_JITTER, _JITTER, size=pts.shape) * spacing
    return pts


def _largest_polygon(geom: Any) -> Polygon | None:
    """The largest Polygon part of `geom`, or None if it has no area."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return geom if geom.area > 0 else None
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return None
    return max(parts, key=lambda g: g.area)


def _valid_polygon(geom: shapely.Geometry) -> Polygon | None:
    """`geom` as a single valid Polygon (largest part), or None if nothing is left."""
    poly = _largest_polygon(geom)
    if poly is not None and not poly.is_valid:
        poly = _largest_polygon(shapely.make_valid(poly))
    return poly


def _reading_order(cells: list[Polygon], spacing: float) -> list[Polygon]:
    """Cells sorted in rows north to south, west to east, so numbering reads naturally."""
    pts = shapely.point_on_surface(np.array(cells, dtype=object))
    xs, ys = shapely.get_x(pts), shapely.get_y(pts)
    rows = np.floor(-ys / spacing)
    order = np.lexsort((xs, rows))
    return [cells[i] for i in order]


def voronoi_cells(boundary: Polygon, n: int, seed: int) -> list[Polygon]:
    """`n` irregular cells tiling `boundary` with shared borders; deterministic per seed.

    Seeds are a jittered grid inside the boundary (denser grids are tried until at
    least `n` fall inside, then a random `n` are kept); cells are their Voronoi regions
    clipped to the boundary. Each result is a valid Polygon: when clipping splits a
    region the largest part is kept, and empty regions are dropped, so in rare cases
    fewer than `n` cells come back. Cells are ordered north to south, west to east.
    """
    if n <= 0:
        return []
    if n == 1:
        poly = _valid_polygon(boundary)
        return [poly] if poly is not None else []
    rng = np.random.default_rng(seed)
    spacing = math.sqrt(boundary.area / n)
    bounds = boundary.bounds
    while True:
        pts = _jittered_grid(bounds, spacing, rng)
        pts = pts[shapely.contains_xy(boundary, pts[:, 0], pts[:, 1])]
        if len(pts) >= n:
            break
        # Shrink the spacing in proportion to the shortfall (with a margin) and retry.
        spacing *= math.sqrt(max(len(pts), 1) / n) * 0.95
    if len(pts) > n:
        pts = pts[np.sort(rng.choice(len(pts), size=n, replace=False))]

    regions = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=boundary)
    clipped = shapely.intersection(shapely.get_parts(regions), boundary)
    cells = [p for p in (_valid_polygon(g) for g in clipped) if p is not None]
    return _reading_order(cells, spacing)


def synthetic_cells(n: int, seed: int) -> list[Polygon]:
    """`n` irregular cells of ~10,000 m^2 each (about 100 m x 100 m) near lng 116.9, lat 36.6.

    Meant for benchmarks: a jittered seed grid of exactly `n` points in a box, Voronoi,
    clipped to the box in one vectorised call. Handles n = 200,000 in a few seconds.
    """
    if n <= 0:
        return []
    center_lng, center_lat = 116.9, 36.6
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    # Work in metres around the centre, then map to degrees with the local scale.
    spacing_m = 100.0
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(cols), np.arange(rows))
    xy = np.column_stack([gx.ravel(), gy.ravel()])[:n].astype(np.float64) + 0.5
    xy += rng.uniform(-_JITTER, _JITTER, size=xy.shape)
    xy *= spacing_m
    # Box sized to the occupied rows so the mean cell stays ~100 m x 100 m.
    width_m = cols * spacing_m
    height_m = math.ceil(n / cols) * spacing_m
    m_per_deg_lng = _M_PER_DEG_LAT * math.cos(math.radians(center_lat))
    min_lng = center_lng - width_m / 2 / m_per_deg_lng
    min_lat = center_lat - height_m / 2 / _M_PER_DEG_LAT
    lngs = min_lng + xy[:, 0] / m_per_deg_lng
    lats = min_lat + xy[:, 1] / _M_PER_DEG_LAT
    box = shapely.box(
        min_lng, min_lat, min_lng + width_m / m_per_deg_lng, min_lat + height_m / _M_PER_DEG_LAT
    )

    regions = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(np.column_stack([lngs, lats])), extend_to=box)
    )
    # Only regions touching the box edge need clipping; the rest are inside already.
    needs_clip = ~shapely.contains_properly(box, regions)
    regions[needs_clip] = shapely.intersection(regions[needs_clip], box)
    # Vectorised checks first: almost every region is already a valid, non-empty
    # Polygon, and a per-cell Python check would dominate the run time at 200,000.
    fine = (
        (shapely.get_type_id(regions) == shapely.GeometryType.POLYGON)
        & shapely.is_valid(regions)
        & (shapely.area(regions) > 0)
    )
    cells: list[Polygon] = []
    for geom, ok in zip(regions.tolist(), fine.tolist(), strict=True):
        poly = geom if ok else _valid_polygon(geom)
        if poly is not None:
            cells.append(poly)
    return cells


# --------------------------------------------------------------------------- demo district

_RENCHENG_CODE = "370811"
_RENCHENG_NAME = "任城区"
_RENCHENG_CENTER = (116.59, 35.41)

# (street code suffix, street name, community names); 4 + 3 + 3 = 10 communities.
_STREETS: list[tuple[str, str, list[str]]] = [
    ("001", "古槐街道", ["运河社区", "古槐社区", "竹竿巷社区", "太白楼社区"]),
    ("002", "济阳街道", ["济阳社区", "南门社区", "文昌阁社区"]),
    ("003", "越河街道", ["越河社区", "东门大街社区", "税务街社区"]),
]
# Grid cells for the whole district, split between communities by area.
_TOTAL_GRIDS = 330
_MIN_GRIDS_PER_COMMUNITY = 20


def _rencheng_boundary() -> Polygon:
    """An irregular ~10 km x 8 km outline centred on Rencheng (WGS-84), fixed shape."""
    lng0, lat0 = _RENCHENG_CENTER
    m_per_deg_lng = _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    angles = np.linspace(0.0, 2.0 * math.pi, 48, endpoint=False)
    # Ellipse with semi-axes 5 km (E-W) and 4 km (N-S), wobbled by a few low
    # harmonics so the outline looks like an administrative boundary, not an oval.
    wobble = (
        1.0
        + 0.07 * np.sin(3.0 * angles + 0.4)
        + 0.05 * np.cos(5.0 * angles + 1.3)
        + 0.03 * np.sin(9.0 * angles + 2.1)
    )
    xs_m = 5000.0 * wobble * np.cos(angles)
    ys_m = 4000.0 * wobble * np.sin(angles)
    lngs = lng0 + xs_m / m_per_deg_lng
    lats = lat0 + ys_m / _M_PER_DEG_LAT
    return Polygon(np.column_stack([lngs, lats]))


def _split_counts(weights: list[float], total: int, minimum: int) -> list[int]:
    """Integer counts proportional to `weights`, each >= `minimum`, summing to >= `total`."""
    wsum = sum(weights)
    return [max(minimum, round(total * w / wsum)) for w in weights]


def _rounded_polygon(poly: Polygon) -> Polygon:
    """`poly` snapped to the GeoJSON precision grid, still a single valid Polygon."""
    snapped = shapely.set_precision(poly, 10.0**-_GEOJSON_DECIMALS)
    result = _valid_polygon(snapped)
    if result is None:  # Only a degenerate sliver could vanish; keep the original then.
        return poly
    return result


def _geojson_polygon(poly: Polygon) -> dict[str, Any]:
    """GeoJSON Polygon geometry with coordinates rounded to 7 decimals."""
    rings = [poly.exterior, *poly.interiors]
    return {
        "type": "Polygon",
        "coordinates": [
            [[round(x, _GEOJSON_DECIMALS), round(y, _GEOJSON_DECIMALS)] for x, y in ring.coords]
            for ring in rings
        ],
    }


def _feature(code: str, name: str, kind: str, parent_code: str | None, poly: Polygon) -> dict:
    """One GeoJSON Feature in the shape the area importer reads."""
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "kind": kind, "parent_code": parent_code},
        "geometry": _geojson_polygon(poly),
    }


def demo_district_geojson(seed: int = 7) -> dict[str, Any]:
    """GeoJSON FeatureCollection of 任城区 › 3 streets › 10 communities › >= 300 grids.

    Every level carries a polygon and children tile their parent (clipped Voronoi).
    Features are listed parents first. The top-level ``"crs"`` member is a plain
    string, ``"wgs84"`` here; the area importer accepts ``"wgs84"`` or ``"gcj02"``.
    """
    district = _rounded_polygon(_rencheng_boundary())
    features = [_feature(_RENCHENG_CODE, _RENCHENG_NAME, "district", None, district)]

    street_polys = voronoi_cells(district, len(_STREETS), seed)
    if len(street_polys) != len(_STREETS):
        raise RuntimeError("street split produced the wrong number of cells")

    communities: list[tuple[str, str, Polygon]] = []
    for (suffix, street_name, community_names), street_poly in zip(
        _STREETS, street_polys, strict=True
    ):
        street_code = _RENCHENG_CODE + suffix
        street_poly = _rounded_polygon(street_poly)
        features.append(_feature(street_code, street_name, "street", _RENCHENG_CODE, street_poly))
        parts = voronoi_cells(street_poly, len(community_names), seed + int(suffix))
        if len(parts) != len(community_names):
            raise RuntimeError(f"community split of {street_name} produced the wrong count")
        for i, (community_name, community_poly) in enumerate(
            zip(community_names, parts, strict=True), start=1
        ):
            community_code = f"{street_code}{i:03d}"
            community_poly = _rounded_polygon(community_poly)
            features.append(
                _feature(community_code, community_name, "community", street_code, community_poly)
            )
            communities.append((community_code, community_name, community_poly))

    grid_counts = _split_counts(
        [poly.area for _, _, poly in communities], _TOTAL_GRIDS, _MIN_GRIDS_PER_COMMUNITY
    )
    for (community_code, community_name, community_poly), count in zip(
        communities, grid_counts, strict=True
    ):
        cells = voronoi_cells(community_poly, count, seed + int(community_code[-6:]))
        for j, cell in enumerate(cells, start=1):
            features.append(
                _feature(
                    f"{community_code}{j:03d}",
                    f"{community_name}第{j:02d}网格",
                    "grid",
                    community_code,
                    _rounded_polygon(cell),
                )
            )

    return {"type": "FeatureCollection", "crs": "wgs84", "features": features}
