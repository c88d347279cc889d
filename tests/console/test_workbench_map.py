"""The workbench map through HTTP: the list's view inside the map's bounds (every page of it),
an optional tile server, and 相同问题 (open cases of the same kind nearby) merged in one click."""

from __future__ import annotations

import re

from app.accounts.models import Role
from tests.console.helpers import sign_in
from tests.console.test_workbench import sign_in_dispatcher
from tests.factories import make_staff
from tests.support import base_settings
from tests.tickets.helpers import IN_CELL, OTHER_STREET, report

DISTRICT = "116.40,35.30,116.70,35.50"  # west,south,east,north: around the whole small tree
NEAR = {"lng": 116.5052, "lat": 35.4051, "crs": "wgs84"}  # about 25 m from IN_CELL


async def map_cases(client, **params):
    params.setdefault("bbox", DISTRICT)
    response = await client.get("/console/map/cases.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_map_shows_every_case_of_the_view_in_its_bounds_not_only_the_page(client, city):
    reported = [await report(client, city.resident, category="9902") for _ in range(51)]
    await sign_in_dispatcher(client)
    page = await client.get("/console/?queue=accept")
    assert page.text.count('class="row"') == 50  # the list pages by 50
    found = await map_cases(client, queue="accept")
    assert {m["id"] for m in found["items"]} == {t["id"] for t in reported}
    assert found["truncated"] is False
    marker = found["items"][0]
    assert marker["id"] == reported[-1]["id"]  # newest first
    assert (marker["lng"], marker["lat"]) == (IN_CELL["lng"], IN_CELL["lat"])
    assert marker["state"] == "none"  # not on the clock before 立案: grey, like the legend


async def test_the_map_follows_the_bounds_the_tab_and_the_filters(client, city):
    here = await report(client, city.resident, category="9902")
    there = await report(client, city.resident, category="9902", location=OTHER_STREET)
    manhole = await report(client, city.resident, category="9901")  # auto-accepted, dispatched
    await sign_in_dispatcher(client)
    west_of_there = f"116.40,35.30,{(IN_CELL['lng'] + OTHER_STREET['lng']) / 2},35.50"
    ids = {m["id"] for m in (await map_cases(client, queue="accept", bbox=west_of_there))["items"]}
    assert ids == {here["id"]}
    everything = await map_cases(client, queue="all")
    assert {m["id"] for m in everything["items"]} == {here["id"], there["id"], manhole["id"]}
    noisy = await map_cases(client, queue="all", category="9902")
    assert {m["id"] for m in noisy["items"]} == {here["id"], there["id"]}
    street = await map_cases(client, queue="all", area="990100002")
    assert [m["id"] for m in street["items"]] == [there["id"]]


async def test_the_map_shows_another_streets_dispatcher_only_their_street(client, city):
    await report(client, city.resident, category="9902")  # street 990100001
    there = await report(client, city.resident, category="9902", location=OTHER_STREET)
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west")
    await sign_in(client, "west")
    found = await map_cases(client, queue="all")
    assert [m["id"] for m in found["items"]] == [there["id"]]
    outside = await client.get("/console/map/cases.json",
                               params={"bbox": DISTRICT, "area": "990100001"})
    assert outside.status_code == 404


async def test_a_bad_map_box_is_refused_with_a_clear_message(client, city):
    await sign_in_dispatcher(client)
    for bbox in ("", "1,2,3", "a,b,c,d", "116.7,35.3,116.4,35.5", "nan,1,2,3"):
        response = await client.get("/console/map/cases.json", params={"bbox": bbox})
        assert response.status_code == 422, bbox
        assert response.json()["error"]["code"] == "invalid_bbox"


async def test_the_map_needs_a_dispatcher_session(client, city):
    anonymous = await client.get("/console/map/cases.json", params={"bbox": DISTRICT})
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["location"]
    await make_staff(Role.COMMUNITY_STAFF, area_code="990100001001", username="comm")
    await sign_in(client, "comm")
    refused = await client.get("/console/map/cases.json", params={"bbox": DISTRICT})
    assert refused.status_code == 403


async def test_no_tiles_by_default_and_a_configured_tile_server_is_allowed(client, city):
    await sign_in_dispatcher(client)
    page = await client.get("/console/")
    assert 'data-tiles=""' in page.text
    assert "img-src 'self' data: blob:;" in page.headers["Content-Security-Policy"]
    base_settings(console_tile_url="https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png")
    page = await client.get("/console/")
    assert 'data-tiles="https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png"' in page.text
    assert "https://*.tiles.example.gov.cn" in page.headers["Content-Security-Policy"]


def test_a_tile_url_without_its_placeholders_is_refused_at_start():
    for bad in ("tiles.example.gov.cn", "https://tiles.example.gov.cn/a.png", "//x/{z}/{x}/{y}"):
        try:
            base_settings(console_tile_url=bad)
        except ValueError as exc:
            assert "CONSOLE_TILE_URL" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
    assert base_settings(console_tile_url="/tiles/{z}/{x}/{y}.png").console_tile_url


# --- 相同问题 ------------------------------------------------------------------------------------


async def test_a_case_lists_open_cases_of_the_same_kind_nearby_and_merges_in_one_click(client, city):
    original = await report(client, city.resident, category="9902", description="广场舞噪音")
    duplicate = await report(client, city.other_resident, category="9902", location=NEAR,
                             description="晚上广场舞太吵")
    other_kind = await report(client, city.resident, category="9904", location=NEAR)
    far = await report(client, city.resident, category="9902", location=OTHER_STREET)
    csrf = await sign_in_dispatcher(client)
    case = await client.get(f"/console/tickets/{duplicate['id']}", headers={"HX-Request": "true"})
    assert "相同问题" in case.text
    nearby = case.text.split("相同问题")[1].split("可执行的操作")[0]
    assert original["number"] in nearby and "相距约" in nearby
    for not_listed in (duplicate, other_kind, far):
        assert not_listed["number"] not in nearby
    button = re.search(r'action="/console/tickets/(\d+)/actions/merge".*?name="version" value="(\d+)"'
                       r'.*?name="duplicate_of" value="(\d+)"', nearby, re.S)
    assert button and button.groups() == (str(duplicate["id"]), str(duplicate["version"]),
                                          str(original["id"]))
    merged = await client.post(f"/console/tickets/{duplicate['id']}/actions/merge",
                               data={"version": duplicate["version"], "duplicate_of": original["id"]},
                               headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert merged.status_code == 200, merged.text
    assert "已合并" in merged.text
    api = await client.get(f"/api/v1/tickets/{duplicate['id']}", headers=city.dispatcher)
    assert api.json()["status"] == "merged"
    # A merged case is no longer open: the original's list does not offer it.
    again = await client.get(f"/console/tickets/{original['id']}", headers={"HX-Request": "true"})
    assert duplicate["number"] not in again.text.split("可执行的操作")[0].split("问题描述")[1]


async def test_staff_who_cannot_merge_are_not_offered_the_nearby_list(client, city):
    await report(client, city.resident, category="9902")
    beside = await report(client, city.resident, category="9902", location=NEAR)
    await make_staff(Role.COMMUNITY_STAFF, area_code="990100001001", username="comm")
    await sign_in(client, "comm")
    case = await client.get(f"/console/tickets/{beside['id']}")
    assert case.status_code == 200
    assert "相同问题" not in case.text and "actions/merge" not in case.text


async def test_a_case_lists_the_nearest_open_cases_of_its_kind_behind_hundreds_of_newer_ones(
        client, city):
    nearest = await report(client, city.resident, category="9902", location=NEAR)  # ~21 m
    case = await report(client, city.other_resident, category="9902")
    # 205 newer open cases of the same kind, 109–201 m east, each a little farther than the last.
    farther = [await report(client, city.resident, category="9902", location={
        **IN_CELL, "lng": IN_CELL["lng"] + 0.0012 + k * 0.000005}) for k in range(205)]
    await sign_in_dispatcher(client)
    page = await client.get(f"/console/tickets/{case['id']}", headers={"HX-Request": "true"})
    nearby = page.text.split("相同问题")[1].split("可执行的操作")[0]
    listed = [int(found) for found in re.findall(r'<li data-id="(\d+)"', nearby)]
    assert listed == [nearest["id"], *[t["id"] for t in farther[:9]]]
    distances = [int(d) for d in re.findall(r"相距约 (\d+) 米", nearby)]
    assert distances[0] == 21 and distances[1:] == sorted(distances[1:]) and distances[-1] < 115
