"""Residents pick from a short friendly list; staff see the full tree; admins edit it."""

import pytest

from app.accounts.models import Role
from app.catalog.defaults import DEFAULT_CATEGORIES
from app.catalog.models import Category
from app.catalog.service import get_active_leaf_or_raise, seed_default_categories
from app.core.errors import Invalid, NotFound
from tests.factories import error_code, load_small_tree, make_staff, resident

NEW_MINOR = {"code": "2090", "parent_code": "20", "name": "高空抛物", "resident_label": "高空抛物",
             "limit_value": 4, "limit_unit": "work_hours", "urgent_limit_value": 1,
             "urgent_limit_unit": "natural_hours"}


async def test_seeding_fills_an_empty_catalogue_once_with_both_kinds(client):
    created = await seed_default_categories()
    expected = len(DEFAULT_CATEGORIES) + sum(len(m["children"]) for m in DEFAULT_CATEGORIES)
    assert created == expected == await Category.all().count()
    assert await seed_default_categories() == 0
    assert await Category.all().count() == expected

    _, admin = await make_staff(Role.ADMIN)
    tree = (await client.get("/api/v1/categories", headers=admin)).json()
    assert tree["audience"] == "staff"
    majors = {m["code"]: m for m in tree["items"]}
    assert {m["kind"] for m in majors.values()} == {"component", "event"}
    assert majors["01"]["name"] == "公用设施" and majors["01"]["kind"] == "component"
    assert majors["13"]["name"] == "突发事件" and majors["13"]["kind"] == "event"
    assert majors["20"]["standard_ref"] == "local"
    assert all(3 <= len(m["children"]) <= 8 for m in majors.values())
    manhole = next(c for c in majors["01"]["children"] if c["code"] == "0101")
    assert manhole["name"] == "上水井盖" and manhole["path"] == "/01/0101/"
    assert manhole["depth"] == 2 and manhole["parent_code"] == "01" and manhole["requires_photo"]
    assert manhole["standard_ref"] == "GB/T 30428.2-2013"
    for major in majors.values():
        for leaf in major["children"]:
            assert leaf["code"].startswith(major["code"]) and len(leaf["code"]) == 4
            assert leaf["resident_label"] and 1 <= leaf["limit_value"] <= 10_000
            assert leaf["urgent_limit_unit"] == "natural_hours"


async def test_seeding_does_not_touch_a_catalogue_that_has_rows(client):
    await Category.create(code="01", name="自定义", kind="component", path="/01/", depth=1)
    assert await seed_default_categories() == 0
    assert await Category.all().count() == 1


