"""The device registry: admins register cameras and sensors in their area, one by one or from
a CSV or GeoJSON file (all or nothing, every problem listed), and say what event types mean."""

from __future__ import annotations

import json

from app.accounts.models import Role
from app.devices.models import Device
from tests.devices.helpers import DEVICES, TYPES, add_device, platform
from tests.factories import error_code, make_staff
from tests.tickets.helpers import IN_CELL

OTHER_CELL = {"lng": 116.505, "lat": 35.415, "crs": "wgs84"}
CSV_HEADER = "code,name,kind,vendor,lng,lat,crs,address,integration,is_active\n"


async def test_an_admin_registers_a_camera_located_in_its_grid_cell(client, city):
    partner = await platform(client)
    device = await add_device(client, partner, unit_id=city.department.id)
    assert device["cell_code"] == "990100001001001"
    assert device["integration"] == "cam-hk" and device["unit_id"] == city.department.id
    assert device["is_active"] is True and device["last_seen_at"] is None
    again = await client.post(DEVICES, headers=partner.admin, json={
        "code": "CAM-0001", "name": "重复", "kind": "camera", "location": IN_CELL,
        "integration": "cam-hk"})
    assert again.status_code == 409 and error_code(again) == "device_exists"
    seen = await client.get(f"{DEVICES}/CAM-0001", headers=partner.admin)
    assert seen.status_code == 200 and seen.json()["name"] == "古槐路口 CAM-0001"


async def test_a_gcj02_point_is_located_like_a_residents(client, city):
    partner = await platform(client)
    device = await add_device(client, partner, location={"lng": 116.51048028, "lat": 35.40470960,
                                                         "crs": "gcj02"})
    assert device["cell_code"] == "990100001001001" and device["crs"] == "gcj02"


async def test_only_admins_of_the_area_manage_devices(client, city):
    partner = await platform(client)
    await add_device(client, partner)
    for headers in (city.dispatcher, city.worker, city.resident):
        assert (await client.get(DEVICES, headers=headers)).status_code == 403
        assert (await client.post(DEVICES, headers=headers, json={
            "code": "X-1", "name": "x", "kind": "camera", "location": IN_CELL,
            "integration": "cam-hk"})).status_code == 403
    _, far_admin = await make_staff(Role.ADMIN, area_code="990100002")
    outside = await client.post(DEVICES, headers=far_admin, json={
        "code": "CAM-FAR", "name": "远处", "kind": "camera", "location": IN_CELL,
        "integration": "cam-hk"})
    assert outside.status_code == 403 and error_code(outside) == "outside_my_area"
    assert (await client.get(f"{DEVICES}/CAM-0001", headers=far_admin)).status_code == 404
    listed = await client.get(DEVICES, headers=far_admin)
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_a_device_needs_a_camera_or_sensor_platform_and_a_place_in_the_city(client, city):
    partner = await platform(client)
    await register(client, partner, code="hotline-jn", kind="hotline12345")
    for extra, code in (({"integration": "hotline-jn"}, "unknown_integration"),
                        ({"integration": "nobody"}, "unknown_integration"),
                        ({"unit_id": 999999}, "unknown_unit"),
                        ({"location": {"lng": 100.0, "lat": 20.0, "crs": "wgs84"}},
                         "outside_service_area")):
        answer = await client.post(DEVICES, headers=partner.admin, json={
            "code": "CAM-X", "name": "x", "kind": "camera", "location": IN_CELL,
            "integration": partner.code, **extra})
        assert answer.status_code == 422, answer.text
        assert error_code(answer) == code


async def register(client, partner, *, code: str, kind: str) -> None:
    answer = await client.post("/api/v1/admin/integrations", headers=partner.admin, json={
        "code": code, "name": "另一个平台", "kind": kind})
    assert answer.status_code == 201, answer.text


