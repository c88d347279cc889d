"""Staff see the units of their own area; admins create and edit units within their scope."""

from app.accounts.models import Role
from tests.factories import error_code, load_small_tree, make_staff, make_unit, resident

STREET_A = "990100001"
STREET_B = "990100002"
COMMUNITY_A = "990100001001"
CELL_A = "990100001001001"


async def test_community_staff_see_their_streets_units_but_not_another_streets(client):
    await load_small_tree()
    mine = await make_unit("东门街道城管中队", STREET_A)
    in_community = await make_unit("东一社区居委会", COMMUNITY_A)
    theirs = await make_unit("西门街道城管中队", STREET_B)
    city = await make_unit("市政设施维护中心", None)
    _, staff_a = await make_staff(Role.COMMUNITY_STAFF, area_code=STREET_A)

    listed = await client.get("/api/v1/units", headers=staff_a)
    assert listed.status_code == 200
    assert [u["id"] for u in listed.json()["items"]] == [mine.id, in_community.id]
    assert listed.json()["items"][0]["area"]["code"] == STREET_A

    assert (await client.get(f"/api/v1/units/{mine.id}", headers=staff_a)).status_code == 200
    for unit in (theirs, city):
        other = await client.get(f"/api/v1/units/{unit.id}", headers=staff_a)
        assert other.status_code == 404 and error_code(other) == "unit_not_found"
    foreign = await client.get("/api/v1/units", params={"area": STREET_B}, headers=staff_a)
    assert foreign.status_code == 404 and error_code(foreign) == "area_not_found"


async def test_a_city_wide_admin_sees_every_unit_and_filters_by_area_and_kind(client):
    await load_small_tree()
    street = await make_unit("东门街道城管中队", STREET_A)
    await make_unit("西门街道城管中队", STREET_B)
    city = await make_unit("市政设施维护中心", None)
    _, admin = await make_staff(Role.ADMIN)
    created = await client.post("/api/v1/units", headers=admin, json={
        "name": "东一社区网格队", "kind": "grid_team", "area_code": COMMUNITY_A})
    team_id = created.json()["id"]

    everything = (await client.get("/api/v1/units", headers=admin)).json()["items"]
    assert len(everything) == 4 and city.id in {u["id"] for u in everything}
    in_a = (await client.get("/api/v1/units", params={"area": STREET_A}, headers=admin)).json()
    assert [u["id"] for u in in_a["items"]] == [street.id, team_id]
    teams = (await client.get("/api/v1/units", params={"kind": "grid_team"}, headers=admin)).json()
    assert [u["id"] for u in teams["items"]] == [team_id]


async def test_the_unit_list_pages_with_a_cursor(client):
    await load_small_tree()
    for i in range(5):
        await make_unit(f"单位{i}", STREET_A)
    _, admin = await make_staff(Role.ADMIN)
    first = (await client.get("/api/v1/units", params={"limit": 3}, headers=admin)).json()
    assert len(first["items"]) == 3 and first["next"]
    rest = (await client.get("/api/v1/units", params={"limit": 3, "cursor": first["next"]},
                             headers=admin)).json()
    assert len(rest["items"]) == 2 and rest["next"] is None
    bad = await client.get("/api/v1/units", params={"cursor": "abc"}, headers=admin)
    assert bad.status_code == 422 and error_code(bad) == "invalid_query"
    beyond = await client.get("/api/v1/units", params={"cursor": str(2**63)}, headers=admin)
    assert beyond.status_code == 422 and error_code(beyond) == "invalid_cursor"


async def test_a_unit_lists_its_handlers(client):
    await load_small_tree()
    unit = await make_unit("东门街道城管中队", STREET_A)
    handler, _ = await make_staff(Role.HANDLER, unit=unit, name="李处置")
    handler.work_phone = "0537-2345678"
    await handler.save()
    gone, _ = await make_staff(Role.HANDLER, unit=unit, name="赵离职")
    gone.is_active = False
    await gone.save()
    await make_staff(Role.HANDLER, unit=await make_unit("别的单位", STREET_A))
    _, staff = await make_staff(Role.DISPATCHER, area_code=STREET_A)

    detail = await client.get(f"/api/v1/units/{unit.id}", headers=staff)
    assert detail.status_code == 200
    assert detail.json()["members"] == [
        {"id": handler.id, "display_name": "李处置", "work_phone": "0537-2345678"}]


