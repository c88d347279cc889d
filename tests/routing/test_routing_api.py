"""Admins keep routing rules as data; a report goes to the most specific rule's unit, else the
cell's grid team, else the dispatchers' queue — and every rule change is in its history."""

from app.accounts.models import Role
from app.areas.models import Area
from app.catalog.models import Category
from app.catalog.service import seed_default_categories
from app.core import config_cache
from app.routing.service import decide_route
from app.units.models import Unit, UnitKind
from tests.factories import error_code, load_small_tree, make_staff, make_unit, resident

DISTRICT = "990100"
STREET_A = "990100001"
STREET_B = "990100002"
COMMUNITY_A = "990100001001"
CELL_A = "990100001001001"
# WGS-84 points inside cell 990100001001001 (street A) and 990100002001002 (street B).
IN_CELL_A = {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}
IN_STREET_B = {"lng": 116.535, "lat": 35.405, "crs": "wgs84"}
NOWHERE = {"lng": 120.0, "lat": 30.0, "crs": "wgs84"}


async def setup():
    await load_small_tree()
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN, name="张管理")
    return admin


async def add_rule(client, headers, *, unit, category=None, area=None, priority=0, note=""):
    response = await client.post("/api/v1/routing/rules", headers=headers, json={
        "category_code": category, "area_code": area, "unit_id": unit.id, "priority": priority,
        "note": note})
    assert response.status_code == 201, response.text
    return response.json()


async def preview(client, headers, category="0101", point=IN_CELL_A):
    response = await client.get("/api/v1/routing/preview", headers=headers,
                                params={"category": category, **point})
    assert response.status_code == 200, response.text
    return response.json()


async def grid_team(name, area_code, *, is_active=True):
    unit = await Unit.create(name=name, kind=UnitKind.GRID_TEAM, is_active=is_active,
                             area=await Area.get(code=area_code))
    config_cache.invalidate()  # written past the service
    return unit


async def test_the_most_specific_rule_wins(client):
    admin = await setup()
    city = await make_unit("市水务集团", None)
    street = await make_unit("东门街道城管中队", STREET_A)
    water = await make_unit("东门供水所", STREET_A)
    urgent = await make_unit("东门抢修队", STREET_A)
    community = await make_unit("东一社区居委会", COMMUNITY_A)

    by_category = await add_rule(client, admin, unit=city, category="0101", priority=100)
    assert (await preview(client, admin))["rule"]["id"] == by_category["id"]
    # An area beats a category, however high the category rule's priority.
    by_area = await add_rule(client, admin, unit=street, area=STREET_A)
    decision = await preview(client, admin)
    assert (decision["routed_by"], decision["unit"]["id"]) == ("rule", street.id)
    assert decision["rule"]["id"] == by_area["id"]
    # On the same area the deeper category wins ...
    await add_rule(client, admin, unit=water, area=STREET_A, category="01")
    assert (await preview(client, admin))["unit"]["id"] == water.id
    # ... and on the same area and category, the higher priority.
    await add_rule(client, admin, unit=urgent, area=STREET_A, category="01", priority=5)
    assert (await preview(client, admin))["unit"]["id"] == urgent.id
    # A deeper area beats them all.
    await add_rule(client, admin, unit=community, area=COMMUNITY_A)
    decision = await preview(client, admin)
    assert decision["unit"]["id"] == community.id
    assert "东一社区居委会" in decision["explanation"]
    # Other categories and other streets are unaffected by the street's category rules.
    assert (await preview(client, admin, category="2001", point=IN_STREET_B))["unit"] is None
    assert (await preview(client, admin, category="0101", point=IN_STREET_B))["unit"]["id"] == (
        city.id)


async def test_without_a_rule_the_cells_grid_team_gets_it(client):
    admin = await setup()
    await grid_team("东一社区网格队（停用）", COMMUNITY_A, is_active=False)
    community_team = await grid_team("东一社区网格队", COMMUNITY_A)
    await grid_team("东门街道网格队", STREET_A)  # a street is not where grid teams are looked for

    decision = await preview(client, admin, category="2002")
    assert (decision["routed_by"], decision["unit"]["id"]) == ("grid_team", community_team.id)
    assert decision["rule"] is None and decision["location"]["cell"]["code"] == CELL_A

    cell_team = await grid_team("东一第1网格队", CELL_A)
    assert (await preview(client, admin, category="2002"))["unit"]["id"] == cell_team.id


