"""The console's admin pages (系统管理): categories, units and handlers, routing rules with a map
preview, staff accounts, the working calendar — through HTTP as a browser posts the forms,
and checked against what the JSON API answers afterwards."""

from __future__ import annotations

import re

import pytest

from app.accounts.models import Role, RoleGrant, User
from app.areas.models import Area, AreaKind
from app.routing.models import RoutingRule
from app.units.models import Unit
from tests.console.helpers import csrf_of, sign_in
from tests.factories import make_staff
from tests.tickets.helpers import IN_CELL

ADMIN_PAGES = ("/console/admin/categories", "/console/admin/units", "/console/admin/rules",
               "/console/admin/users", "/console/admin/calendar")


@pytest.fixture
async def admin(client, city):
    """The district's admin, signed in; returns (the API headers, the session's CSRF token)."""
    _, headers = await make_staff(Role.ADMIN, area_code="990100", username="admin",
                                  name="钱管理")
    return headers, await sign_in(client, "admin")


async def neighbour_admin(client) -> str:
    """An admin of another district (邻区), signed in on `client`."""
    await Area.create(code="990200", name="邻区", kind=AreaKind.DISTRICT, path="/990200/")
    await make_staff(Role.ADMIN, area_code="990200", username="neighbour", name="郑邻区")
    return await sign_in(client, "neighbour")


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def shown_fields(page: str) -> dict[str, str]:
    """Every `was_` field of a form: what the form showed when it was opened."""
    return dict(re.findall(r'name="(was_[a-z_]+)" value="([^"]*)"', page))


async def test_the_admin_menu_and_pages_are_an_admins_alone(client, city):
    await make_staff(Role.ADMIN, area_code="990100", username="admin", name="钱管理")
    await sign_in(client, "admin")
    home = await client.get("/console/dashboard")
    assert "系统管理" in home.text
    for path in ADMIN_PAGES:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert "系统管理" in page.text and 'aria-current="page"' in page.text

    await client.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    token = await sign_in(client, (await User.get(display_name="李派遣")).username)
    assert "系统管理" not in (await client.get("/console/dashboard")).text
    for path in ADMIN_PAGES:
        refused = await client.get(path)
        assert refused.status_code == 403 and "只有管理员" in refused.text, path
    write = await client.post("/console/admin/calendar", data={
        "csrf_token": token, "day": "2031-10-08", "is_workday": "1", "note": "调休"})
    assert write.status_code == 403
    assert "2031-10-08" not in (await client.get("/api/v1/calendar/status", headers=city.dispatcher)
                                ).text


async def test_an_admin_changes_a_time_limit_and_the_api_returns_it(client, admin):
    headers, _ = admin
    form = await client.get("/console/admin/categories/9902")
    assert form.status_code == 200 and "噪音扰民" in form.text
    # Meanwhile another admin renames the category through the API.
    renamed = await client.patch("/api/v1/categories/9902", headers=headers,
                                 json={"name": "社会生活噪声"})
    assert renamed.status_code == 200
    data = {"csrf_token": csrf_of(form.text), **shown_fields(form.text),
            "name": "噪音扰民", "resident_label": "噪音扰民（居民）", "standard_ref": "",
            "sort": "0", "limit_value": "3", "limit_unit": "work_days",
            "urgent_limit_value": "2", "urgent_limit_unit": "natural_hours",
            "auto_accept": "1", "is_resident_visible": "1", "is_active": "1"}
    saved = await client.post("/console/admin/categories/9902", data=data)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=1")

    after = (await client.get("/api/v1/categories/9902", headers=headers)).json()
    assert after["limit_value"] == 3 and after["limit_unit"] == "work_days"
    assert after["auto_accept"] is True
    assert after["name"] == "社会生活噪声"  # not written back: this form did not change it
    listed = await client.get("/console/admin/categories")
    assert "3 工作日" in listed.text


