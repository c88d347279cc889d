"""Unit tests for the pure geometry layer of areas: CRS conversion, locate, demo grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, shape

from app.areas.demo_grid import demo_district_geojson, synthetic_cells, voronoi_cells
from app.areas.geo import (
    LocateHit,
    LocateIndex,
    gcj02_to_wgs84,
    gcj02_to_wgs84_many,
    metres_per_degree,
    wgs84_to_gcj02,
    wgs84_to_gcj02_many,
)

RENCHENG = (116.59, 35.41)  # WGS-84, Rencheng District, Jining


# --------------------------------------------------------------------------- reference


def _reference_wgs_to_gcj(lng: float, lat: float) -> tuple[float, float]:
    """Textbook GCJ-02 forward transform, written out independently of app.areas.geo."""
    a = 6378245.0
    ee = 0.00669342162296594323
    if lng < 72.004 or lng > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return lng, lat
    x, y = lng - 105.0, lat - 35.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y**2
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * math.pi * x) + 20.0 * math.sin(2.0 * math.pi * x)) * 2.0 / 3.0
        + (20.0 * math.sin(math.pi * y) + 40.0 * math.sin(math.pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * math.sin(math.pi * y / 12.0) + 320.0 * math.sin(math.pi * y / 30.0)) * 2.0 / 3.0
    )
    d_lng = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x**2
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * math.pi * x) + 20.0 * math.sin(2.0 * math.pi * x)) * 2.0 / 3.0
        + (20.0 * math.sin(math.pi * x) + 40.0 * math.sin(math.pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * math.sin(math.pi * x / 12.0) + 300.0 * math.sin(math.pi * x / 30.0)) * 2.0 / 3.0
    )
    rad = math.radians(lat)
    w = 1.0 - ee * math.sin(rad) ** 2
    d_lat = d_lat * 180.0 / ((a * (1.0 - ee)) / (w * math.sqrt(w)) * math.pi)
    d_lng = d_lng * 180.0 / (a / math.sqrt(w) * math.cos(rad) * math.pi)
    return lng + d_lng, lat + d_lat


def _metres_between(p: tuple[float, float], q: tuple[float, float]) -> float:
    """Equirectangular distance in metres between two nearby (lng, lat) points."""
    kx, ky = metres_per_degree((p[1] + q[1]) / 2.0)
    return math.hypot((p[0] - q[0]) * kx, (p[1] - q[1]) * ky)


# Published test vectors of the eviltransform project (googollee/eviltransform,
# python/test.py): (WGS-84 lng, lat, GCJ-02 lng, lat) for Shanghai, Shenzhen, Beijing.
PUBLISHED_PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

CHINA_POINTS = [
    RENCHENG,
    (116.9, 36.6),
    (121.47, 31.23),
    (113.26, 23.13),
    (87.6, 43.8),
    (126.6, 45.75),
    (91.1, 29.65),
    (109.5, 18.25),
    (104.06, 30.66),
    (105.0, 35.0),
]
OUTSIDE_POINTS = [
    (139.69, 35.69),
    (-0.1276, 51.5072),
    (2.35, 48.85),
    (-74.0, 40.7),
    (151.2, -33.87),
    (60.0, 30.0),
]


# --------------------------------------------------------------------------- conversion


def test_gcj02_offset_is_hundreds_of_metres_in_rencheng() -> None:
    gcj = wgs84_to_gcj02(*RENCHENG)
    assert 100.0 < _metres_between(RENCHENG, gcj) < 1000.0


@pytest.mark.parametrize("point", OUTSIDE_POINTS)
def test_points_outside_china_are_unchanged(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    lngs, lats = np.array([point[0]]), np.array([point[1]])
    for fn in (wgs84_to_gcj02_many, gcj02_to_wgs84_many):
        out_lng, out_lat = fn(lngs, lats)
        assert (out_lng[0], out_lat[0]) == point


@pytest.mark.parametrize("wgs_lng,wgs_lat,gcj_lng,gcj_lat", PUBLISHED_PAIRS)
def test_forward_transform_matches_published_pairs(
    wgs_lng: float, wgs_lat: float, gcj_lng: float, gcj_lat: float
) -> None:
    assert wgs84_to_gcj02(wgs_lng, wgs_lat) == pytest.approx((gcj_lng, gcj_lat), abs=1e-9)
    assert _metres_between(gcj02_to_wgs84(gcj_lng, gcj_lat), (wgs_lng, wgs_lat)) < 0.5


@pytest.mark.parametrize("point", CHINA_POINTS)
def test_forward_transform_matches_independent_reference(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == pytest.approx(_reference_wgs_to_gcj(*point), abs=1e-12)


def test_round_trip_wgs_gcj_wgs_is_within_half_a_metre() -> None:
    rng = np.random.default_rng(3)
    lngs = rng.uniform(74.0, 135.0, 2000)
    lats = rng.uniform(18.0, 53.0, 2000)
    worst = 0.0
    for lng, lat in zip(lngs.tolist(), lats.tolist(), strict=True):
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat))
        worst = max(worst, _metres_between(back, (lng, lat)))
    assert worst < 0.5
    # The implementation promises far better than the contract; catch regressions.
    assert worst < 0.1


def test_vectorised_conversion_equals_scalar() -> None:
    rng = np.random.default_rng(4)
    lngs = np.concatenate([rng.uniform(74.0, 135.0, 500), [p[0] for p in OUTSIDE_POINTS]])
    lats = np.concatenate([rng.uniform(18.0, 53.0, 500), [p[1] for p in OUTSIDE_POINTS]])

    fwd_lng, fwd_lat = wgs84_to_gcj02_many(lngs, lats)
    inv_lng, inv_lat = gcj02_to_wgs84_many(lngs, lats)
    for i, (lng, lat) in enumerate(zip(lngs.tolist(), lats.tolist(), strict=True)):
        assert (fwd_lng[i], fwd_lat[i]) == pytest.approx(wgs84_to_gcj02(lng, lat), abs=1e-11)
        # The batched inverse evaluates its offsets in mixed precision (~0.2 mm).
        assert (inv_lng[i], inv_lat[i]) == pytest.approx(gcj02_to_wgs84(lng, lat), abs=1e-8)


def test_vectorised_conversion_keeps_shape_and_handles_strided_input() -> None:
    coords = np.array([[116.59, 35.41], [116.9, 36.6], [139.69, 35.69]] * 3).reshape(3, 3, 2)
    lngs, lats = coords[..., 0], coords[..., 1]  # non-contiguous views
    out_lng, out_lat = gcj02_to_wgs84_many(lngs, lats)
    assert out_lng.shape == out_lat.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            expected = gcj02_to_wgs84(float(lngs[i, j]), float(lats[i, j]))
            assert (out_lng[i, j], out_lat[i, j]) == pytest.approx(expected, abs=1e-8)
    with pytest.raises(ValueError):
        wgs84_to_gcj02_many(np.zeros(3), np.zeros(4))


def test_vectorised_conversion_spans_many_chunks() -> None:
    rng = np.random.default_rng(6)
    lngs = rng.uniform(100.0, 120.0, 30_000)
    lats = rng.uniform(25.0, 40.0, 30_000)
    fwd_lng, fwd_lat = wgs84_to_gcj02_many(lngs, lats)
    for i in (0, 8191, 8192, 16_500, 29_999):
        assert (fwd_lng[i], fwd_lat[i]) == pytest.approx(
            wgs84_to_gcj02(lngs[i], lats[i]), abs=1e-11
        )


def test_vectorised_round_trip_is_within_half_a_metre() -> None:
    rng = np.random.default_rng(5)
    lngs = rng.uniform(74.0, 135.0, 20_000)
    lats = rng.uniform(18.0, 53.0, 20_000)
    back_lng, back_lat = gcj02_to_wgs84_many(*wgs84_to_gcj02_many(lngs, lats))
    kx = metres_per_degree(0.0)[1] * np.cos(np.radians(lats))
    err = np.hypot((back_lng - lngs) * kx, (back_lat - lats) * metres_per_degree(0.0)[1])
    assert err.max() < 0.5


# --------------------------------------------------------------------------- locate


def _deg(metres_east: float, metres_north: float, at: tuple[float, float] = RENCHENG):
    """(lng, lat) offset from `at` by the given metres (equirectangular)."""
    kx, ky = metres_per_degree(at[1])
    return at[0] + metres_east / kx, at[1] + metres_north / ky


# Two irregular cells sharing the vertical edge lng = 116.59 from lat 35.40 to 35.42.
# The lower id (3) is deliberately listed second so input order cannot be the rule.
WEST_CELL = Polygon(
    [(116.59, 35.40), (116.59, 35.42), (116.574, 35.423), (116.568, 35.409), (116.577, 35.397)]
)
EAST_CELL = Polygon(
    [(116.59, 35.40), (116.603, 35.396), (116.611, 35.412), (116.602, 35.424), (116.59, 35.42)]
)
PAIR = [(7, WEST_CELL), (3, EAST_CELL)]


def test_point_inside_a_cell_is_located_there() -> None:
    index = LocateIndex(PAIR)
    assert index.locate(116.58, 35.41) == LocateHit(area_id=7, snapped=False, distance_m=0.0)
    assert index.locate(116.60, 35.41) == LocateHit(area_id=3, snapped=False, distance_m=0.0)


def test_point_on_shared_border_goes_to_lower_id_cell() -> None:
    on_border = [(116.59, 35.40), (116.59, 35.42), (116.59, 35.41), (116.59, 35.4137)]
    for areas in (PAIR, PAIR[::-1]):
        index = LocateIndex(areas)
        for _ in range(20):
            for lng, lat in on_border:
                assert index.locate(lng, lat) == LocateHit(3, False, 0.0)
        ids, snapped, dist = index.locate_many(
            np.array([p[0] for p in on_border]), np.array([p[1] for p in on_border])
        )
        assert ids.tolist() == [3] * len(on_border)
        assert not snapped.any()
        assert dist.tolist() == [0.0] * len(on_border)


def test_point_on_outer_boundary_belongs_to_its_cell_without_snapping() -> None:
    index = LocateIndex(PAIR)
    assert index.locate(116.568, 35.409) == LocateHit(7, False, 0.0)


def test_point_10m_outside_snaps_with_distance() -> None:
    index = LocateIndex(PAIR)
    # EAST_CELL's south-west edge runs from (116.59, 35.40) to (116.603, 35.396); move
    # 10 m outward along its normal, measured in metres.
    start, end = (116.59, 35.40), (116.603, 35.396)
    kx, ky = metres_per_degree(35.398)
    ex, ey = (end[0] - start[0]) * kx, (end[1] - start[1]) * ky
    length = math.hypot(ex, ey)
    nx, ny = ey / length, -ex / length  # right-hand normal of an edge on a CCW ring's south side
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    point = (mid[0] + 10.0 * nx / kx, mid[1] + 10.0 * ny / ky)
    assert not EAST_CELL.intersects(Point(point))

    hit = index.locate(*point)
    assert hit is not None
    assert hit.area_id == 3
    assert hit.snapped is True
    assert hit.distance_m == pytest.approx(10.0, abs=2.0)


def test_point_100m_outside_is_not_located() -> None:
    index = LocateIndex(PAIR)
    point = _deg(-100.0, 0.0, at=(116.568, 35.409))  # 100 m west of the westmost vertex
    assert index.locate(*point) is None
    ids, snapped, dist = index.locate_many(np.array([point[0]]), np.array([point[1]]))
    assert ids.tolist() == [-1]
    assert snapped.tolist() == [False]
    assert math.isinf(dist[0])


def test_snap_tolerance_is_configurable() -> None:
    far = _deg(-100.0, 0.0, at=(116.568, 35.409))
    near = _deg(-10.0, 0.0, at=(116.568, 35.409))
    wide = LocateIndex(PAIR, tolerance_m=150.0)
    hit = wide.locate(*far)
    assert hit is not None and hit.area_id == 7 and hit.snapped
    assert hit.distance_m == pytest.approx(100.0, abs=2.0)
    assert LocateIndex(PAIR, tolerance_m=5.0).locate(*near) is None
    assert LocateIndex(PAIR, tolerance_m=0.0).locate(*near) is None


def test_snaps_to_nearest_cell_in_metres_not_degrees() -> None:
    # A cell 20 m east and one 24 m north: in raw degrees the northern one is closer
    # (a degree of longitude is shorter), in metres the eastern one is.
    p = RENCHENG
    east_edge = _deg(20.0, 0.0)[0]
    north_edge = _deg(0.0, 24.0)[1]
    east = shapely.box(east_edge, p[1] - 0.01, east_edge + 0.01, p[1] + 0.01)
    north = shapely.box(p[0] - 0.01, north_edge, p[0] + 0.0001, north_edge + 0.01)
    assert north.distance(Point(p)) < east.distance(Point(p))
    index = LocateIndex([(2, east), (1, north)])
    hit = index.locate(*p)
    assert hit is not None
    assert (hit.area_id, hit.snapped) == (2, True)
    assert hit.distance_m == pytest.approx(20.0, abs=0.5)


def test_multipolygon_cells_are_located_and_snapped() -> None:
    islands = shapely.MultiPolygon(
        [shapely.box(116.50, 35.40, 116.51, 35.41), shapely.box(116.52, 35.40, 116.53, 35.41)]
    )
    index = LocateIndex([(5, islands)])
    assert index.locate(116.525, 35.405) == LocateHit(5, False, 0.0)
    hit = index.locate(*_deg(12.0, 0.0, at=(116.53, 35.405)))
    assert hit is not None and hit.area_id == 5 and hit.snapped
    assert hit.distance_m == pytest.approx(12.0, abs=0.1)
    assert index.locate(116.515, 35.405) is None  # between the parts, ~900 m from both


def test_len_and_bounds() -> None:
    index = LocateIndex(PAIR)
    assert len(index) == 2
    assert index.bounds == pytest.approx((116.568, 35.396, 116.611, 35.424))


def test_empty_index_locates_nothing() -> None:
    index = LocateIndex([])
    assert len(index) == 0
    assert index.locate(*RENCHENG) is None
    ids, snapped, dist = index.locate_many(np.array([RENCHENG[0]]), np.array([RENCHENG[1]]))
    assert ids.tolist() == [-1] and not snapped[0] and math.isinf(dist[0])


def test_non_finite_or_polar_coordinates_are_not_located() -> None:
    index = LocateIndex(PAIR, tolerance_m=1e6)
    bad = [(math.nan, 35.41), (116.59, math.inf), (116.59, 90.0)]
    for lng, lat in bad:
        assert index.locate(lng, lat) is None
    ids, snapped, _ = index.locate_many(
        np.array([p[0] for p in bad]), np.array([p[1] for p in bad])
    )
    assert ids.tolist() == [-1, -1, -1] and not snapped.any()


def test_duplicate_area_ids_are_rejected() -> None:
    with pytest.raises(ValueError):
        LocateIndex([(1, WEST_CELL), (1, EAST_CELL)])


@pytest.fixture(scope="module")
def voronoi_index() -> tuple[LocateIndex, list[tuple[int, Polygon]], Polygon]:
    boundary = Polygon(
        [
            _deg(x, y)
            for x, y in [
                (-900, -700),
                (300, -950),
                (1000, -200),
                (800, 900),
                (-200, 1000),
                (-1000, 300),
            ]
        ]
    )
    cells = voronoi_cells(boundary, 250, seed=11)
    ids = np.random.default_rng(12).permutation(np.arange(100, 100 + len(cells)))
    areas = [(int(i), c) for i, c in zip(ids, cells, strict=True)]
    return LocateIndex(areas), areas, boundary


def test_locate_many_equals_locate_point_by_point(voronoi_index) -> None:
    index, areas, boundary = voronoi_index
    rng = np.random.default_rng(13)
    # Shared vertices (covered by 2-3 cells), boundary vertices pushed 5-60 m outward,
    # and random points over a slightly enlarged bounding box.
    vertices = np.unique(np.concatenate([np.asarray(c.exterior.coords) for _, c in areas]), axis=0)
    border = vertices[rng.choice(len(vertices), 450, replace=False)]
    outer = np.asarray(boundary.exterior.coords)[:-1]
    centre = np.asarray(boundary.centroid.coords)[0]
    directions = outer - centre
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    push_m = rng.uniform(5.0, 60.0, (550, 1))
    kx, ky = metres_per_degree(RENCHENG[1])
    which = rng.integers(0, len(outer), 550)
    outside = outer[which] + directions[which] * push_m / np.array([kx, ky]) * 0.7
    minx, miny, maxx, maxy = index.bounds
    random_pts = np.column_stack(
        [
            rng.uniform(minx - 0.001, maxx + 0.001, 1000),
            rng.uniform(miny - 0.001, maxy + 0.001, 1000),
        ]
    )
    pts = np.concatenate([border, outside, random_pts])
    assert len(pts) == 2000

    ids, snapped, dist = index.locate_many(pts[:, 0], pts[:, 1])
    for i, (lng, lat) in enumerate(pts.tolist()):
        hit = index.locate(lng, lat)
        if hit is None:
            assert (ids[i], snapped[i], math.isinf(dist[i])) == (-1, False, True)
        else:
            assert (ids[i], snapped[i]) == (hit.area_id, hit.snapped)
            assert dist[i] == pytest.approx(hit.distance_m, abs=1e-9)
    # The sample really exercises every branch.
    assert (ids == -1).any() and snapped.any() and ((ids >= 0) & ~snapped).any()


def test_shared_vertices_resolve_to_lowest_covering_id(voronoi_index) -> None:
    index, areas, _ = voronoi_index
    geoms = np.array([c for _, c in areas], dtype=object)
    ids = np.array([i for i, _ in areas])
    vertices = np.unique(np.concatenate([np.asarray(c.exterior.coords) for _, c in areas]), axis=0)
    shared = 0
    for lng, lat in vertices[:400].tolist():
        covering = ids[shapely.intersects(geoms, Point(lng, lat))]
        if len(covering) > 1:
            shared += 1
            assert index.locate(lng, lat) == LocateHit(int(covering.min()), False, 0.0)
    assert shared > 50


# --------------------------------------------------------------------------- demo grid


@pytest.fixture(scope="module")
def demo() -> dict:
    return demo_district_geojson()


def _by_kind(fc: dict, kind: str) -> list[dict]:
    return [f for f in fc["features"] if f["properties"]["kind"] == kind]


def test_demo_district_has_the_expected_hierarchy(demo: dict) -> None:
    assert demo["type"] == "FeatureCollection"
    assert demo["crs"] == "wgs84"
    districts = _by_kind(demo, "district")
    assert [d["properties"]["code"] for d in districts] == ["370811"]
    assert len(_by_kind(demo, "street")) == 3
    assert 8 <= len(_by_kind(demo, "community")) <= 12
    assert len(_by_kind(demo, "grid")) >= 300
    lengths = {"district": 6, "street": 9, "community": 12, "grid": 15}
    for f in demo["features"]:
        props = f["properties"]
        assert len(props["code"]) == lengths[props["kind"]]
        assert props["code"].isdigit()
        if props["kind"] != "district":
            assert props["code"].startswith(props["parent_code"])


def test_demo_codes_are_unique_and_parents_come_first(demo: dict) -> None:
    seen: set[str] = set()
    for f in demo["features"]:
        props = f["properties"]
        assert props["code"] not in seen
        assert props["parent_code"] is None or props["parent_code"] in seen
        seen.add(props["code"])


def test_demo_geometries_are_valid_polygons_near_rencheng(demo: dict) -> None:
    for f in demo["features"]:
        geom = shape(f["geometry"])
        assert f["geometry"]["type"] == "Polygon"
        assert geom.is_valid and not geom.is_empty
    district = shape(_by_kind(demo, "district")[0]["geometry"])
    minx, miny, maxx, maxy = district.bounds
    kx, ky = metres_per_degree(RENCHENG[1])
    assert 8_000 < (maxx - minx) * kx < 13_000
    assert 6_000 < (maxy - miny) * ky < 10_000
    assert district.contains(Point(RENCHENG))


def test_demo_children_tile_their_parent(demo: dict) -> None:
    polys = {f["properties"]["code"]: shape(f["geometry"]) for f in demo["features"]}
    children: dict[str, list[str]] = {}
    for f in demo["features"]:
        if f["properties"]["parent_code"]:
            children.setdefault(f["properties"]["parent_code"], []).append(f["properties"]["code"])
    for parent, kids in children.items():
        parent_poly = polys[parent]
        for kid in kids:
            # Each child lies within its parent up to the 7-decimal rounding: a split
            # point on a long parent edge moves <= 1 cm off the line, a thin sliver
            # of a few square metres at most against cells of 10^4-10^6 m^2.
            assert polys[kid].difference(parent_poly).area < 1e-4 * polys[kid].area
        # Together the children cover the parent (largest-part clipping may leave slivers).
        union = shapely.union_all([polys[k] for k in kids])
        assert parent_poly.difference(union).area < 0.01 * parent_poly.area


def test_demo_grid_names_follow_community_names(demo: dict) -> None:
    names = {f["properties"]["code"]: f["properties"]["name"] for f in demo["features"]}
    grid = _by_kind(demo, "grid")[0]["properties"]
    assert grid["name"] == f"{names[grid['parent_code']]}第01网格"
    assert {"古槐街道", "济阳街道", "越河街道"} <= set(names.values())


def test_demo_is_deterministic_for_a_seed() -> None:
    assert demo_district_geojson(seed=3) == demo_district_geojson(seed=3)


def test_voronoi_cells_tile_the_boundary_with_valid_polygons() -> None:
    boundary = Polygon(
        [_deg(x, y) for x, y in [(-500, -400), (600, -300), (450, 500), (-300, 420)]]
    )
    cells = voronoi_cells(boundary, 40, seed=1)
    assert len(cells) == 40
    assert all(isinstance(c, Polygon) and c.is_valid and not c.is_empty for c in cells)
    assert shapely.union_all(cells).symmetric_difference(boundary).area < 1e-3 * boundary.area
    assert [c.wkb for c in voronoi_cells(boundary, 40, seed=1)] == [c.wkb for c in cells]


def test_synthetic_cells_are_irregular_and_about_a_hectare() -> None:
    cells = synthetic_cells(2_000, seed=2)
    assert len(cells) == 2_000
    geoms = np.array(cells, dtype=object)
    assert shapely.is_valid(geoms).all()
    kx, ky = metres_per_degree(36.6)
    mean_m2 = shapely.area(geoms).mean() * kx * ky
    assert 8_000 < mean_m2 < 12_000
    # Not squares: most cells have other than 4 corners.
    corners = shapely.get_num_coordinates(geoms) - 1
    assert (corners != 4).mean() > 0.5
