"""Staff see and change only their own area; residents only themselves."""

from app.accounts.models import Role
from tests.factories import error_code, load_small_tree, make_staff, resident

COMMUNITY_A = "990100001001"
COMMUNITY_B = "990100002001"


async def resident_of(client, openid, community):
    headers = await resident(client, openid)
    response = await client.patch("/api/v1/me", json={"home_area_code": community}, headers=headers)
    assert response.status_code == 200
    return headers, response.json()["id"]


async def test_community_staff_reads_their_residents_but_not_another_communitys(client):
    await load_small_tree()
    _, staff_a = await make_staff(Role.COMMUNITY_STAFF, area_code=COMMUNITY_A)
    _, alice_id = await resident_of(client, "alice", COMMUNITY_A)
    _, bob_id = await resident_of(client, "bob", COMMUNITY_B)

    own = await client.get(f"/api/v1/users/{alice_id}", headers=staff_a)
    assert own.status_code == 200 and own.json()["home_area"]["code"] == COMMUNITY_A
    other = await client.get(f"/api/v1/users/{bob_id}", headers=staff_a)
    assert other.status_code == 404 and error_code(other) == "user_not_found"
    assert "bob" not in other.text

    listed = await client.get("/api/v1/users", params={"role": "resident"}, headers=staff_a)
    assert [u["id"] for u in listed.json()["items"]] == [alice_id]
    foreign = await client.get("/api/v1/users", params={"area": COMMUNITY_B}, headers=staff_a)
    assert foreign.status_code == 404


async def test_community_staff_cannot_change_another_communitys_office_details(client):
    await load_small_tree()
    _, staff_a = await make_staff(Role.COMMUNITY_STAFF, area_code=COMMUNITY_A)
    mine = await client.patch(f"/api/v1/areas/{COMMUNITY_A}", headers=staff_a,
                              json={"office_phone": "0537-1111111"})
    assert mine.status_code == 200
    theirs = await client.patch(f"/api/v1/areas/{COMMUNITY_B}", headers=staff_a,
                                json={"office_phone": "0537-9999999"})
    assert theirs.status_code == 403 and error_code(theirs) == "out_of_scope"
    residents = await resident(client, "carol")
    detail = await client.get(f"/api/v1/areas/{COMMUNITY_B}", headers=residents)
    assert detail.json()["office_phone"] == ""


async def test_a_street_manager_sees_all_communities_of_the_street(client):
    await load_small_tree()
    _, street_staff = await make_staff(Role.COMMUNITY_STAFF, area_code="990100001")
    await resident_of(client, "a1", COMMUNITY_A)
    await resident_of(client, "a2", "990100001002")
    await resident_of(client, "b1", COMMUNITY_B)
    listed = await client.get("/api/v1/users", params={"role": "resident"}, headers=street_staff)
    assert len(listed.json()["items"]) == 2


async def test_users_list_pages_with_a_cursor(client):
    await load_small_tree()
    _, staff = await make_staff(Role.COMMUNITY_STAFF, area_code=COMMUNITY_A)
    ids = [(await resident_of(client, f"r{i}", COMMUNITY_A))[1] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"role": "resident", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/users", params=params, headers=staff)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ids
    for bad in ("abc", "1.2", str(2**63), "²"):
        refused = await client.get("/api/v1/users", params={"cursor": bad}, headers=staff)
        assert refused.status_code == 422 and error_code(refused) == "invalid_cursor", bad


async def test_a_resident_cannot_read_another_residents_profile(client):
    await load_small_tree()
    alice, alice_id = await resident_of(client, "alice", COMMUNITY_A)
    _, bob_id = await resident_of(client, "bob", COMMUNITY_A)
    assert (await client.get(f"/api/v1/users/{alice_id}", headers=alice)).status_code == 200
    response = await client.get(f"/api/v1/users/{bob_id}", headers=alice)
    assert response.status_code == 404
    assert (await client.get("/api/v1/users", headers=alice)).status_code == 403
    assert (await client.get("/api/v1/users/999999999999", headers=alice)).status_code == 404


async def test_grid_workers_cannot_manage_users(client):
    await load_small_tree()
    _, worker = await make_staff(Role.GRID_WORKER, area_code="990100001001001")
    _, alice_id = await resident_of(client, "alice", COMMUNITY_A)
    assert (await client.get(f"/api/v1/users/{alice_id}", headers=worker)).status_code == 404
    assert (await client.patch(f"/api/v1/areas/{COMMUNITY_A}", headers=worker,
                               json={"name": "x"})).status_code == 403


async def test_choosing_an_unknown_home_community_is_refused(client):
    headers = await resident(client)
    response = await client.patch("/api/v1/me", json={"home_area_code": "000"}, headers=headers)
    assert response.status_code == 422 and error_code(response) == "unknown_area"


async def test_a_city_wide_admin_manages_handlers_and_residents_without_a_community(client):
    from tests.factories import make_unit

    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    handler, _ = await make_staff(Role.HANDLER, unit=await make_unit())
    await resident(client, "drifter")  # never chose a community
    listed = await client.get("/api/v1/users", params={"limit": 100}, headers=admin)
    assert len(listed.json()["items"]) == 3
    assert (await client.get(f"/api/v1/users/{handler.id}", headers=admin)).status_code == 200
    off = await client.patch(f"/api/v1/users/{handler.id}", json={"is_active": False},
                             headers=admin)
    assert off.status_code == 200 and off.json()["is_active"] is False


async def test_a_street_admin_reaches_handlers_of_units_in_the_street(client):
    from tests.factories import make_unit

    await load_small_tree()
    _, street_admin = await make_staff(Role.ADMIN, area_code="990100001")
    inside, _ = await make_staff(Role.HANDLER, unit=await make_unit("东门物业", "990100001001"))
    outside, _ = await make_staff(Role.HANDLER, unit=await make_unit("西门物业", "990100002001"))
    assert (await client.get(f"/api/v1/users/{inside.id}", headers=street_admin)).status_code == 200
    assert (await client.get(f"/api/v1/users/{outside.id}",
                             headers=street_admin)).status_code == 404
