"""The OpenAPI document agrees with the server, and input is parsed strictly (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app.accounts.models import Role
from app.routing.models import RoutingRule
from tests.factories import error_code, make_staff, resident
from tests.tickets.helpers import build_city, report


async def spec(client) -> dict[str, Any]:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


def check(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> None:
    """A small JSON-schema check (the subset pydantic emits): refs, types, required keys,
    properties, items, anyOf, enum — enough to catch a response that is not its component."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                check(value, option, doc, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches no anyOf option: {errors}")
    if "allOf" in schema:
        for part in schema["allOf"]:
            check(value, part, doc, where)
    if "enum" in schema:
        assert value in schema["enum"], (where, value, schema["enum"])
    if "const" in schema:
        assert value == schema["const"], (where, value)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
             "integer": int, "number": (int, float)}
    if (kind := schema.get("type")) is not None:
        assert isinstance(value, kinds[kind]), (where, kind, value)
        if kind in ("integer", "number"):
            assert not isinstance(value, bool), (where, value)
    if isinstance(value, dict):
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, (where, "missing", missing)
        properties = schema.get("properties", {})
        if properties and schema.get("additionalProperties") is None:
            extra = set(value) - set(properties)
            assert not extra, (where, "undocumented keys", extra)
        for key, item in value.items():
            if key in properties:
                check(item, properties[key], doc, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], doc, f"{where}[{i}]")


def documented(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, (method, path, status, sorted(responses))
    return responses[str(status)]["content"]["application/json"]["schema"]


async def test_component_names_are_unique_and_a_collision_is_refused(monkeypatch):
    from app.core import api
    from app.routing.schemas import RuleOut

    monkeypatch.setattr(api, "_component_owners", {})  # a registry of its own
    api._claim_component_names(RuleOut)  # names RuleOut, catalog's CategoryRef, UnitRef, …

    class UnitRef(BaseModel):  # another class of a name units' UnitRef already owns
        id: int

    with pytest.raises(TypeError, match="two schema classes are named UnitRef"):
        api._claim_component_names(UnitRef)


async def test_routing_rules_and_tickets_answer_with_their_own_schemas(client):
    city = await build_city(client)
    _, admin = await make_staff(Role.ADMIN, name="管理员")
    doc = await spec(client)
    schemas = doc["components"]["schemas"]
    # catalog's and tickets' category refs are two components with their own fields
    assert "path" in schemas["CategoryRef"]["properties"]
    assert "label" in schemas["TicketCategoryRef"]["properties"]
    assert "kind" in schemas["UnitRef"]["properties"]

    rules = await client.get("/api/v1/routing/rules", headers=admin)
    assert rules.status_code == 200 and rules.json()["items"]
    check(rules.json(), documented(doc, "/api/v1/routing/rules", "get", 200), doc)

    ticket = await report(client, city.resident)
    path = "/api/v1/tickets/{ticket_id}"
    mine = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)
    check(mine.json(), documented(doc, path, "get", 200), doc)
    me = await client.get("/api/v1/me", headers=city.resident)
    check(me.json(), documented(doc, "/api/v1/me", "get", 200), doc)
    units = await client.get("/api/v1/units", headers=admin)
    check(units.json(), documented(doc, "/api/v1/units", "get", 200), doc)
    for ops in ("/healthz", "/readyz"):
        answer = await client.get(ops)
        check(answer.json(), documented(doc, ops, "get", 200), doc)
    missing = await client.get("/api/v1/tickets/2147483647", headers=city.resident)
    check(missing.json(), documented(doc, path, "get", missing.status_code), doc)


async def test_statuses_the_server_returns_are_documented(client):
    _, admin = await make_staff(Role.ADMIN, name="管理员")
    doc = await spec(client)
    bad_day = await client.put("/api/v1/calendar/overrides/2025-02-30", headers=admin,
                               json={"is_workday": True, "note": "x"})
    assert bad_day.status_code == 404
    documented(doc, "/api/v1/calendar/overrides/{day}", "put", 404)
    documented(doc, "/api/v1/calendar/overrides/{day}", "put", 415)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "{" in path and path.startswith("/api/"):
                assert "404" in op["responses"], (method, path)
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                assert {"413", "415", "422"} <= set(op["responses"]), (method, path)


async def test_an_unknown_ticket_status_is_a_422(client):
    city = await build_city(client)
    bogus = await client.get("/api/v1/tickets?status=bogus", headers=city.dispatcher)
    assert bogus.status_code == 422 and error_code(bogus) == "invalid_query"
    known = await client.get("/api/v1/tickets?status=dispatched", headers=city.dispatcher)
    assert known.status_code == 200


async def test_a_blank_query_value_is_a_value_not_absent(client):
    headers = await resident(client)
    for query in ("limit=", "limit=%20", "limit=1.5"):
        response = await client.get(f"/api/v1/messages?{query}", headers=headers)
        assert response.status_code == 422, query
        assert error_code(response) == "invalid_query"
    assert (await client.get("/api/v1/messages?limit=5", headers=headers)).status_code == 200


@pytest.mark.parametrize("to", ["0.5", "1700000000", "-1", "1e9"])
async def test_a_number_is_not_a_time(client, to):
    city = await build_city(client)
    response = await client.get(f"/api/v1/stats/summary?to={to}", headers=city.dispatcher)
    assert response.status_code == 422 and error_code(response) == "invalid_query"


async def test_an_iso_time_still_is(client):
    city = await build_city(client)
    response = await client.get("/api/v1/stats/summary?to=2026-01-01T00:00:00Z",
                                headers=city.dispatcher)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("change", [{"is_active": 0}, {"is_active": "false"}, {"priority": False},
                                    {"priority": "5"}, {"priority": 1.0}])
async def test_bools_and_ints_in_a_body_are_strict(client, change):
    await build_city(client)
    _, admin = await make_staff(Role.ADMIN, name="管理员")
    rule = await RoutingRule.all().first()
    assert rule is not None
    response = await client.patch(f"/api/v1/routing/rules/{rule.id}", headers=admin, json=change)
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid"
    fine = await client.patch(f"/api/v1/routing/rules/{rule.id}", headers=admin,
                              json={"priority": 5, "is_active": True})
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_json_body_must_say_it_is_json(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/api/v1/auth/login", headers=headers,
                                 content=b'{"username": "a", "password": "correct-horse"}')
    assert response.status_code == 415 and error_code(response) == "unsupported_media_type"
    charset = await client.post("/api/v1/auth/login",
                                headers={"Content-Type": "application/json; charset=utf-8"},
                                content=b'{"username": "a", "password": "correct-horse"}')
    assert charset.status_code == 401


async def test_nul_characters_are_refused_in_bodies_and_queries(client):
    headers = await resident(client)
    body = await client.patch("/api/v1/me", headers=headers, json={"display_name": "张\u0000三"})
    assert body.status_code == 422 and error_code(body) == "nul_character"
    assert (await client.get("/api/v1/me", headers=headers)).json()["display_name"] != "张\u0000三"
    query = await client.get("/api/v1/messages?cursor=1%00", headers=headers)
    assert query.status_code == 422 and error_code(query) == "nul_character"


async def test_wechat_login_without_an_app_answers_locally(client):
    # No WECHAT_APPID in tests: nothing may be sent to api.weixin.qq.com.
    response = await client.post("/api/v1/auth/wechat", json={"code": "081abc"})
    assert response.status_code == 422 and error_code(response) == "wechat_not_configured"
