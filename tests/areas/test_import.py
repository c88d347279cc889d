"""Admins import the area tree as GeoJSON; a bad file is rejected whole, with a list of problems."""

import asyncio
import copy
import json
import subprocess
import sys

from app.accounts.models import Role
from tests.factories import error_code, make_staff, resident, small_tree
from tests.support import DATABASE_URL, ROOT_ENV

BOWTIE = {"type": "Polygon", "coordinates": [[[116.5, 35.4], [116.51, 35.41], [116.51, 35.4],
                                              [116.5, 35.41], [116.5, 35.4]]]}


async def import_(client, headers, body, **params):
    return await client.post("/api/v1/areas/import", json=body, headers=headers, params=params)


async def test_admin_imports_the_tree_and_browses_it(client):
    _, admin = await make_staff(Role.ADMIN)
    response = await import_(client, admin, small_tree())
    assert response.status_code == 201, response.text
    assert response.json()["by_kind"] == {"district": 1, "street": 2, "community": 4, "grid": 8}
    top = (await client.get("/api/v1/areas", headers=admin)).json()["items"]
    assert [(a["code"], a["name"]) for a in top] == [("990100", "测试区")]
    streets = (await client.get("/api/v1/areas", params={"parent": "990100"}, headers=admin)).json()
    assert [a["code"] for a in streets["items"]] == ["990100001", "990100002"]
    cell = (await client.get("/api/v1/areas/990100001001001", headers=admin)).json()
    assert cell["path"] == "/990100/990100001/990100001001/990100001001001/"
    assert cell["geometry"]["type"] == "Polygon" and cell["parent_code"] == "990100001001"


async def rejected_and_nothing_written(client, admin, body):
    response = await import_(client, admin, body)
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_geojson"
    assert (await client.get("/api/v1/areas", headers=admin)).json()["items"] == []
    return response.json()["error"]["details"]["errors"]


async def test_one_bad_geometry_rejects_the_whole_file(client):
    _, admin = await make_staff(Role.ADMIN)
    body = small_tree()
    body["features"][-1]["geometry"] = BOWTIE
    errors = await rejected_and_nothing_written(client, admin, body)
    assert [(e["feature"], e["code"]) for e in errors] == [
        (len(body["features"]) - 1, body["features"][-1]["properties"]["code"])]
    assert "几何无效" in errors[0]["message"]


async def test_every_problem_is_listed(client):
    _, admin = await make_staff(Role.ADMIN)
    body = small_tree()
    body["features"][3]["properties"]["parent_code"] = "404404"       # unknown parent
    body["features"][5]["properties"]["code"] = body["features"][4]["properties"]["code"]  # dup
    body["features"][6]["geometry"] = {"type": "Point", "coordinates": [116.5, 35.4]}
    body["features"][7]["geometry"]["coordinates"][0][0] = [200.0, 35.4]  # out of range
    errors = await rejected_and_nothing_written(client, admin, body)
    assert {e["feature"] for e in errors} == {3, 5, 6, 7}


async def test_a_code_that_already_exists_is_a_duplicate(client):
    _, admin = await make_staff(Role.ADMIN)
    assert (await import_(client, admin, small_tree())).status_code == 201
    again = await import_(client, admin, small_tree())
    assert again.status_code == 422
    assert len(again.json()["error"]["details"]["errors"]) == len(small_tree()["features"])


async def test_grid_cells_need_a_polygon_and_levels_must_nest(client):
    _, admin = await make_staff(Role.ADMIN)
    body = small_tree()
    grid = next(i for i, f in enumerate(body["features"]) if f["properties"]["kind"] == "grid")
    body["features"][grid]["geometry"] = None
    body["features"][1]["properties"]["kind"] = "community"  # a "community" directly under the district
    errors = await rejected_and_nothing_written(client, admin, body)
    assert {e["feature"] for e in errors} >= {grid, 1}


async def test_not_geojson_is_a_4xx_never_a_500(client):
    _, admin = await make_staff(Role.ADMIN)
    for body in ({}, [], {"type": "FeatureCollection"}, {"type": "FeatureCollection", "features": []},
                 {"type": "FeatureCollection", "features": [{"type": "Feature"}]},
                 {"type": "FeatureCollection", "features": "x"},
                 {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
                     "code": "1", "name": "x", "kind": "district"}, "geometry": {"type": "Polygon",
                                                                                "coordinates": "x"}}]},
                 {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
                     "code": "1", "name": "x", "kind": "district"}, "geometry": {"type": "Polygon",
                                                                                "coordinates": [[[1]]]}}]}):
        response = await import_(client, admin, body)
        assert 400 <= response.status_code < 500, (body, response.text)
        error_code(response)
    raw = await client.post("/api/v1/areas/import", content=b'{"type": "FeatureColl',
                            headers={**admin, "Content-Type": "application/json"})
    assert raw.status_code == 400 and error_code(raw) == "malformed_json"


async def test_only_admins_import(client):
    _, dispatcher = await make_staff(Role.DISPATCHER)
    assert (await import_(client, dispatcher, small_tree())).status_code == 403
    assert (await import_(client, await resident(client), small_tree())).status_code == 403
    assert (await client.post("/api/v1/areas/import", json=small_tree())).status_code == 401


async def test_gcj02_files_are_stored_in_wgs84(client):
    from app.areas.geo import wgs84_to_gcj02

    _, admin = await make_staff(Role.ADMIN)
    wgs = small_tree()
    gcj = copy.deepcopy(wgs)
    for feature in gcj["features"]:
        ring = feature["geometry"]["coordinates"][0]
        feature["geometry"]["coordinates"][0] = [list(wgs84_to_gcj02(*p)) for p in ring]
    response = await import_(client, admin, gcj, crs="gcj02")
    assert response.status_code == 201
    stored = (await client.get("/api/v1/areas/990100001001001", headers=admin)).json()
    original = next(f for f in wgs["features"] if f["properties"]["code"] == "990100001001001")
    for got, want in zip(stored["geometry"]["coordinates"][0],
                         original["geometry"]["coordinates"][0], strict=True):
        assert abs(got[0] - want[0]) < 1e-6 and abs(got[1] - want[1]) < 1e-6


async def run_cli(*args):
    env = {**ROOT_ENV, "DATABASE_URL": DATABASE_URL}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "app", *args],
                                   capture_output=True, text=True, env=env, timeout=120)


async def test_command_line_import_lists_problems_and_writes_nothing(client, tmp_path):
    _, admin = await make_staff(Role.ADMIN)
    bad = small_tree()
    bad["features"][2]["geometry"] = BOWTIE
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = await run_cli("areas", "import", str(path))
    assert result.returncode == 1
    assert "feature 2" in result.stderr and "几何无效" in result.stderr
    assert (await client.get("/api/v1/areas", headers=admin)).json()["items"] == []

    path.write_text(json.dumps(small_tree()), encoding="utf-8")
    result = await run_cli("areas", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert len((await client.get("/api/v1/areas", params={"parent": "990100"},
                                 headers=admin)).json()["items"]) == 2