async def test_a_handler_sees_their_own_unit(client):
    await load_small_tree()
    unit = await make_unit("东门街道城管中队", STREET_A)
    other = await make_unit("西门街道城管中队", STREET_B)
    _, handler = await make_staff(Role.HANDLER, unit=unit)
    assert [u["id"] for u in (await client.get("/api/v1/units", headers=handler)).json()[
        "items"]] == [unit.id]
    assert (await client.get(f"/api/v1/units/{other.id}", headers=handler)).status_code == 404


async def test_residents_do_not_browse_units(client):
    await load_small_tree()
    unit = await make_unit()
    alice = await resident(client)
    listed = await client.get("/api/v1/units", headers=alice)
    assert listed.status_code == 403 and error_code(listed) == "forbidden"
    assert (await client.get(f"/api/v1/units/{unit.id}", headers=alice)).status_code == 404
    assert (await client.get("/api/v1/units")).status_code == 401


async def test_a_street_admin_creates_units_only_in_their_street(client):
    await load_small_tree()
    _, street_admin = await make_staff(Role.ADMIN, area_code=STREET_A)
    created = await client.post("/api/v1/units", headers=street_admin, json={
        "name": "东一物业", "kind": "property_company", "area_code": COMMUNITY_A})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["area"]["code"] == COMMUNITY_A and body["is_active"] and body["kind"] == (
        "property_company")

    elsewhere = await client.post("/api/v1/units", headers=street_admin, json={
        "name": "西门物业", "kind": "property_company", "area_code": STREET_B})
    assert elsewhere.status_code == 422 and error_code(elsewhere) == "unknown_area"
    city_wide = await client.post("/api/v1/units", headers=street_admin, json={
        "name": "全市单位", "kind": "department"})
    assert city_wide.status_code == 422 and error_code(city_wide) == "area_required"


async def test_only_admins_create_units_and_input_is_checked(client):
    await load_small_tree()
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code=STREET_A)
    denied = await client.post("/api/v1/units", headers=dispatcher, json={
        "name": "东一物业", "kind": "property_company", "area_code": COMMUNITY_A})
    assert denied.status_code == 403
    _, admin = await make_staff(Role.ADMIN)
    for body in ({"name": "", "kind": "department"}, {"name": "x", "kind": "ministry"},
                 {"name": "x"}, {"name": "x", "kind": "department", "area_code": "404"},
                 {"name": "x", "kind": "grid_team", "area_code": STREET_A}, [], "x"):
        response = await client.post("/api/v1/units", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        error_code(response)


async def test_admin_renames_and_retires_a_unit_in_scope(client):
    await load_small_tree()
    unit = await make_unit("东门街道城管中队", STREET_A)
    other = await make_unit("西门街道城管中队", STREET_B)
    _, street_admin = await make_staff(Role.ADMIN, area_code=STREET_A)

    renamed = await client.patch(f"/api/v1/units/{unit.id}", headers=street_admin,
                                 json={"name": "东门街道综合执法中队", "is_active": False})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["is_active"]) == ("东门街道综合执法中队", False)
    active = (await client.get("/api/v1/units", headers=street_admin)).json()["items"]
    assert active == []
    everything = await client.get("/api/v1/units", params={"include_inactive": "true"},
                                  headers=street_admin)
    assert [u["id"] for u in everything.json()["items"]] == [unit.id]

    foreign = await client.patch(f"/api/v1/units/{other.id}", headers=street_admin,
                                 json={"name": "x"})
    assert foreign.status_code == 404 and error_code(foreign) == "unit_not_found"
    missing = await client.patch("/api/v1/units/99999999999", headers=street_admin,
                                 json={"name": "x"})
    assert missing.status_code == 404


async def test_staff_who_see_a_unit_cannot_edit_it(client):
    await load_small_tree()
    unit = await make_unit("东门街道城管中队", STREET_A)
    _, staff = await make_staff(Role.COMMUNITY_STAFF, area_code=STREET_A)
    response = await client.patch(f"/api/v1/units/{unit.id}", headers=staff, json={"name": "x"})
    assert response.status_code == 403 and error_code(response) == "out_of_scope"