async def test_with_no_rule_and_no_team_it_goes_to_the_dispatchers(client):
    admin = await setup()
    decision = await preview(client, admin, category="1404")
    assert decision["routed_by"] == "manual" and decision["unit"] is None
    assert "手工派遣" in decision["explanation"]

    outside = await preview(client, admin, category="1404", point=NOWHERE)
    assert outside["location"]["found"] is False and outside["routed_by"] == "manual"
    assert "不在任何网格内" in outside["explanation"]
    # A city-wide rule still applies where no cell does.
    city = await make_unit("市交警支队", None)
    await add_rule(client, admin, unit=city, category="14")
    assert (await preview(client, admin, category="1404", point=NOWHERE))["unit"]["id"] == city.id


async def test_retired_rules_and_rules_of_retired_units_are_ignored(client):
    admin = await setup()
    team = await grid_team("东一社区网格队", COMMUNITY_A)
    street = await make_unit("东门街道城管中队", STREET_A)
    closed = await make_unit("已撤销单位", STREET_A)
    rule = await add_rule(client, admin, unit=street, area=STREET_A)
    await add_rule(client, admin, unit=closed, area=COMMUNITY_A)
    await client.patch(f"/api/v1/units/{closed.id}", json={"is_active": False}, headers=admin)
    assert (await preview(client, admin))["unit"]["id"] == street.id

    retired = await client.delete(f"/api/v1/routing/rules/{rule['id']}", headers=admin)
    assert retired.status_code == 200 and retired.json()["is_active"] is False
    decision = await preview(client, admin)
    assert (decision["routed_by"], decision["unit"]["id"]) == ("grid_team", team.id)

    listed = (await client.get("/api/v1/routing/rules", headers=admin)).json()["items"]
    assert rule["id"] not in {r["id"] for r in listed}
    everything = await client.get("/api/v1/routing/rules", params={"include_inactive": "true"},
                                  headers=admin)
    assert rule["id"] in {r["id"] for r in everything.json()["items"]}


async def test_decide_route_for_the_ticket_service(client):
    await setup()
    team = await grid_team("东一社区网格队", COMMUNITY_A)
    cell = await Area.get(code=CELL_A)
    category = await Category.get(code="1002")
    decision = await decide_route(category=category, cell=cell)
    assert (decision.unit_id, decision.rule_id, decision.routed_by) == (team.id, None, "grid_team")
    unrouted = await decide_route(category=category, cell=None)
    assert (unrouted.unit_id, unrouted.rule_id, unrouted.routed_by) == (None, None, "manual")


async def test_every_change_is_in_the_history_with_who_made_it(client):
    admin = await setup()
    admin_user_name = "张管理"
    first = await make_unit("东门街道城管中队", STREET_A)
    second = await make_unit("东门街道环卫所", STREET_A)
    rule = await add_rule(client, admin, unit=first, category="10", area=STREET_A, note="环卫归城管")
    assert rule["category"]["code"] == "10" and rule["area"]["code"] == STREET_A
    assert rule["unit"]["id"] == first.id and rule["note"] == "环卫归城管"

    changed = await client.patch(f"/api/v1/routing/rules/{rule['id']}", headers=admin,
                                 json={"unit_id": second.id, "priority": 3})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["unit"]["id"], changed.json()["priority"]) == (second.id, 3)
    same = await client.patch(f"/api/v1/routing/rules/{rule['id']}", headers=admin,
                              json={"priority": 3})
    assert same.status_code == 200  # nothing changed: nothing recorded
    assert (await client.delete(f"/api/v1/routing/rules/{rule['id']}",
                                headers=admin)).status_code == 200
    assert (await client.delete(f"/api/v1/routing/rules/{rule['id']}",
                                headers=admin)).status_code == 200

    history = await client.get(f"/api/v1/routing/rules/{rule['id']}/history", headers=admin)
    assert history.status_code == 200
    items = history.json()["items"]
    assert [c["action"] for c in items] == ["created", "updated", "deactivated"]
    assert all(c["actor"]["display_name"] == admin_user_name for c in items)
    assert items[0]["snapshot"] == {
        "id": rule["id"], "category_code": "10", "area_code": STREET_A, "unit_id": first.id,
        "unit_name": "东门街道城管中队", "priority": 0, "is_active": True, "note": "环卫归城管"}
    assert (items[1]["snapshot"]["unit_id"], items[1]["snapshot"]["priority"]) == (second.id, 3)
    assert items[2]["snapshot"]["is_active"] is False

    revived = await client.patch(f"/api/v1/routing/rules/{rule['id']}", headers=admin,
                                 json={"is_active": True})
    assert revived.json()["is_active"] is True
    items = (await client.get(f"/api/v1/routing/rules/{rule['id']}/history",
                              headers=admin)).json()["items"]
    assert [c["action"] for c in items][-1] == "updated"


