"""Which grid cell holds a point: GCJ-02 converted first, borders by a fixed rule, GPS error snapped."""

import pytest

from app.areas import service
from app.areas.geo import wgs84_to_gcj02
from app.areas.models import Area, AreaKind, GeometryRevision
from tests.factories import SOUTH, WEST, error_code, load_small_tree, resident


async def locate(client, headers, lng, lat, crs="wgs84"):
    return await client.get("/api/v1/areas/locate", headers=headers,
                            params={"lng": lng, "lat": lat, "crs": crs})


async def test_a_point_in_a_cell_gives_the_cell_and_its_ancestors(client):
    await load_small_tree()
    headers = await resident(client)
    response = await locate(client, headers, 116.505, 35.405)
    assert response.status_code == 200
    body = response.json()
    assert body["found"] and not body["snapped"]
    assert body["cell"]["code"] == "990100001001001"
    assert [a["code"] for a in body["ancestors"]] == ["990100", "990100001", "990100001001"]


async def test_gcj02_points_are_converted_before_the_lookup(client):
    await load_small_tree()
    headers = await resident(client)
    gcj_lng, gcj_lat = wgs84_to_gcj02(116.505, 35.405)
    # The offset is about 500 m here: read as WGS-84 the same numbers land in the next cell.
    wrong = (await locate(client, headers, gcj_lng, gcj_lat, "wgs84")).json()
    right = (await locate(client, headers, gcj_lng, gcj_lat, "gcj02")).json()
    assert wrong["cell"]["code"] == "990100001001002"
    assert right["cell"]["code"] == "990100001001001"
    assert abs(right["wgs84"]["lng"] - 116.505) < 1e-5 and abs(right["wgs84"]["lat"] - 35.405) < 1e-5


async def test_a_point_on_a_shared_border_always_goes_to_the_same_cell(client):
    await load_small_tree()
    headers = await resident(client)
    left = await Area.get(code="990100001001001")
    right = await Area.get(code="990100001001002")
    answers = {(await locate(client, headers, 116.51, 35.405)).json()["cell"]["code"]
               for _ in range(5)}
    assert answers == {min((left.id, left.code), (right.id, right.code))[1]}


async def test_gps_error_just_outside_snaps_to_the_nearest_cell(client):
    await load_small_tree()
    headers = await resident(client)
    ten_m_west = WEST - 10 / (111_320 * 0.8147)  # cos(35.4°) ≈ 0.8147
    body = (await locate(client, headers, ten_m_west, SOUTH + 0.005)).json()
    assert body["found"] and body["snapped"]
    assert body["cell"]["code"] == "990100001001001"
    assert 8 <= body["distance_m"] <= 12


async def test_far_outside_every_cell_the_answer_says_so(client):
    await load_small_tree()
    headers = await resident(client)
    hundred_m_west = WEST - 100 / (111_320 * 0.8147)
    body = (await locate(client, headers, hundred_m_west, SOUTH + 0.005)).json()
    assert body == {**body, "found": False, "cell": None, "ancestors": []}
    assert body["message"]


@pytest.mark.parametrize("params", [
    {"lng": 116.5, "lat": 91, "crs": "wgs84"},
    {"lng": 181, "lat": 35, "crs": "wgs84"},
    {"lng": "abc", "lat": 35, "crs": "wgs84"},
    {"lng": "nan", "lat": 35, "crs": "wgs84"},
    {"lng": "inf", "lat": 35, "crs": "wgs84"},
    {"lng": 116.5, "lat": 35},
    {"lng": 116.5, "lat": 35, "crs": "bd09"},
    {"lat": 35, "crs": "wgs84"},
])
async def test_bad_coordinates_are_a_422(client, params):
    response = await client.get("/api/v1/areas/locate", params=params,
                                headers=await resident(client))
    assert response.status_code == 422
    assert error_code(response) == "invalid_query"


async def test_another_process_changing_the_geometry_is_picked_up(client, monkeypatch):
    await load_small_tree()
    headers = await resident(client)
    elsewhere = (117.0, 36.0)
    assert not (await locate(client, headers, *elsewhere)).json()["found"]
    # Another process adds a cell: rows plus a revision bump, nothing in this process's memory.
    district = await Area.get(code="990100")
    await Area.create(code="990100009", name="新街道", kind=AreaKind.STREET, parent=district,
                      path="/990100/990100009/")
    street = await Area.get(code="990100009")
    await Area.create(code="990100009001", name="新社区", kind=AreaKind.COMMUNITY, parent=street,
                      path="/990100/990100009/990100009001/")
    community = await Area.get(code="990100009001")
    await Area.create(code="990100009001001", name="新网格", kind=AreaKind.GRID, parent=community,
                      path="/990100/990100009/990100009001/990100009001001/",
                      geometry={"type": "Polygon", "coordinates": [[[116.99, 35.99], [117.01, 35.99],
                                                                     [117.01, 36.01], [116.99, 36.01],
                                                                     [116.99, 35.99]]]})
    row = await GeometryRevision.first()
    row.revision += 1
    await row.save()
    monkeypatch.setattr(service, "REVISION_CHECK_INTERVAL", 0.0)
    body = (await locate(client, headers, *elsewhere)).json()
    assert body["found"] and body["cell"]["code"] == "990100009001001"


async def test_locate_needs_a_login(client):
    response = await client.get("/api/v1/areas/locate",
                                params={"lng": 116.5, "lat": 35.4, "crs": "wgs84"})
    assert response.status_code == 401
