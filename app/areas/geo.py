"""Pure geometry for the areas domain: GCJ-02/WGS-84 conversion and point-to-cell lookup.

Coordinate conversion is hand-written on purpose: the PyPI packages that do it
(eviltransform, prcoords, coord-convert) have been unmaintained since 2018-19 and are
scalar-only, while batched conversion has to be vectorised with numpy to meet the
locate benchmark targets (see docs/benchmarks.md). The formulas are the standard,
widely published GCJ-02 obfuscation on the Krasovsky-1940 ellipsoid.

All coordinates are (longitude, latitude) in degrees. Area polygons are WGS-84;
WeChat maps report GCJ-02 ("Mars coordinates"), which is offset by hundreds of
metres inside mainland China, so client points must be converted before lookup.

No database or web code lives here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "LocateHit",
    "LocateIndex",
    "area_m2",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_many",
    "metres_per_degree",
    "out_of_china",
    "out_of_china_many",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_many",
]

# Krasovsky-1940 ellipsoid, as used by the GCJ-02 algorithm.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_PI = math.pi
_TWO_PI = 2.0 * math.pi

# GCJ-02 has no closed-form inverse; it is inverted by the fixed-point iteration
# w <- w + (g - f(w)). The offset's Jacobian is below 0.0075 everywhere in the China
# box (measured on a 1200 x 1000 grid), so each step shrinks the error by > 130x:
# ~1 km -> ~8 m -> ~6 cm. A correction below _INVERSE_EPS_DEG (~11 m) therefore
# leaves an error under ~8 cm after it is applied (3.4 cm worst, 1 mm median,
# measured), well inside the 0.5 m contract, in two evaluations of f. The cap only
# guards against non-convergence, which the Jacobian bound rules out.
_INVERSE_EPS_DEG = 1e-4
_INVERSE_MAX_ITER = 10

# Points per chunk in the vectorised conversions (see `_chunked`).
_CHUNK = 8192

# Mean Earth radius (IUGG); the metre/degree approximation below is local anyway.
_EARTH_RADIUS_M = 6371008.8
_M_PER_DEG_LAT = _EARTH_RADIUS_M * _PI / 180.0

# The customary "out of China" box of the GCJ-02 algorithm.
_CHINA_LNG_MIN, _CHINA_LNG_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271


# --------------------------------------------------------------------------- scalar


def out_of_china(lng: float, lat: float) -> bool:
    """True when the point lies outside the box where GCJ-02 applies an offset."""
    return not (_CHINA_LNG_MIN <= lng <= _CHINA_LNG_MAX and _CHINA_LAT_MIN <= lat <= _CHINA_LAT_MAX)


def _transform_lat(x: float, y: float) -> float:
    """Latitude offset polynomial of GCJ-02, in pseudo-metres, for offsets from (105, 35)."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * _PI) + 40.0 * math.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * _PI) + 320.0 * math.sin(y * _PI / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    """Longitude offset polynomial of GCJ-02, in pseudo-metres, for offsets from (105, 35)."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * _PI) + 40.0 * math.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * _PI) + 300.0 * math.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    return ret