async def test_a_street_admin_routes_only_their_own_street(client):
    await setup()
    _, street_admin = await make_staff(Role.ADMIN, area_code=STREET_A)
    mine = await make_unit("东门街道城管中队", STREET_A)
    theirs = await make_unit("西门街道城管中队", STREET_B)
    district = await make_unit("区城管局", DISTRICT)

    other_street = await client.post("/api/v1/routing/rules", headers=street_admin, json={
        "area_code": STREET_B, "unit_id": mine.id})
    assert other_street.status_code == 403 and error_code(other_street) == "out_of_scope"
    everywhere = await client.post("/api/v1/routing/rules", headers=street_admin, json={
        "category_code": "1002", "unit_id": mine.id})
    assert everywhere.status_code == 403 and error_code(everywhere) == "out_of_scope"
    foreign_unit = await client.post("/api/v1/routing/rules", headers=street_admin, json={
        "area_code": COMMUNITY_A, "unit_id": theirs.id})
    assert foreign_unit.status_code == 422 and error_code(foreign_unit) == "unknown_unit"

    # Their own street may go to their own units or to a unit serving above it (the district).
    assert (await add_rule(client, street_admin, unit=mine, area=COMMUNITY_A))["id"]
    assert (await add_rule(client, street_admin, unit=district, area=STREET_A, category="13"))


async def test_a_street_admin_cannot_touch_another_streets_rules(client):
    admin = await setup()
    _, street_admin = await make_staff(Role.ADMIN, area_code=STREET_A)
    theirs = await add_rule(client, admin, unit=await make_unit("西门街道城管中队", STREET_B),
                            area=STREET_B)
    city_rule = await add_rule(client, admin, unit=await make_unit("市水务集团", None),
                               category="13")
    mine = await add_rule(client, admin, unit=await make_unit("东门街道城管中队", STREET_A),
                          area=STREET_A)

    listed = (await client.get("/api/v1/routing/rules", headers=street_admin)).json()["items"]
    assert {r["id"] for r in listed} == {city_rule["id"], mine["id"]}
    for method in ("patch", "delete"):
        kwargs = {"json": {"priority": 1}} if method == "patch" else {}
        hidden = await client.request(method.upper(), f"/api/v1/routing/rules/{theirs['id']}",
                                      headers=street_admin, **kwargs)
        assert hidden.status_code == 404 and error_code(hidden) == "rule_not_found"
        above = await client.request(method.upper(), f"/api/v1/routing/rules/{city_rule['id']}",
                                     headers=street_admin, **kwargs)
        assert above.status_code == 403 and error_code(above) == "out_of_scope"
    hidden_history = await client.get(f"/api/v1/routing/rules/{theirs['id']}/history",
                                      headers=street_admin)
    assert hidden_history.status_code == 404