async def test_a_bad_time_limit_is_refused_in_chinese_and_nothing_changes(client, admin):
    headers, _ = admin
    form = await client.get("/console/admin/categories/9902")
    data = {"csrf_token": csrf_of(form.text), **shown_fields(form.text),
            "name": "噪音扰民", "limit_value": "零", "limit_unit": "work_hours",
            "urgent_limit_value": "2", "urgent_limit_unit": "natural_hours", "sort": "0",
            "is_resident_visible": "1", "is_active": "1"}
    bad = await client.post("/console/admin/categories/9902", data=data)
    assert bad.status_code == 422 and "处置时限填写有误" in bad.text
    assert (await client.get("/api/v1/categories/9902", headers=headers)).json()["limit_value"] == 4

    no_token = await client.post("/console/admin/categories/9902",
                                 data={**data, "limit_value": "9", "csrf_token": "forged"})
    assert no_token.status_code == 403
    assert (await client.get("/api/v1/categories/9902", headers=headers)).json()["limit_value"] == 4


async def test_an_admin_adds_a_category_and_a_taken_code_is_a_conflict(client, admin):
    headers, token = admin
    added = await client.post("/console/admin/categories", data={
        "csrf_token": token, "parent_code": "99", "code": "9905", "name": "占道经营",
        "kind": "event", "limit_value": "2", "limit_unit": "work_days"})  # the form's default
    assert added.status_code == 303
    added = (await client.get("/api/v1/categories/9905", headers=headers)).json()
    assert added["name"] == "占道经营" and added["kind"] == "component"  # its 大类's kind
    assert added["limit_value"] == 2 and added["limit_unit"] == "work_days"
    again = await client.post("/console/admin/categories", data={
        "csrf_token": token, "parent_code": "99", "code": "9905", "name": "重复"})
    assert again.status_code == 409 and "分类编码已存在" in again.text


async def test_an_admin_creates_a_unit_adds_a_handler_and_disables_them(client, admin):
    headers, token = admin
    created = await client.post("/console/admin/units", data={
        "csrf_token": token, "name": "园林绿化所", "kind": "department", "area_code": "990100001"})
    assert created.status_code == 303
    unit_id = int(re.search(r"/admin/units/(\d+)", created.headers["location"])[1])
    page = await client.get(f"/console/admin/units/{unit_id}")
    assert "园林绿化所" in page.text and "本单位还没有处置人员" in page.text

    added = await client.post(f"/console/admin/units/{unit_id}/handlers", data={
        "csrf_token": token, "username": "gardener", "password": "long-enough-pass",
        "display_name": "林处置", "work_phone": "0537-1234567"})
    assert added.status_code == 303
    detail = (await client.get(f"/api/v1/units/{unit_id}", headers=headers)).json()
    assert [m["display_name"] for m in detail["members"]] == ["林处置"]

    member = detail["members"][0]["id"]
    removed = await client.post(f"/console/admin/users/{member}/active", data={
        "csrf_token": token, "is_active": "0", "back": f"/admin/units/{unit_id}"})
    assert removed.status_code == 303
    assert removed.headers["location"] == f"/console/admin/units/{unit_id}?saved=deactivated"
    assert (await client.get(f"/api/v1/units/{unit_id}", headers=headers)).json()["members"] == []

    form = await client.get(f"/console/admin/units/{unit_id}")
    renamed = await client.post(f"/console/admin/units/{unit_id}", data={
        "csrf_token": token, **shown_fields(form.text), "name": "园林绿化服务所"})
    assert renamed.status_code == 303  # the box left unticked retires the unit too
    unit = (await client.get(f"/api/v1/units/{unit_id}", headers=headers)).json()
    assert unit["name"] == "园林绿化服务所" and unit["is_active"] is False