async def test_patch_moves_and_deactivates_a_device_and_the_list_pages(client, city):
    partner = await platform(client)
    for i in range(5):
        await add_device(client, partner, code=f"CAM-{i:04d}")
    moved = await client.patch(f"{DEVICES}/CAM-0002", headers=partner.admin, json={
        "location": OTHER_CELL, "is_active": False, "name": "新名字"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["cell_code"] != "990100001001001"
    assert moved.json()["is_active"] is False and moved.json()["name"] == "新名字"
    codes, cursor = [], None
    while True:
        page = await client.get(DEVICES, headers=partner.admin,
                                params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        codes += [d["code"] for d in page.json()["items"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert codes == [f"CAM-{i:04d}" for i in range(5)]
    inactive = await client.get(DEVICES, headers=partner.admin, params={"is_active": "false"})
    assert [d["code"] for d in inactive.json()["items"]] == ["CAM-0002"]


async def test_a_csv_file_imports_every_device_and_updates_known_ones(client, city):
    partner = await platform(client)
    await add_device(client, partner, code="CAM-0001")
    csv = CSV_HEADER + "".join(
        f"CAM-{i:04d},路口{i},camera,大华,116.505,35.405,wgs84,古槐路 {i} 号,cam-hk,true\n"
        for i in range(1, 4))
    answer = await client.post(f"{DEVICES}/import", headers=partner.admin,
                               json={"format": "csv", "content": "\ufeff" + csv})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 2, "updated": 1}
    updated = await Device.get(code="CAM-0001")
    assert updated.name == "路口1" and updated.vendor == "大华"


async def test_a_bad_csv_file_imports_nothing_and_lists_every_problem(client, city):
    partner = await platform(client)
    csv = CSV_HEADER + (
        "CAM-0001,好的,camera,大华,116.505,35.405,wgs84,,cam-hk,true\n"
        "CAM-0002,坏的种类,drone,大华,116.505,35.405,wgs84,,cam-hk,true\n"
        "CAM-0003,城外,camera,大华,100.0,20.0,wgs84,,cam-hk,true\n"
        "CAM-0001,重复,camera,大华,116.505,35.405,wgs84,,cam-hk,true\n"
        "CAM-0004,没有平台,camera,大华,116.505,35.405,wgs84,,nobody,true\n")
    answer = await client.post(f"{DEVICES}/import", headers=partner.admin,
                               json={"format": "csv", "content": csv})
    assert answer.status_code == 422 and error_code(answer) == "import_invalid"
    problems = answer.json()["error"]["details"]["problems"]
    assert {(p["row"], p["code"]) for p in problems} == {
        (3, "invalid_field"), (4, "outside_service_area"), (5, "duplicate_code"),
        (6, "unknown_integration")}
    assert await Device.all().count() == 0  # nothing, not even the good row
    header = await client.post(f"{DEVICES}/import", headers=partner.admin,
                               json={"format": "csv", "content": "code,name\nA,B\n"})
    assert header.status_code == 422
    assert header.json()["error"]["details"]["problems"][0]["code"] == "bad_header"


def feature(code: str, lng: float = 116.505, lat: float = 35.405, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {"code": code, "name": f"传感器 {code}", "kind": "sensor",
                           "integration": "cam-hk", **props}}


async def test_a_geojson_file_imports_points_and_refuses_anything_else(client, city):
    partner = await platform(client)
    good = {"type": "FeatureCollection", "features": [feature("S-1"), feature("S-2")]}
    answer = await client.post(f"{DEVICES}/import", headers=partner.admin,
                               json={"format": "geojson", "content": json.dumps(good)})
    assert answer.status_code == 200 and answer.json() == {"created": 2, "updated": 0}
    line = {"type": "Feature", "geometry": {"type": "LineString",
                                            "coordinates": [[116.5, 35.4], [116.51, 35.41]]},
            "properties": {"code": "S-9"}}
    bad = {"type": "FeatureCollection", "features": [feature("S-3"), line,
                                                     feature("S-4", colour="red")]}
    refused = await client.post(f"{DEVICES}/import", headers=partner.admin,
                                json={"format": "geojson", "content": json.dumps(bad)})
    assert refused.status_code == 422
    assert [p["code"] for p in refused.json()["error"]["details"]["problems"]] == [
        "not_a_point", "unknown_property"]
    broken = await client.post(f"{DEVICES}/import", headers=partner.admin,
                               json={"format": "geojson", "content": "{not json"})
    assert broken.status_code == 422
    assert await Device.all().count() == 2


async def test_admins_say_what_an_event_type_means(client, city):
    partner = await platform(client)
    listed = await client.get(TYPES, headers=partner.admin)
    assert listed.status_code == 200
    assert {t["event_type"]: t["category_code"] for t in listed.json()["items"]} == {
        "garbage_overflow": "9904", "illegal_parking": "9901"}
    changed = await client.put(f"{TYPES}/illegal_parking", headers=partner.admin, json={
        "label": "违停", "category_code": "9902", "urgency": "urgent", "min_confidence": 0.9})
    assert changed.status_code == 200 and changed.json()["min_confidence"] == 0.9
    unknown = await client.put(f"{TYPES}/smoke", headers=partner.admin, json={
        "label": "烟雾", "category_code": "0000", "min_confidence": 0.8})
    assert unknown.status_code == 404 and error_code(unknown) == "category_not_found"
    bad_name = await client.put(f"{TYPES}/Smoke!", headers=partner.admin, json={
        "label": "烟雾", "category_code": "9901", "min_confidence": 0.8})
    assert bad_name.status_code == 422
    assert (await client.put(f"{TYPES}/smoke", headers=city.dispatcher, json={
        "label": "烟雾", "category_code": "9901", "min_confidence": 0.8})).status_code == 403
