"""A city-wide admin hands a client app its API key (shown once), lists and deactivates apps."""

from app.accounts.models import Role
from app.open311.models import Open311Client
from tests.factories import error_code, make_staff
from tests.open311.helpers import BASE, client_app, report_form

CLIENTS = "/api/v1/admin/open311/clients"


async def test_the_key_is_shown_once_and_only_its_hash_is_kept(client, city):
    app = await client_app(client, code="fms-liuhang")
    assert app.api_key.startswith("o311_") and len(app.api_key) > 40
    row = await Open311Client.get(code="fms-liuhang")
    assert app.api_key not in (row.key_hash, row.key_prefix)
    listed = await client.get(CLIENTS, headers=app.admin)
    assert listed.status_code == 200
    assert app.api_key not in listed.text
    [item] = listed.json()["items"]
    assert (item["code"], item["name"], item["is_active"]) == ("fms-liuhang", "随手拍 App", True)
    assert app.api_key.startswith(item["key_prefix"])
    filed = await client.post(f"{BASE}/requests.json", data=report_form(app.api_key))
    assert filed.status_code == 201


async def test_a_code_twice_is_409_and_a_bad_code_422(client, city):
    app = await client_app(client, code="fms-liuhang")
    again = await client.post(CLIENTS, headers=app.admin, json={"code": "fms-liuhang",
                                                                "name": "另一个"})
    assert again.status_code == 409 and error_code(again) == "open311_client_exists"
    bad = await client.post(CLIENTS, headers=app.admin, json={"code": "Has Spaces",
                                                              "name": "x"})
    assert bad.status_code == 422


async def test_only_a_city_wide_admin_manages_client_apps(client, city):
    _, district_admin = await make_staff(Role.ADMIN, area_code="990100", name="孙管理")
    for headers in (city.dispatcher, city.resident, district_admin):
        listed = await client.get(CLIENTS, headers=headers)
        assert listed.status_code == 403 and error_code(listed) == "city_admin_only"
        created = await client.post(CLIENTS, headers=headers, json={"code": "x1", "name": "x"})
        assert created.status_code == 403
    app = await client_app(client)
    refused = await client.post(f"{CLIENTS}/fms-test/deactivate", headers=district_admin,
                                json={})
    assert refused.status_code == 403
    missing = await client.post(f"{CLIENTS}/nope/deactivate", headers=app.admin, json={})
    assert missing.status_code == 404 and error_code(missing) == "open311_client_not_found"
    assert (await client.get(CLIENTS)).status_code == 401


async def test_deactivating_twice_keeps_the_first_time(client, city):
    app = await client_app(client)
    first = await client.post(f"{CLIENTS}/fms-test/deactivate", headers=app.admin,
                              json={"reason": "密钥泄露"})
    second = await client.post(f"{CLIENTS}/fms-test/deactivate", headers=app.admin, json={})
    assert first.status_code == second.status_code == 200
    assert first.json()["deactivated_at"] == second.json()["deactivated_at"] is not None
    assert second.json()["deactivated_reason"] == "密钥泄露"
    listed = (await client.get(CLIENTS, headers=app.admin)).json()["items"]
    assert [(c["is_active"], c["deactivated_reason"]) for c in listed] == [(False, "密钥泄露")]


async def test_the_api_document_has_the_key_api_and_leaves_the_open311_face_to_its_spec(client):
    paths = (await client.get("/docs/openapi.json")).json()["paths"]
    assert {"/api/v1/admin/open311/clients",
            "/api/v1/admin/open311/clients/{code}/deactivate"} <= set(paths)
    # Open311 answers (XML, error lists) follow the GeoReport spec, not our envelope.
    assert not [p for p in paths if p.startswith("/open311/")]