async def test_a_unit_form_with_mistakes_says_so_in_chinese(client, admin):
    _, token = admin
    no_name = await client.post("/console/admin/units", data={
        "csrf_token": token, "name": "", "kind": "department", "area_code": "990100"})
    assert no_name.status_code == 422 and "名称填写有误" in no_name.text
    team = await client.post("/console/admin/units", data={
        "csrf_token": token, "name": "某网格工作站", "kind": "grid_team", "area_code": "990100"})
    assert team.status_code == 422 and "网格队必须属于某个社区或网格" in team.text
    weak = await client.post("/console/admin/users", data={
        "csrf_token": token, "username": "x", "password": "short", "display_name": "",
        "role": "dispatcher", "area_code": "990100"})
    assert weak.status_code == 422
    assert "用户名填写有误" in weak.text and "初始密码填写有误" in weak.text
    assert await Unit.filter(name="某网格工作站").count() == 0


async def test_another_districts_admin_neither_sees_nor_edits_this_districts_things(client, city):
    token = await neighbour_admin(client)
    unit_id = city.department.id
    rule = await RoutingRule.first()
    users = await client.get("/console/admin/users")
    assert users.status_code == 200 and "李派遣" not in users.text
    assert "市政设施维护中心" not in (await client.get("/console/admin/units")).text
    assert (await client.get(f"/console/admin/units/{unit_id}")).status_code == 404
    dispatcher = await User.get(display_name="李派遣")
    assert (await client.get(f"/console/admin/users/{dispatcher.id}")).status_code == 404
    off = await client.post(f"/console/admin/users/{dispatcher.id}/active",
                            data={"csrf_token": token, "is_active": "0"})
    assert off.status_code == 404 and "找不到该用户" in off.text
    assert (await User.get(id=dispatcher.id)).is_active
    renamed = await client.post(f"/console/admin/units/{unit_id}",
                                data={"csrf_token": token, "name": "改名", "is_active": "1"})
    assert renamed.status_code == 404
    # The rule on the whole other district is neither readable nor editable.
    assert (await client.get(f"/console/admin/rules/{rule.id}")).status_code == 404
    outside = await client.post("/console/admin/rules", data={
        "csrf_token": token, "category_code": "9902", "area_code": "990100001",
        "unit_id": str(unit_id), "priority": "0"})
    assert outside.status_code == 403 and "只能为本辖区设置派单规则" in outside.text
    staff = await client.post("/console/admin/users", data={
        "csrf_token": token, "username": "intruder", "password": "long-enough-pass",
        "display_name": "某人", "role": "dispatcher", "area_code": "990100"})
    assert staff.status_code == 422 and "不在管辖范围内" in staff.text
    assert not await User.filter(username="intruder").exists()


async def test_an_admin_adds_a_rule_sees_where_it_wins_and_retires_it(client, admin):
    headers, token = admin
    team = await client.post("/console/admin/rules", data={
        "csrf_token": token, "category_code": "9902", "area_code": "990100001",
        "unit_id": str((await Unit.get(name="环卫服务中心")).id), "priority": "5",
        "note": "东门街道的噪音"})
    assert team.status_code == 303
    rule_id = int(re.search(r"/admin/rules/(\d+)", team.headers["location"])[1])
    listed = (await client.get("/api/v1/routing/rules", headers=headers)).json()["items"]
    assert any(r["id"] == rule_id and r["priority"] == 5 for r in listed)

    page = await client.get(f"/console/admin/rules/{rule_id}")
    assert page.status_code == 200 and "东门街道的噪音" in page.text and 'id="rule-map"' in page.text
    cells = (await client.get(f"/console/admin/rules/{rule_id}/cells.geojson?category=9902")).json()
    wins = {f["properties"]["code"] for f in cells["features"]
            if f["properties"]["state"] == "wins"}
    assert wins and all(code.startswith("990100001") for code in wins)
    assert len(cells["features"]) == 8  # every cell of the district, the rule's or not
    preview = await client.get("/console/admin/rules/preview", headers={"HX-Request": "true"},
                               params={"category": "9902", **IN_CELL})
    assert preview.status_code == 200 and "环卫服务中心" in preview.text
    assert f"#{rule_id}" in preview.text

    edited = await client.post(f"/console/admin/rules/{rule_id}", data={
        "csrf_token": token, **shown_fields(page.text), "unit_id": hidden(page.text, "was_unit_id"),
        "priority": "7", "note": "东门街道的噪音"})
    assert edited.status_code == 303
    retired = await client.post(f"/console/admin/rules/{rule_id}/active",
                                data={"csrf_token": token, "is_active": "0"})
    assert retired.status_code == 303
    rule = (await client.get("/api/v1/routing/rules?include_inactive=true", headers=headers)
            ).json()["items"]
    mine = next(r for r in rule if r["id"] == rule_id)
    assert mine["priority"] == 7 and mine["is_active"] is False
    history = (await client.get(f"/api/v1/routing/rules/{rule_id}/history", headers=headers)
               ).json()["items"]
    assert [h["action"] for h in history] == ["created", "updated", "deactivated"]