async def test_urgent_events_have_short_natural_hour_limits(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    tree = (await client.get("/api/v1/categories", params={"audience": "staff"},
                             headers=admin)).json()
    emergencies = next(m for m in tree["items"] if m["code"] == "13")["children"]
    names = {c["name"] for c in emergencies}
    assert {"路面塌陷", "自来水管破裂", "燃气管道破裂", "道路积水"} <= names
    assert all(c["limit_unit"] == "natural_hours" and c["limit_value"] <= 4 for c in emergencies)
    garbage = (await client.get("/api/v1/categories/1002", headers=admin)).json()
    assert (garbage["name"], garbage["limit_value"], garbage["limit_unit"],
            garbage["auto_accept"]) == ("暴露垃圾", 4, "work_hours", True)


async def test_a_resident_sees_only_friendly_visible_leaves(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    hidden = await client.patch("/api/v1/categories/2003", json={"is_active": False}, headers=admin)
    assert hidden.status_code == 200
    alice = await resident(client)

    response = await client.get("/api/v1/categories", headers=alice)
    assert response.status_code == 200
    body = response.json()
    assert body["audience"] == "resident"
    groups = {g["code"]: g for g in body["items"]}
    community = {c["code"]: c for c in groups["20"]["children"]}
    assert community["2001"] == {"code": "2001", "label": "家里或楼道漏水", "requires_photo": False}
    assert "2003" not in community  # retired
    assert groups["20"]["label"] == "小区和楼道"
    labels = [c["label"] for g in groups.values() for c in g["children"]]
    assert "井盖破损或丢失" in labels
    assert "0101" not in {c["code"] for c in groups["01"]["children"]}  # staff-only 上水井盖
    assert all(set(c) == {"code", "label", "requires_photo"} for g in groups.values()
               for c in g["children"])
    assert "limit_value" not in response.text

    staff_tree = await client.get("/api/v1/categories", params={"audience": "staff"}, headers=alice)
    assert staff_tree.status_code == 403 and error_code(staff_tree) == "staff_only"
    assert (await client.get("/api/v1/categories/0101", headers=alice)).status_code == 404
    assert (await client.get("/api/v1/categories/2003", headers=alice)).status_code == 404
    assert (await client.get("/api/v1/categories/2001", headers=alice)).status_code == 200


async def test_staff_may_ask_for_the_resident_list_and_for_retired_categories(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    await client.patch("/api/v1/categories/2003", json={"is_active": False}, headers=admin)
    friendly = await client.get("/api/v1/categories", params={"audience": "resident"},
                                headers=admin)
    assert friendly.json()["audience"] == "resident"

    def leaves(response):
        return {c["code"] for m in response.json()["items"] for c in m["children"]}

    active = await client.get("/api/v1/categories", headers=admin)
    everything = await client.get("/api/v1/categories", params={"include_inactive": "true"},
                                  headers=admin)
    assert "2003" not in leaves(active) and "2003" in leaves(everything)


async def test_categories_need_a_login(client):
    assert (await client.get("/api/v1/categories")).status_code == 401


async def test_admin_adds_a_local_category_and_changes_a_limit(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    created = await client.post("/api/v1/categories", json=NEW_MINOR, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["path"] == "/20/2090/" and created.json()["kind"] == "event"
    assert created.json()["depth"] == 2

    major = await client.post("/api/v1/categories", headers=admin, json={
        "code": "21", "name": "物业服务", "kind": "event", "resident_label": "物业问题"})
    assert major.status_code == 201 and major.json()["path"] == "/21/"

    changed = await client.patch("/api/v1/categories/1002", headers=admin,
                                 json={"limit_value": 1, "limit_unit": "work_days"})
    assert changed.status_code == 200
    again = (await client.get("/api/v1/categories/1002", headers=admin)).json()
    assert (again["limit_value"], again["limit_unit"]) == (1, "work_days")
    assert again["name"] == "暴露垃圾"  # untouched fields stay

    alice = await resident(client)
    labels = [c["label"] for g in (await client.get("/api/v1/categories", headers=alice)).json()[
        "items"] for c in g["children"]]
    assert "高空抛物" in labels


async def test_a_street_admin_may_edit_the_city_wide_catalogue(client):
    await load_small_tree()
    await seed_default_categories()
    _, street_admin = await make_staff(Role.ADMIN, area_code="990100001")
    response = await client.patch("/api/v1/categories/1004", json={"limit_value": 3},
                                  headers=street_admin)
    assert response.status_code == 200


async def test_only_admins_edit_the_catalogue(client):
    await load_small_tree()
    await seed_default_categories()
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    for headers in (dispatcher, await resident(client)):
        created = await client.post("/api/v1/categories", json=NEW_MINOR, headers=headers)
        assert created.status_code == 403 and error_code(created) == "forbidden"
        edited = await client.patch("/api/v1/categories/1002", json={"limit_value": 1},
                                    headers=headers)
        assert edited.status_code == 403
    assert (await client.get("/api/v1/categories/2090", headers=dispatcher)).status_code == 404


async def test_a_duplicate_code_is_a_conflict(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    response = await client.post("/api/v1/categories", headers=admin,
                                 json={**NEW_MINOR, "code": "2001"})
    assert response.status_code == 409 and error_code(response) == "category_code_taken"


@pytest.mark.parametrize("changes", [
    {"limit_value": 0}, {"limit_value": 10_001}, {"limit_value": "soon"},
    {"urgent_limit_value": -1}, {"limit_unit": "fortnights"},
])
async def test_bad_limits_are_refused(client, changes):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    created = await client.post("/api/v1/categories", json={**NEW_MINOR, **changes}, headers=admin)
    assert created.status_code == 422 and error_code(created) == "invalid"
    edited = await client.patch("/api/v1/categories/1002", json=changes, headers=admin)
    assert edited.status_code == 422 and error_code(edited) == "invalid"
    assert (await client.get("/api/v1/categories/1002", headers=admin)).json()["limit_value"] == 4


async def test_the_tree_has_known_parents_two_levels_and_coded_children(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    cases = [
        ({**NEW_MINOR, "parent_code": "77", "code": "7701"}, "unknown_parent"),
        ({**NEW_MINOR, "parent_code": "2001", "code": "200101"}, "invalid"),  # 6 digits
        ({**NEW_MINOR, "parent_code": "2001", "code": "2099"}, "too_deep"),
        ({**NEW_MINOR, "code": "1099"}, "invalid_code"),  # not under its parent's code
        ({**NEW_MINOR, "kind": "component"}, "kind_mismatch"),
        ({"code": "22", "name": "无类型"}, "kind_required"),
        ({"code": "07", "name": "事件", "kind": "event"}, "invalid_code"),  # events are 10–99
        ({"code": "12a", "name": "x", "kind": "event"}, "invalid"),
        ({**NEW_MINOR, "unexpected": 1}, "invalid"),
    ]
    for body, code in cases:
        response = await client.post("/api/v1/categories", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert error_code(response) == code, body
    assert (await client.get("/api/v1/categories/2099", headers=admin)).status_code == 404


async def test_editing_an_unknown_category_is_not_found_and_bad_input_is_4xx(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    response = await client.patch("/api/v1/categories/9999", json={"name": "x"}, headers=admin)
    assert response.status_code == 404 and error_code(response) == "category_not_found"
    for body in (None, [], "x", {"code": "2002"}, {"name": ""}):
        response = await client.patch("/api/v1/categories/2002", json=body, headers=admin)
        assert 400 <= response.status_code < 500, (body, response.text)
        error_code(response)
    raw = await client.post("/api/v1/categories", content=b"{not json",
                            headers={**admin, "Content-Type": "application/json"})
    assert raw.status_code == 400 and error_code(raw) == "malformed_json"
    odd = await client.get("/api/v1/categories", params={"audience": "mayor"}, headers=admin)
    assert odd.status_code == 422 and error_code(odd) == "invalid_query"


async def test_reports_are_filed_against_active_leaves_only(client):
    await seed_default_categories()
    leaf = await get_active_leaf_or_raise(code="1002")
    assert leaf.name == "暴露垃圾" and (await Category.get(id=leaf.parent_id)).code == "10"
    with pytest.raises(Invalid) as major:
        await get_active_leaf_or_raise(code="10")
    assert major.value.code == "category_not_leaf"
    with pytest.raises(NotFound):
        await get_active_leaf_or_raise(code="9999")
    _, admin = await make_staff(Role.ADMIN)
    await client.patch("/api/v1/categories/11", json={"is_active": False}, headers=admin)
    with pytest.raises(NotFound) as retired:
        await get_active_leaf_or_raise(code="1101")  # its 大类 is retired
    assert retired.value.code == "category_not_found"


async def test_a_category_code_longer_than_any_stored_code_is_not_found(client):
    await seed_default_categories()
    _, admin = await make_staff(Role.ADMIN)
    code = "1" * 33
    read = await client.get(f"/api/v1/categories/{code}", headers=admin)
    assert read.status_code == 404 and error_code(read)
    edit = await client.patch(f"/api/v1/categories/{code}", json={"name": "x"}, headers=admin)
    assert edit.status_code == 404 and error_code(edit)
