"""The OpenAPI document is complete enough for clients, fuzzers and the contract test."""

import re

# Writes that take no input by design ("me too" is just the verb).
BODYLESS = {
    "/api/v1/tickets/{ticket_id}/follow", "/api/v1/tickets/{ticket_id}/release-content",
    "/api/v1/messages/{message_id}/read", "/api/v1/messages/read-all",
    "/api/v1/admin/outbox/{outbox_id}/retry",
    "/api/v1/polls/{poll_id}/texts/{answer_id}/release", "/api/v1/polls/{poll_id}/publish",
    "/api/v1/devices/events/{event_id}/confirm",
    "/api/v1/review/tickets/{ticket_id}/release", "/api/v1/review/tickets/{ticket_id}/keep",
    "/api/v1/review/polls/{poll_id}/texts/{answer_id}/release",
    "/api/v1/review/polls/{poll_id}/texts/{answer_id}/keep",
}


async def spec(client):
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_every_api_route_is_documented(client, app):
    doc = await spec(client)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for route in app.router.routes:
        path = "/" + route.path
        if not path.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(\w+)(:[^>]+)?>", r"{\1}", path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


async def test_writes_declare_their_body_and_every_operation_its_errors(client):
    doc = await spec(client)
    schemas = doc["components"]["schemas"]
    assert "ErrorOut" in schemas
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in ops.items():
            if method in ("post", "patch", "put") and path not in BODYLESS:
                assert "requestBody" in op, (method, path)
                content = op["requestBody"]["content"]
                assert content, (method, path)
            errors = [code for code in op["responses"] if code.startswith("4")]
            assert errors, (method, path)
            for code in errors:
                ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, code)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)


async def test_secured_operations_say_so_and_public_ones_do_not(client):
    doc = await spec(client)
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    public = {("/api/v1/auth/wechat", "post"), ("/api/v1/auth/login", "post"),
              ("/api/v1/auth/refresh", "post"), ("/api/v1/auth/dev", "post"),
              ("/api/v1/media/qiniu/callback", "post"), ("/api/v1/media/files/{key}", "get"),
              # WeChat's message push: verified by WeChat's signature, not a token
              ("/api/v1/wechat/push", "get"), ("/api/v1/wechat/push", "post")}
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in ops.items():
            assert bool(op.get("security")) == ((path, method) not in public), (method, path)


async def test_query_parameters_are_declared(client):
    doc = await spec(client)
    params = {p["name"]: p for p in doc["paths"]["/api/v1/areas/locate"]["get"]["parameters"]}
    assert set(params) == {"lng", "lat", "crs"}
    assert params["crs"]["schema"]["enum"] == ["wgs84", "gcj02"]
    assert all(p["required"] for p in params.values())


async def test_operations_that_take_an_idempotency_key_document_its_422(client):
    """A malformed or reused key is 422 (invalid_idempotency_key, idempotency_key_reused)."""
    doc = await spec(client)
    keyed = [(method, path, op) for path, ops in doc["paths"].items()
             for method, op in ops.items()
             if any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))]
    assert keyed
    for method, path, op in keyed:
        assert "422" in op["responses"], (method, path)


async def test_every_success_declares_what_it_returns(client):
    """A client (the mini-program, the console's scripts, an integrator) reads fields from
    each answer: each 2xx answer but 204 names its content, and JSON ones their schema."""
    doc = await spec(client)
    missing = []
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in ops.items():
            for code, answer in op["responses"].items():
                if not code.startswith("2") or code == "204":
                    continue
                content = answer.get("content") or {}
                schema = (content.get("application/json") or {}).get("schema")
                if not content or ("application/json" in content and not _names_fields(schema)):
                    missing.append((method, path, code))
    assert missing == []


def _names_fields(schema) -> bool:
    """A $ref, or an object with properties, or an array of such: not a bare `{}`/object."""
    if not schema:
        return False
    if "$ref" in schema or schema.get("properties"):
        return True
    if schema.get("type") == "array":
        return _names_fields(schema.get("items"))
    return any(_names_fields(s) for s in schema.get("oneOf", []) + schema.get("anyOf", []))