async def test_a_rule_twin_and_a_bad_priority_are_refused_on_the_page(client, admin, city):
    _, token = admin
    twin = await client.post("/console/admin/rules", data={
        "csrf_token": token, "category_code": "9901", "area_code": "990100",
        "unit_id": str(city.other_department.id), "priority": "0"})
    assert twin.status_code == 409 and "已有相同分类、区域和优先级的规则" in twin.text
    bad = await client.post("/console/admin/rules", data={
        "csrf_token": token, "category_code": "9901", "area_code": "990100",
        "unit_id": str(city.other_department.id), "priority": "很高"})
    assert bad.status_code == 422 and "优先级填写有误" in bad.text
    nowhere = await client.get("/console/admin/rules/preview", params={"category": "9902"})
    assert nowhere.status_code == 422 and "请先在地图上点选位置" in nowhere.text
    assert await RoutingRule.all().count() == 1


async def test_an_admin_creates_a_staff_account_edits_it_and_disables_it(client, admin):
    headers, token = admin
    created = await client.post("/console/admin/users", data={
        "csrf_token": token, "username": "zhou.dispatch", "password": "long-enough-pass",
        "display_name": "周派遣", "role": "dispatcher", "area_code": "990100002"})
    assert created.status_code == 303
    user_id = int(re.search(r"/admin/users/(\d+)", created.headers["location"])[1])
    api = (await client.get(f"/api/v1/users/{user_id}", headers=headers)).json()
    assert [(g["role"], g["area"]["code"]) for g in api["roles"]] == [("dispatcher", "990100002")]
    taken = await client.post("/console/admin/users", data={
        "csrf_token": token, "username": "zhou.dispatch", "password": "long-enough-pass",
        "display_name": "又一个", "role": "dispatcher", "area_code": "990100002"})
    assert taken.status_code == 409 and "用户名已存在" in taken.text

    page = await client.get(f"/console/admin/users/{user_id}")
    assert "派遣员" in page.text and "西门街道" in page.text
    saved = await client.post(f"/console/admin/users/{user_id}", data={
        "csrf_token": token, **shown_fields(page.text), "display_name": "周派遣",
        "surname": "周", "work_phone": "0537-7654321"})
    assert saved.status_code == 303
    assert (await client.get(f"/api/v1/users/{user_id}", headers=headers)
            ).json()["work_phone"] == "0537-7654321"
    off = await client.post(f"/console/admin/users/{user_id}/active",
                            data={"csrf_token": token, "is_active": "0"})
    assert off.status_code == 303
    assert (await client.get(f"/api/v1/users/{user_id}", headers=headers)).json()["is_active"] is False
    on = await client.post(f"/console/admin/users/{user_id}/active",
                           data={"csrf_token": token, "is_active": "1"})
    assert on.status_code == 303
    assert (await client.get(f"/api/v1/users/{user_id}", headers=headers)).json()["is_active"] is True
    me = await User.get(username="admin")
    myself = await client.post(f"/console/admin/users/{me.id}/active",
                               data={"csrf_token": token, "is_active": "0"})
    assert myself.status_code == 403 and (await User.get(id=me.id)).is_active