def _gcj_delta(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 offset in degrees at a WGS-84 point (no out-of-China test)."""
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * _PI
    magic = math.sin(radlat)
    magic = 1.0 - _KRASOVSKY_EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * _PI)
    dlng = (dlng * 180.0) / (_KRASOVSKY_A / sqrtmagic * math.cos(radlat) * _PI)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02; points outside China are returned unchanged."""
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _gcj_delta(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to WGS-84 (error < 0.1 m); points outside China are unchanged."""
    if out_of_china(lng, lat):
        return lng, lat
    # Fixed-point inversion; see _INVERSE_EPS_DEG for why it converges and when it stops.
    wlng, wlat = lng, lat
    for _ in range(_INVERSE_MAX_ITER):
        dlng, dlat = _gcj_delta(wlng, wlat)
        err_lng = lng - (wlng + dlng)
        err_lat = lat - (wlat + dlat)
        wlng += err_lng
        wlat += err_lat
        if abs(err_lng) < _INVERSE_EPS_DEG and abs(err_lat) < _INVERSE_EPS_DEG:
            break
    return wlng, wlat


# --------------------------------------------------------------------------- vectorised


def out_of_china_many(lngs: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Boolean mask of points outside the box where GCJ-02 applies an offset."""
    inside = (
        (lngs >= _CHINA_LNG_MIN)
        & (lngs <= _CHINA_LNG_MAX)
        & (lats >= _CHINA_LAT_MIN)
        & (lats <= _CHINA_LAT_MAX)
    )
    return ~inside


def _sin_reduced_f32(a: np.ndarray) -> np.ndarray:
    """sin(a) for float64 `a`, to ~2e-7 absolute, at float32 speed."""
    # Reducing to [-pi, pi] in float64 first keeps the argument exact to ~2e-7 rad
    # after the float32 cast (a float32 of the raw argument, up to ~600 rad here,
    # would lose ~5e-5 rad); float32 np.sin is SIMD and ~20x faster than float64.
    r = a - _TWO_PI * np.rint(a * (1.0 / _TWO_PI))
    return np.sin(r.astype(np.float32)).astype(np.float64)


def _gcj_delta_many(
    lngs: np.ndarray, lats: np.ndarray, *, fast: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `_gcj_delta` in degrees; `fast` trades ~2e-9 degrees (0.2 mm) for ~2.5x speed."""
    # Same polynomials as the scalar version. The sines dominate the cost, so
    # multiple-angle identities derive sin(2*pi*x) and sin(6*pi*x) from one sin/cos
    # pair, and cos(lat) comes from sin(lat) (lat > 0 inside China). The identities
    # agree with direct evaluation to ~1e-13 degrees.
    sin = _sin_reduced_f32 if fast else np.sin
    x = lngs - 105.0
    y = lats - 35.0
    s1 = sin(x * _PI)
    c1 = sin(x * _PI + _PI / 2.0)
    s2 = 2.0 * s1 * c1
    s6 = s2 * (3.0 - 4.0 * s2 * s2)
    common = (20.0 * s6 + 20.0 * s2) * (2.0 / 3.0)
    xy = 0.1 * x * y
    sqrt_abs_x = np.sqrt(np.abs(x))

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + xy + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * sin(y * _PI) + 40.0 * sin(y * (_PI / 3.0))) * (2.0 / 3.0)
    dlat += (160.0 * sin(y * (_PI / 12.0)) + 320.0 * sin(y * (_PI / 30.0))) * (2.0 / 3.0)

    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + xy + 0.1 * sqrt_abs_x + common
    dlng += (20.0 * s1 + 40.0 * sin(x * (_PI / 3.0))) * (2.0 / 3.0)
    dlng += (150.0 * sin(x * (_PI / 12.0)) + 300.0 * sin(x * (_PI / 30.0))) * (2.0 / 3.0)

    sin_lat = sin(lats * (_PI / 180.0))
    cos_lat = np.sqrt(1.0 - sin_lat * sin_lat)
    magic = 1.0 - _KRASOVSKY_EE * sin_lat * sin_lat
    sqrtmagic = np.sqrt(magic)
    dlat *= 180.0 / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * _PI)
    dlng *= 180.0 / (_KRASOVSKY_A / sqrtmagic * cos_lat * _PI)
    return dlng, dlat


def _as_float_arrays(lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coerce coordinate inputs to equal-shape float64 arrays."""
    lngs = np.asarray(lngs, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if lngs.shape != lats.shape:
        raise ValueError(f"lngs and lats differ in shape: {lngs.shape} != {lats.shape}")
    return lngs, lats


def _chunked(
    fn: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lngs: np.ndarray,
    lats: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply an elementwise (lngs, lats) -> (lngs, lats) function chunk by chunk."""
    # The formulas create a few dozen temporaries. At 100,000 points each is 800 KB,
    # above glibc's mmap threshold, so every temporary is freshly mapped and
    # page-faulted; that, not the arithmetic, dominated (measured 2.5x slower than
    # 8,192-point chunks, whose 64 KB temporaries are recycled and stay in cache).
    lngs, lats = _as_float_arrays(lngs, lats)
    out_lng = np.empty_like(lngs)
    out_lat = np.empty_like(lats)
    flat = (lngs.reshape(-1), lats.reshape(-1), out_lng.reshape(-1), out_lat.reshape(-1))
    in_lng, in_lat, res_lng, res_lat = flat
    for start in range(0, in_lng.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        res_lng[part], res_lat[part] = fn(in_lng[part], in_lat[part])
    return out_lng, out_lat


def _wgs84_to_gcj02_chunk(lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`wgs84_to_gcj02_many` on one chunk of 1-D float64 arrays."""
    # Non-finite inputs make the formula warn; they are outside China and discarded.
    with np.errstate(invalid="ignore", over="ignore"):
        dlng, dlat = _gcj_delta_many(lngs, lats)
    outside = out_of_china_many(lngs, lats)
    dlng[outside] = 0.0
    dlat[outside] = 0.0
    return lngs + dlng, lats + dlat


def _gcj02_to_wgs84_chunk(lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`gcj02_to_wgs84_many` on one chunk of 1-D float64 arrays."""
    outside = out_of_china_many(lngs, lats)
    wlng = lngs.copy()
    wlat = lats.copy()
    # Same fixed-point iteration and stopping rule as the scalar version, on whole
    # arrays: all points converge at the same rate, so shrinking the working set
    # would cost more in fancy indexing than it saves. Offsets are evaluated in fast
    # mode: its 0.2 mm error is far below the iteration's own (< 8 cm), and it makes
    # the inversion cheaper. Non-finite inputs (outside, discarded) may warn.
    for _ in range(_INVERSE_MAX_ITER):
        with np.errstate(invalid="ignore", over="ignore"):
            dlng, dlat = _gcj_delta_many(wlng, wlat, fast=True)
        err_lng = lngs - (wlng + dlng)
        err_lat = lats - (wlat + dlat)
        err_lng[outside] = 0.0
        err_lat[outside] = 0.0
        wlng += err_lng
        wlat += err_lat
        if np.abs(err_lng).max(initial=0.0) < _INVERSE_EPS_DEG and (
            np.abs(err_lat).max(initial=0.0) < _INVERSE_EPS_DEG
        ):
            break
    return wlng, wlat


def wgs84_to_gcj02_many(lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `wgs84_to_gcj02`; returns new arrays, outside-China points unchanged."""
    return _chunked(_wgs84_to_gcj02_chunk, lngs, lats)


def gcj02_to_wgs84_many(lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `gcj02_to_wgs84` (error < 0.1 m); returns new arrays, outside-China unchanged."""
    return _chunked(_gcj02_to_wgs84_chunk, lngs, lats)


# --------------------------------------------------------------------------- lookup


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at `lat`, equirectangular approximation."""
    return _M_PER_DEG_LAT * math.cos(math.radians(lat)), _M_PER_DEG_LAT


def area_m2(geoms: np.ndarray) -> np.ndarray:
    """Areas in square metres of WGS-84 geometries (0 for empty ones), vectorised.

    Each geometry is scaled equirectangularly around the middle latitude of its own
    bounds: a linear map, so its area is the degree area times (m/deg lng) x (m/deg lat).
    Over a district-sized extent (~10 km) the cosine varies by < 0.2 %, far finer than
    any tolerance we apply to it; pyproj would add a dependency for no practical gain.
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0)
    bounds = shapely.bounds(geoms)
    mid_lat = np.nan_to_num((bounds[:, 1] + bounds[:, 3]) / 2.0)
    kx = _M_PER_DEG_LAT * np.cos(np.radians(mid_lat))
    return np.nan_to_num(shapely.area(geoms)) * kx * _M_PER_DEG_LAT


@dataclass(frozen=True, slots=True)
class LocateHit:
    """The cell a point was assigned to; `snapped` when it was outside but within tolerance."""

    area_id: int
    snapped: bool
    distance_m: float


class LocateIndex:
    """Point-to-cell lookup over WGS-84 polygons, backed by a shapely STRtree.

    Rules, identical for `locate` and `locate_many`:

    * A point inside a cell or on its boundary belongs to that cell (distance 0).
    * A point covered by several cells (a shared border or vertex) belongs to the cell
      with the LOWEST area id, so the answer is stable whatever the tree order.
    * A point outside every cell is snapped to the nearest cell if that cell is within
      `tolerance_m` metres (ties again go to the lowest id); otherwise there is no hit.

    Distances use a local equirectangular approximation at the point's latitude,
    which is far below a metre of error at the tens-of-metres scale of snapping.
    """

    def __init__(
        self, areas: Sequence[tuple[int, BaseGeometry]], tolerance_m: float = 30.0
    ) -> None:
        if tolerance_m < 0:
            raise ValueError("tolerance_m must be >= 0")
        # Sorting by id once means "lowest tree index" == "lowest area id", so the
        # tie-break is a plain integer min on tree indices, with no id lookups.
        ordered = sorted(areas, key=lambda item: item[0])
        self._ids = np.fromiter(
            (area_id for area_id, _ in ordered), dtype=np.int64, count=len(ordered)
        )
        if self._ids.size and np.any(np.diff(self._ids) == 0):
            raise ValueError("area ids must be unique")
        self._geoms = np.empty(len(ordered), dtype=object)
        self._geoms[:] = [geom for _, geom in ordered]
        self._tree = shapely.STRtree(self._geoms)
        self.tolerance_m = float(tolerance_m)

    def __len__(self) -> int:
        """Number of indexed cells."""
        return int(self._ids.size)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lng, min_lat, max_lng, max_lat) of all cells; NaNs when empty."""
        minx, miny, maxx, maxy = shapely.total_bounds(self._geoms)
        return float(minx), float(miny), float(maxx), float(maxy)

    def _snap_radius_deg(self, lats: np.ndarray) -> np.ndarray:
        """Search radius in degrees guaranteed to contain every cell within tolerance_m.

        With kx = m/deg of longitude (cos(lat) * ky) and ky = m/deg of latitude, a metre
        distance d_m = hypot(dx*kx, dy*ky) >= min(kx, ky) * hypot(dx, dy), so a cell
        within tolerance_m is within tolerance_m / min(kx, ky) degrees: the larger of
        the two conversions. The search may over-select; `_snap` filters in metres.
        """
        kx = _M_PER_DEG_LAT * np.cos(np.radians(lats))
        k_min = np.minimum(kx, _M_PER_DEG_LAT)
        # A hair of slack so a cell at exactly tolerance_m is not lost to rounding.
        return self.tolerance_m / k_min * (1.0 + 1e-9)

    def _snap(self, lngs: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For points outside all cells: (tree index or -1, metre distance or inf)."""
        n = lngs.size
        best_idx = np.full(n, -1, dtype=np.int64)
        best_dist = np.full(n, np.inf)
        if n == 0 or self.tolerance_m <= 0 or len(self) == 0:
            return best_idx, best_dist

        # NaN/inf or polar latitudes would give GEOS an invalid radius; they never snap.
        usable = np.flatnonzero(np.isfinite(lngs) & (np.abs(lats) < 90.0))
        if usable.size < n:
            sub_idx, sub_dist = self._snap(lngs[usable], lats[usable])
            best_idx[usable] = sub_idx
            best_dist[usable] = sub_dist
            return best_idx, best_dist

        points = shapely.points(lngs, lats)
        radius = self._snap_radius_deg(lats)
        # `dwithin` returns every candidate in the degree radius, not only the
        # degree-nearest one that query_nearest would give: since a degree of longitude
        # is shorter than a degree of latitude, the nearest cell in degrees need not be
        # the nearest in metres (and may lie beyond tolerance while another does not).
        pt_idx, tree_idx = self._tree.query(points, predicate="dwithin", distance=radius)
        if pt_idx.size == 0:
            return best_idx, best_dist

        # True metre distance per (point, candidate) pair: shift each candidate so its
        # point is the origin and scale to metres at that point's latitude, all in one
        # vectorised pass over the candidates' coordinates.
        cand = self._geoms[tree_idx]
        coords, owner = shapely.get_coordinates(cand, return_index=True)
        pair_of_coord = pt_idx[owner]
        kx = _M_PER_DEG_LAT * np.cos(np.radians(lats[pair_of_coord]))
        coords[:, 0] = (coords[:, 0] - lngs[pair_of_coord]) * kx
        coords[:, 1] = (coords[:, 1] - lats[pair_of_coord]) * _M_PER_DEG_LAT
        shapely.set_coordinates(cand, coords)  # replaces objects in `cand` only
        dist = shapely.distance(cand, shapely.points(0.0, 0.0))

        keep = dist <= self.tolerance_m
        pt_idx, tree_idx, dist = pt_idx[keep], tree_idx[keep], dist[keep]
        # Nearest per point, ties to the lowest tree index (== lowest area id).
        order = np.lexsort((tree_idx, dist, pt_idx))
        pt_sorted = pt_idx[order]
        first = np.ones(pt_sorted.size, dtype=bool)
        first[1:] = pt_sorted[1:] != pt_sorted[:-1]
        chosen = order[first]
        best_idx[pt_idx[chosen]] = tree_idx[chosen]
        best_dist[pt_idx[chosen]] = dist[chosen]
        return best_idx, best_dist

    def intersecting(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(index into `geoms`, area id, cell polygon) for every cell meeting one of `geoms`."""
        if len(self) == 0 or len(geoms) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.empty(0, object)
        in_idx, tree_idx = self._tree.query(geoms, predicate="intersects")
        return in_idx, self._ids[tree_idx], self._geoms[tree_idx]

    def locate(self, lng: float, lat: float) -> LocateHit | None:
        """The cell for a WGS-84 point, by the class rules; None if none within tolerance."""
        hits = self._tree.query(shapely.Point(lng, lat), predicate="intersects")
        if hits.size:
            return LocateHit(int(self._ids[hits.min()]), False, 0.0)
        idx, dist = self._snap(np.array([lng], dtype=np.float64), np.array([lat], dtype=np.float64))
        if idx[0] < 0:
            return None
        return LocateHit(int(self._ids[idx[0]]), True, float(dist[0]))

    def locate_many(
        self, lngs: np.ndarray, lats: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batched `locate`: (area_ids int64, -1 for none; snapped bool; distance_m float).

        Points with no hit get distance inf. Answers equal `locate` point by point.
        """
        lngs, lats = _as_float_arrays(lngs, lats)
        lngs, lats = lngs.ravel(), lats.ravel()
        n = lngs.size
        sentinel = np.iinfo(np.int64).max
        best = np.full(n, sentinel, dtype=np.int64)
        if n and len(self):
            pt_idx, tree_idx = self._tree.query(shapely.points(lngs, lats), predicate="intersects")
            # Lowest tree index (== lowest area id) per covered point, without a Python loop.
            np.minimum.at(best, pt_idx, tree_idx)

        inside = best != sentinel
        area_ids = np.full(n, -1, dtype=np.int64)
        area_ids[inside] = self._ids[best[inside]]
        snapped = np.zeros(n, dtype=bool)
        distance_m = np.full(n, np.inf)
        distance_m[inside] = 0.0

        misses = np.flatnonzero(~inside)
        if misses.size:
            snap_idx, snap_dist = self._snap(lngs[misses], lats[misses])
            found = snap_idx >= 0
            rows = misses[found]
            area_ids[rows] = self._ids[snap_idx[found]]
            snapped[rows] = True
            distance_m[rows] = snap_dist[found]
        return area_ids, snapped, distance_m