async def test_dispatchers_read_rules_and_preview_but_do_not_edit(client):
    admin = await setup()
    unit = await make_unit("东门街道城管中队", STREET_A)
    rule = await add_rule(client, admin, unit=unit, area=STREET_A)
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code=STREET_A)
    listed = await client.get("/api/v1/routing/rules", headers=dispatcher)
    assert [r["id"] for r in listed.json()["items"]] == [rule["id"]]
    assert (await preview(client, dispatcher))["unit"]["id"] == unit.id
    denied = await client.patch(f"/api/v1/routing/rules/{rule['id']}", headers=dispatcher,
                                json={"priority": 2})
    assert denied.status_code == 403
    created = await client.post("/api/v1/routing/rules", headers=dispatcher,
                                json={"area_code": STREET_A, "unit_id": unit.id})
    assert created.status_code == 403
    outside = await client.get("/api/v1/routing/preview", headers=dispatcher,
                               params={"category": "0101", **IN_STREET_B})
    assert outside.status_code == 403 and error_code(outside) == "out_of_scope"


async def test_residents_and_grid_workers_cannot_see_rules(client):
    admin = await setup()
    rule = await add_rule(client, admin, unit=await make_unit(), area=STREET_A)
    _, worker = await make_staff(Role.GRID_WORKER, area_code=CELL_A)
    for headers in (await resident(client), worker):
        for path in ("/api/v1/routing/rules", f"/api/v1/routing/rules/{rule['id']}/history"):
            assert (await client.get(path, headers=headers)).status_code == 403
        response = await client.get("/api/v1/routing/preview", headers=headers,
                                    params={"category": "0101", **IN_CELL_A})
        assert response.status_code == 403


