"""Every error comes in one envelope with a 4xx for bad input — never a 500."""

import pytest

from tests.factories import error_code, resident
from tests.live import live_server


async def test_malformed_json_is_a_400(client):
    response = await client.post("/api/v1/auth/login", content=b'{"username": ',
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_code(response) == "malformed_json"


@pytest.mark.parametrize("body", [[], "text", 5, None, {"username": 5, "password": []},
                                  {"username": "a"}, {"username": "a", "password": "b", "x": 1}])
async def test_wrong_shapes_and_types_are_a_422_naming_the_fields(client, body):
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 422
    assert error_code(response) in ("invalid", "body_required")


async def test_validation_details_list_the_fields_without_echoing_input(client):
    response = await client.post("/api/v1/auth/login", json={"username": "x", "password": 12345678})
    fields = response.json()["error"]["details"]["fields"]
    assert fields[0]["loc"] == ["password"]
    assert "12345678" not in response.text


async def test_unknown_routes_and_methods_use_the_envelope(client):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    # PUT: /me answers GET, PATCH and DELETE (注销), never PUT.
    wrong = await client.put("/api/v1/me", headers=await resident(client))
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"


async def test_huge_ids_and_negative_ids_are_404_not_500(client):
    headers = await resident(client)
    for path in ("/api/v1/users/99999999999999999999", "/api/v1/users/-1",
                 "/api/v1/media/2147483648", "/api/v1/areas/%00"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, path


def test_a_body_over_the_limit_is_413_from_the_real_server(migrated):
    import httpx

    from tests.support import DATABASE_URL

    with live_server({"APP_ENV": "test", "DATABASE_URL": DATABASE_URL,
                      "REQUEST_MAX_SIZE": "100000"}) as url:
        response = httpx.post(f"{url}/api/v1/auth/login", content=b"x" * 200_000,
                              headers={"Content-Type": "application/json"})
        health = httpx.get(f"{url}/readyz")
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"
    assert health.status_code == 200
