"""An import may not lay cells over other cells or outside their parent; a redraw replaces them."""

import copy
import json
import math

from shapely.geometry import box, mapping

from app.accounts.models import Role
from app.areas.geo import wgs84_to_gcj02
from tests.factories import error_code, load_small_tree, make_category, make_staff, resident

M_PER_DEG = 6371008.8 * math.pi / 180.0


def m2(width_deg: float, height_deg: float, lat: float) -> float:
    return width_deg * M_PER_DEG * math.cos(math.radians(lat)) * height_deg * M_PER_DEG


def feature(code, kind, parent, geom, name=None):
    # Through JSON, as a file would be: lists, not shapely's tuples.
    return json.loads(json.dumps({
        "type": "Feature", "geometry": mapping(geom) if geom is not None else None,
        "properties": {"code": code, "name": name or code, "kind": kind, "parent_code": parent}}))


def collection(*features, crs="wgs84"):
    body = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        body["crs"] = crs
    return body


def district_without_polygons(code, *cells):
    """A district › street › community with no polygons (nothing to stick out of), and cells."""
    street, community = f"{code}001", f"{code}001001"
    return [feature(code, "district", None, None), feature(street, "street", code, None),
            feature(community, "community", street, None),
            *(feature(f"{community}{i:03d}", "grid", community, cell)
              for i, cell in enumerate(cells, start=1))]


async def import_(client, headers, body, **params):
    return await client.post("/api/v1/areas/import", json=body, headers=headers, params=params)


def problems(response):
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_geojson"
    return response.json()["error"]["details"]["errors"]


async def cell_codes(client, headers, community):
    listed = await client.get("/api/v1/areas", params={"parent": community}, headers=headers)
    return [a["code"] for a in listed.json()["items"]]


# --- overlaps ---------------------------------------------------------------------------