async def test_rules_can_be_listed_by_area_and_category(client):
    admin = await setup()
    unit = await make_unit("东门街道城管中队", STREET_A)
    a = await add_rule(client, admin, unit=unit, area=STREET_A, category="10")
    b = await add_rule(client, admin, unit=unit, area=COMMUNITY_A, category="1002")
    c = await add_rule(client, admin, unit=unit, area=STREET_B, category="14")

    async def ids(**params):
        response = await client.get("/api/v1/routing/rules", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids() == [a["id"], b["id"], c["id"]]
    assert await ids(area=STREET_A) == [a["id"], b["id"]]
    assert await ids(category="10") == [a["id"], b["id"]]
    assert await ids(category="1002") == [b["id"]]
    assert await ids(limit=2) == [a["id"], b["id"]]
    assert await ids(cursor=str(b["id"])) == [c["id"]]
    for params, code in (({"area": "404"}, "area_not_found"),
                         ({"category": "404"}, "category_not_found")):
        response = await client.get("/api/v1/routing/rules", params=params, headers=admin)
        assert response.status_code == 404 and error_code(response) == code


async def test_two_rules_that_only_an_id_could_separate_are_a_conflict(client):
    admin = await setup()
    first = await make_unit("东门街道城管中队", STREET_A)
    second = await make_unit("东门街道环卫所", STREET_A)
    rule = await add_rule(client, admin, unit=first, area=STREET_A, category="10")
    twin = await client.post("/api/v1/routing/rules", headers=admin, json={
        "area_code": STREET_A, "category_code": "10", "unit_id": second.id})
    assert twin.status_code == 409 and error_code(twin) == "rule_conflict"
    assert twin.json()["error"]["details"]["rule_id"] == rule["id"]
    other = await add_rule(client, admin, unit=second, area=STREET_A, category="10", priority=1)
    clash = await client.patch(f"/api/v1/routing/rules/{other['id']}", headers=admin,
                               json={"priority": 0})
    assert clash.status_code == 409
    history = (await client.get(f"/api/v1/routing/rules/{other['id']}/history",
                                headers=admin)).json()["items"]
    assert [c["action"] for c in history] == ["created"]  # the refused change left no trace


async def test_bad_rule_input_is_a_4xx_never_a_500(client):
    admin = await setup()
    unit = await make_unit("东门街道城管中队", STREET_A)
    retired = await make_unit("已撤销单位", STREET_A)
    retired.is_active = False
    await retired.save()
    config_cache.invalidate()
    cases = [
        ({"area_code": STREET_A}, 422, "invalid"),  # no unit
        ({"area_code": STREET_A, "unit_id": 0}, 422, "invalid"),
        ({"area_code": STREET_A, "unit_id": 2**40}, 422, "invalid"),
        ({"area_code": STREET_A, "unit_id": "x"}, 422, "invalid"),
        ({"area_code": STREET_A, "unit_id": unit.id, "priority": 10**6}, 422, "invalid"),
        ({"area_code": STREET_A, "unit_id": unit.id, "note": "x" * 256}, 422, "invalid"),
        ({"area_code": STREET_A, "unit_id": unit.id, "extra": 1}, 422, "invalid"),
        ({"area_code": "404", "unit_id": unit.id}, 422, "unknown_area"),
        ({"category_code": "9999", "unit_id": unit.id}, 422, "unknown_category"),
        ({"area_code": STREET_A, "unit_id": 987654}, 422, "unknown_unit"),
        ({"area_code": STREET_A, "unit_id": retired.id}, 422, "unit_inactive"),
    ]
    for body, status, code in cases:
        response = await client.post("/api/v1/routing/rules", json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code, body
    for body in (None, [], "x"):
        response = await client.post("/api/v1/routing/rules", json=body, headers=admin)
        assert 400 <= response.status_code < 500
        error_code(response)
    for path in ("/api/v1/routing/rules/99999", "/api/v1/routing/rules/99999999999",
                 "/api/v1/routing/rules/99999/history"):
        response = await client.get(path, headers=admin) if path.endswith("history") else (
            await client.delete(path, headers=admin))
        assert response.status_code == 404, path
        error_code(response)
    assert (await client.get("/api/v1/routing/rules", params={"cursor": "x"},
                             headers=admin)).status_code == 422


async def test_preview_refuses_bad_questions_clearly(client):
    admin = await setup()
    cases = [
        ({"category": "01", **IN_CELL_A}, 422, "category_not_leaf"),
        ({"category": "9999", **IN_CELL_A}, 404, "category_not_found"),
        ({"category": "0101", "lng": 500, "lat": 35.4, "crs": "wgs84"}, 422, "invalid_query"),
        ({"category": "0101", "lng": 116.5, "lat": 35.4, "crs": "bd09"}, 422, "invalid_query"),
        ({"category": "0101", "lng": "nan", "lat": 35.4, "crs": "wgs84"}, 422, "invalid_query"),
        ({"lng": 116.5, "lat": 35.4, "crs": "wgs84"}, 422, "invalid_query"),
    ]
    for params, status, code in cases:
        response = await client.get("/api/v1/routing/preview", params=params, headers=admin)
        assert response.status_code == status, (params, response.text)
        assert error_code(response) == code, params


async def test_preview_converts_wechat_coordinates(client):
    from app.areas.geo import wgs84_to_gcj02

    admin = await setup()
    team = await grid_team("东一社区网格队", COMMUNITY_A)
    lng, lat = wgs84_to_gcj02(IN_CELL_A["lng"], IN_CELL_A["lat"])
    decision = await preview(client, admin, category="2004",
                             point={"lng": lng, "lat": lat, "crs": "gcj02"})
    assert decision["location"]["cell"]["code"] == CELL_A
    assert decision["unit"]["id"] == team.id and decision["category"]["code"] == "2004"


async def test_a_long_history_pages_oldest_first(client):
    admin = await setup()
    unit = await make_unit("东门街道城管中队", STREET_A)
    rule = await add_rule(client, admin, unit=unit, category="10", area=STREET_A)
    for priority in (1, 2, 3):
        changed = await client.patch(f"/api/v1/routing/rules/{rule['id']}", headers=admin,
                                     json={"priority": priority})
        assert changed.status_code == 200, changed.text
    path = f"/api/v1/routing/rules/{rule['id']}/history"
    first = (await client.get(path, params={"limit": 3}, headers=admin)).json()
    assert [c["snapshot"]["priority"] for c in first["items"]] == [0, 1, 2]
    rest = (await client.get(path, params={"limit": 3, "cursor": first["next"]},
                             headers=admin)).json()
    assert [c["snapshot"]["priority"] for c in rest["items"]] == [3] and rest["next"] is None
    bad = await client.get(path, params={"cursor": "1.2"}, headers=admin)
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