async def test_an_admin_adds_and_removes_a_calendar_override(client, admin):
    headers, token = admin
    added = await client.post("/console/admin/calendar", data={
        "csrf_token": token, "day": "2031-10-11", "is_workday": "1", "note": "国庆调休"})
    assert added.status_code == 303
    status = (await client.get("/api/v1/calendar/status", headers=headers)).json()
    assert {"day": "2031-10-11", "is_workday": True, "note": "国庆调休"} in status["overrides"]
    page = await client.get("/console/admin/calendar")
    assert "2031-10-11" in page.text and "调休上班" in page.text

    bad = await client.post("/console/admin/calendar", data={
        "csrf_token": token, "day": "2031-02-30", "is_workday": "0"})
    assert bad.status_code == 422 and "请填写正确的日期" in bad.text
    removed = await client.post("/console/admin/calendar/2031-10-11/delete",
                                data={"csrf_token": token})
    assert removed.status_code == 303
    status = (await client.get("/api/v1/calendar/status", headers=headers)).json()
    assert status["overrides"] == []
    gone = await client.post("/console/admin/calendar/2031-10-11/delete",
                             data={"csrf_token": token})
    assert gone.status_code == 404 and "该日期没有调整" in gone.text


async def test_an_admin_changes_a_dispatchers_grants_and_the_dispatchers_session_follows(
        client, admin):
    headers, _ = admin
    worker, api = await make_staff(Role.DISPATCHER, area_code="990100001", username="moved",
                                   name="孙派遣")
    client.cookies.clear()  # the fixture signed the admin in: the dispatcher first
    await sign_in(client, "moved")
    session = client.cookies.get("gz_console")
    client.cookies.clear()
    token = await sign_in(client, "admin")

    page = await client.get(f"/console/admin/users/{worker.id}")
    assert "保存授权" in page.text and "东门街道（990100001）" in page.text
    changed = await client.post(f"/console/admin/users/{worker.id}/grants", data={
        "csrf_token": token, "grant_count": "1", "g0_role": "dispatcher",
        "g0_area_code": "990100001", "g0_unit_id": "",  # not ticked: taken away
        "role": "dispatcher", "area_code": "990100002", "unit_id": ""})
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"].endswith("?saved=grants")
    me = (await client.get("/api/v1/me", headers=api)).json()
    assert [(g["role"], g["area"]["code"]) for g in me["roles"]] == [("dispatcher", "990100002")]
    history = await client.get(f"/console/admin/users/{worker.id}")
    assert "修改授权" in history.text and "钱管理" in history.text

    # The page showed one grant; another admin changed them since: nothing is undone.
    stale = await client.post(f"/console/admin/users/{worker.id}/grants", data={
        "csrf_token": token, "grant_count": "1", "g0_role": "dispatcher",
        "g0_area_code": "990100001", "g0_keep": "1"})
    assert stale.status_code == 409 and "已被其他管理员修改" in stale.text
    outside = await client.post(f"/console/admin/users/{worker.id}/grants", data={
        "csrf_token": token, "grant_count": "1", "g0_role": "dispatcher",
        "g0_area_code": "990100002", "g0_keep": "1", "role": "dispatcher",
        "area_code": "990200"})
    assert outside.status_code == 422
    me_page = await client.get(f"/console/admin/users/{(await User.get(username='admin')).id}")
    assert "不能修改自己账号的授权" in me_page.text and "保存授权" not in me_page.text
    forged = await client.post(f"/console/admin/users/{worker.id}/grants", data={
        "grant_count": "0", "role": "admin", "area_code": "990100"})
    assert forged.status_code == 403
    assert [g.area_id for g in await RoleGrant.filter(user_id=worker.id)] == [
        (await Area.get(code="990100002")).id]

    # Deactivated: the dispatcher's console session and API token stop at once.
    off = await client.post(f"/console/admin/users/{worker.id}/active",
                            data={"csrf_token": token, "is_active": "0"})
    assert off.status_code == 303
    assert (await client.get("/api/v1/me", headers=api)).status_code == 401
    client.cookies.clear()
    client.cookies.set("gz_console", session, path="/console")
    assert (await client.get("/console/")).status_code == 302