async def test_a_district_laid_over_an_existing_one_is_refused_with_codes_and_square_metres(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    # Straddles 东门's cell 990100001001002 (116.51–116.52) and 西门's 990100002001001 (116.52–116.53).
    body = collection(*district_without_polygons("990200", box(116.515, 35.40, 116.525, 35.41)))
    errors = problems(await import_(client, admin, body))
    assert [(e["feature"], e["code"]) for e in errors] == [(3, "990200001001001")]
    overlaps = errors[0]["overlaps"]
    assert [o["code"] for o in overlaps] == ["990100001001002", "990100002001001"]
    for o in overlaps:
        assert math.isclose(o["area_m2"], m2(0.005, 0.01, 35.405), rel_tol=0.003)
    assert "990100001001002" in errors[0]["message"] and "m²" in errors[0]["message"]
    assert (await client.get("/api/v1/areas/990200", headers=admin)).status_code == 404


async def test_cells_overlapping_each_other_in_the_file_are_both_listed(client):
    _, admin = await make_staff(Role.ADMIN)
    body = collection(*district_without_polygons(
        "990300", box(117.00, 35.00, 117.01, 35.01), box(117.008, 35.00, 117.02, 35.01),
        box(117.02, 35.00, 117.03, 35.01)))  # the third only touches the second: fine
    errors = problems(await import_(client, admin, body))
    assert [(e["code"], [o["code"] for o in e["overlaps"]]) for e in errors] == [
        ("990300001001001", ["990300001001002"]), ("990300001001002", ["990300001001001"])]
    assert math.isclose(errors[0]["overlaps"][0]["area_m2"], m2(0.002, 0.01, 35.005), rel_tol=0.003)


async def test_a_cell_sticking_out_of_its_community_is_refused(client):
    _, admin = await make_staff(Role.ADMIN)
    outline = box(117.00, 35.00, 117.02, 35.02)
    body = collection(
        feature("990400", "district", None, outline), feature("990400001", "street", "990400", outline),
        feature("990400001001", "community", "990400001", box(117.00, 35.00, 117.01, 35.01)),
        feature("990400001001001", "grid", "990400001001", box(117.00, 35.00, 117.011, 35.01)))
    errors = problems(await import_(client, admin, body))
    assert [(e["feature"], e["code"]) for e in errors] == [(3, "990400001001001")]
    outside = errors[0]["outside_parent"]
    assert outside["code"] == "990400001001"
    assert math.isclose(outside["area_m2"], m2(0.001, 0.01, 35.005), rel_tol=0.003)


async def test_a_digitising_sliver_under_the_tolerance_is_accepted(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    # East of the small tree (which ends at 116.54), overlapping its last cell by ~5 mm: ~5 m².
    sliver = box(116.54 - 5e-8, 35.40, 116.55, 35.41)
    response = await import_(client, admin, collection(*district_without_polygons("990500", sliver)))
    assert response.status_code == 201, response.text


async def test_an_overlap_of_a_few_metres_width_is_not_a_sliver(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    strip = box(116.54 - 2e-5, 35.40, 116.55, 35.41)  # ~1.8 m wide along 1.1 km: ~2,000 m²
    errors = problems(await import_(client, admin, collection(*district_without_polygons("990500", strip))))
    assert [o["code"] for o in errors[0]["overlaps"]] == ["990100002001002"]
    assert 1500 < errors[0]["overlaps"][0]["area_m2"] < 2500


async def test_the_command_line_lists_the_overlaps_too(client, tmp_path):
    from tests.areas.test_import import run_cli

    await load_small_tree()
    path = tmp_path / "over.geojson"
    path.write_text(json.dumps(collection(*district_without_polygons(
        "990200", box(116.515, 35.40, 116.525, 35.41)))), encoding="utf-8")
    result = await run_cli("areas", "import", str(path))
    assert result.returncode == 1
    assert "990100001001002" in result.stderr and "m²" in result.stderr


# --- redraw -----------------------------------------------------------------------------


def east_gate_redrawn(*, keep_referenced=True):
    """东门街道 (990100001) redrawn: community 001 gets three cells, community 002's are dropped."""
    features = [
        feature("990100001001", "community", "990100001", box(116.50, 35.40, 116.52, 35.41)),
        feature("990100001002", "community", "990100001", box(116.50, 35.41, 116.52, 35.42)),
        feature("990100001001003", "grid", "990100001001", box(116.505, 35.40, 116.51, 35.41)),
        feature("990100001001002", "grid", "990100001001", box(116.51, 35.40, 116.52, 35.41)),
    ]
    if keep_referenced:
        features.append(feature("990100001001001", "grid", "990100001001",
                                box(116.50, 35.40, 116.505, 35.41), name="东门1社区新第1网格"))
    return collection(*features)


async def reported_at(client, lng, lat):
    response = await client.post("/api/v1/tickets", headers=await resident(client), json={
        "category_code": "9901", "description": "人行道上的井盖松动了，有人差点绊倒",
        "location": {"lng": lng, "lat": lat, "crs": "wgs84"}, "address": "古槐路 12 号门口"})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_street_admin_redraws_their_street_and_tickets_keep_their_cells(client):
    await load_small_tree()
    await make_category("9901")
    _, street_admin = await make_staff(Role.ADMIN, area_code="990100001")
    ticket = await reported_at(client, 116.503, 35.405)
    old_cell = (await client.get("/api/v1/areas/990100001001001", headers=street_admin)).json()

    response = await import_(client, street_admin, east_gate_redrawn(), replace="990100001")
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["removed"]) == (1, 4, 2)

    cell = (await client.get("/api/v1/areas/990100001001001", headers=street_admin)).json()
    assert cell["id"] == old_cell["id"] and cell["name"] == "东门1社区新第1网格"
    assert cell["geometry"] != old_cell["geometry"]
    assert await cell_codes(client, street_admin, "990100001002") == []
    assert await cell_codes(client, street_admin, "990100001001") == [
        "990100001001001", "990100001001002", "990100001001003"]
    located = await client.get("/api/v1/areas/locate", headers=street_admin,
                               params={"lng": 116.507, "lat": 35.405, "crs": "wgs84"})
    assert located.json()["cell"]["code"] == "990100001001003"
    seen = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=street_admin)
    assert seen.status_code == 200, seen.text
    assert "990100001001001" in seen.text
    # The other street is untouched.
    assert await cell_codes(client, street_admin, "990100002001") == [
        "990100002001001", "990100002001002"]


async def test_a_redraw_that_drops_a_cell_with_tickets_is_refused(client):
    await load_small_tree()
    await make_category("9901")
    _, admin = await make_staff(Role.ADMIN)
    await reported_at(client, 116.503, 35.405)
    errors = problems(await import_(client, admin, east_gate_redrawn(keep_referenced=False),
                                    replace="990100001"))
    assert [(e["feature"], e["code"], e["references"]) for e in errors] == [
        (None, "990100001001001", {"tickets": 1})]
    # Nothing was written: the dropped cells are all still there.
    assert await cell_codes(client, admin, "990100001002") == ["990100001002001", "990100001002002"]


async def test_a_redraw_cannot_move_a_cell_or_reach_outside_the_redrawn_area(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    body = east_gate_redrawn()
    body["features"][3]["properties"]["parent_code"] = "990100001002"  # moved to the other community
    body["features"].append(feature("990100002001003", "grid", "990100002001",
                                    box(116.53, 35.40, 116.531, 35.401)))
    errors = problems(await import_(client, admin, body, replace="990100001"))
    by_code: dict[str, str] = {}
    for e in errors:
        by_code[e["code"]] = by_code.get(e["code"], "") + e["message"]
    assert "上级区域" in by_code["990100001001002"]
    assert "重绘范围" in by_code["990100002001003"]


async def test_an_area_admin_stays_inside_their_scope(client):
    await load_small_tree()
    _, street_admin = await make_staff(Role.ADMIN, area_code="990100001")
    refused = await import_(client, street_admin, east_gate_redrawn(), replace="990100002")
    assert refused.status_code == 403 and error_code(refused) == "out_of_scope"
    assert (await import_(client, street_admin, east_gate_redrawn(),
                          replace="990100")).status_code == 403
    elsewhere = collection(feature("990100002001003", "grid", "990100002001",
                                   box(116.53, 35.40, 116.531, 35.401)))
    errors = problems(await import_(client, street_admin, elsewhere))
    assert errors[0]["message"] == "不在您的管辖范围内"
    missing = await import_(client, street_admin, east_gate_redrawn(), replace="404404")
    assert missing.status_code == 404


# --- CRS --------------------------------------------------------------------------------


def far_cell_tree(crs, *, gcj=False):
    cell = box(117.00, 35.00, 117.01, 35.01)
    body = collection(*district_without_polygons("990600", cell), crs=crs)
    if gcj:
        ring = body["features"][-1]["geometry"]["coordinates"][0]
        body["features"][-1]["geometry"]["coordinates"][0] = [list(wgs84_to_gcj02(*p)) for p in ring]
    return body


async def stored_corner(client, headers):
    cell = (await client.get("/api/v1/areas/990600001001001", headers=headers)).json()
    return cell["geometry"]["coordinates"][0]


async def test_without_a_declared_crs_the_result_says_wgs84_was_assumed(client):
    _, admin = await make_staff(Role.ADMIN)
    response = await import_(client, admin, far_cell_tree(None))
    assert response.status_code == 201, response.text
    assert (response.json()["crs"], response.json()["crs_source"]) == ("wgs84", "assumed")


async def test_a_gcj02_file_that_says_so_is_converted_without_query(client):
    _, admin = await make_staff(Role.ADMIN)
    declared = {"type": "name", "properties": {"name": "GCJ-02"}}
    response = await import_(client, admin, far_cell_tree(declared, gcj=True))
    assert response.status_code == 201, response.text
    assert (response.json()["crs"], response.json()["crs_source"]) == ("gcj02", "file")
    for got, want in zip(await stored_corner(client, admin),
                         mapping(box(117.00, 35.00, 117.01, 35.01))["coordinates"][0], strict=True):
        assert abs(got[0] - want[0]) < 1e-6 and abs(got[1] - want[1]) < 1e-6


async def test_a_gdal_crs84_object_is_read_as_wgs84(client):
    _, admin = await make_staff(Role.ADMIN)
    declared = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    response = await import_(client, admin, far_cell_tree(declared))
    assert (response.json()["crs"], response.json()["crs_source"]) == ("wgs84", "file")
    assert (await stored_corner(client, admin))[0] == [117.01, 35.0]


async def test_the_query_overrides_the_file_and_an_unknown_crs_is_refused_not_guessed(client):
    _, admin = await make_staff(Role.ADMIN)
    unknown = far_cell_tree({"type": "name", "properties": {"name": "EPSG:3857"}})
    refused = await import_(client, admin, unknown)
    assert refused.status_code == 422 and error_code(refused) == "unknown_crs"
    assert "EPSG:3857" in refused.json()["error"]["message"]
    response = await import_(client, admin, copy.deepcopy(unknown), crs="wgs84")
    assert response.status_code == 201, response.text
    assert (response.json()["crs"], response.json()["crs_source"]) == ("wgs84", "query")


async def test_the_import_result_documents_the_assumed_crs(client):
    spec = (await client.get("/docs/openapi.json")).json()
    result = spec["components"]["schemas"]["ImportResult"]
    assert {"crs", "crs_source", "updated", "removed"} <= set(result["properties"])
    assert "assumed" in result["properties"]["crs_source"]["description"]


async def test_the_command_line_redraws_and_warns_when_it_assumed_wgs84(client, tmp_path):
    from tests.areas.test_import import run_cli

    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    body = east_gate_redrawn()
    del body["crs"]
    path = tmp_path / "east.geojson"
    path.write_text(json.dumps(body), encoding="utf-8")
    result = await run_cli("areas", "import", str(path), "--replace", "990100001")
    assert result.returncode == 0, result.stderr
    assert "redrew 4, removed 2" in result.stdout
    assert "assumed WGS-84" in result.stderr
    assert await cell_codes(client, admin, "990100001002") == []
