"""`endpoint`: one decorator that documents a route in OpenAPI and parses its input.

It declares summary, tag, request body, query parameters, the success response and every
error response (all in the one envelope), parses the JSON body and the query string with
pydantic (errors become 400/422 in the envelope, never 500), authenticates the caller when
the route needs it, and serialises a returned pydantic model.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from datetime import date
from enum import Enum
from functools import wraps
from typing import Any, Protocol, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from sanic import Request, Sanic
from sanic.exceptions import BadRequest as SanicBadRequest
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Component, Parameter, Response
from sanic_ext.extensions.openapi.types import Schema

from app.core.errors import (
    BadRequest,
    Invalid,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
    validation_details,
)
from app.core.ratelimit import counters
from app.core.security import decode_access_token
from app.settings import current

Handler = Callable[..., Awaitable[Any]]
# What Sanic routes: the wrapped handler answers with a response.
RouteHandler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


class UserLoader(Protocol):
    """The active user (grants loaded) with this id, or None: `create_app` gives it (accounts'
    `load_user`), so that core names no domain."""

    def __call__(self, *, user_id: int) -> Awaitable[Any]: ...


ERROR_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad parameters)",
    401: "Not logged in or token invalid",
    403: "Logged in but not allowed",
    404: "Not found (or not visible to this caller)",
    409: "Conflict with the current state",
    413: "Request or file too large",
    415: "Unsupported file type",
    422: "Input failed validation",
    429: "Too many requests (see Retry-After)",
    502: "An outside service (WeChat, Qiniu) failed",
    503: "A dependency is unavailable",
}


MAX_ID = 2**31 - 1
# Area and category codes are stored in 32 characters.
MAX_CODE = 32
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _throttle_writes(request: Request) -> None:
    """Per-IP and per-user write limits (Redis when configured, in-process otherwise)."""
    limit = current().rate_writes_per_minute
    hits = [(f"w:ip:{client_ip(request)}", limit * 5)]
    user = getattr(request.ctx, "user", None)
    if user is not None:
        hits.append((f"w:u:{user.id}", limit))
    await counters.hit_all(hits, window_s=60)  # both counters in one Redis round trip


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    """The one error envelope."""

    error: ErrorBody


class Input(BaseModel):
    """Base of request models: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Component name → the class that owns it. OpenAPI components are named by class name
# alone, so two classes of one name (say catalog's and tickets' `CategoryRef`) would silently
# share one schema and the document would disagree with the server: refuse that at import.
_component_owners: dict[str, str] = {}


def _named_types(annotation: Any, seen: set[type]) -> Iterator[type]:
    """Every model and enum a schema names as a component, reached from `annotation`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | Enum):
        if annotation in seen:
            return
        seen.add(annotation)
        yield annotation
        if issubclass(annotation, BaseModel):
            for field in annotation.model_fields.values():
                yield from _named_types(field.annotation, seen)
        return
    for arg in get_args(annotation):
        yield from _named_types(arg, seen)


def _claim_component_names(model: type[BaseModel]) -> None:
    for cls in _named_types(model, set()):
        owner = f"{cls.__module__}.{cls.__qualname__}"
        if _component_owners.setdefault(cls.__name__, owner) != owner:
            raise TypeError(f"two schema classes are named {cls.__name__}: "
                            f"{_component_owners[cls.__name__]} and {owner}; rename one "
                            "(OpenAPI components are named by class name)")


def _schema_ref(model: type[BaseModel]) -> Any:
    """Register the model as a named component (full JSON schema, `required` included)."""
    _claim_component_names(model)
    return Component(model)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any] | Parameter | str]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    params: list[dict[str, Any] | Parameter | str] = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        if "anyOf" in prop:  # Optional[X] → X (OpenAPI 3.0 has no null type)
            options = [p for p in prop.pop("anyOf") if p.get("type") != "null"]
            prop.update(options[0] if options else {"type": "string"})
        prop.pop("title", None)
        params.append(
            Parameter(name, Schema(**prop), location="query", required=name in required,
                      description=prop.get("description"))
        )
    return params


def _parse_json(request: Request) -> Any:
    try:
        return request.json
    except SanicBadRequest:
        raise BadRequest("请求内容不是有效的 JSON", code="malformed_json") from None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _refuse_nul(value: Any) -> None:
    """NUL characters end strings in C and in some drivers: never store one (422)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Invalid("内容不能包含空字符 (NUL)", code="nul_character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item)


def _parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    """The JSON body, validated strictly: `0` is not a bool, `false` not an int, `0.5` not a
    time. Bodies come only as JSON (the mini-program's wx.request sends application/json)."""
    if not request.body:
        raise Invalid("请求内容不能为空", code="body_required")
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("请求内容须为 JSON (Content-Type: application/json)",
                                   code="unsupported_media_type")
    data = _parse_json(request)
    if data is None:
        raise Invalid("请求内容不能为空", code="body_required")
    _refuse_nul(data)
    return model.model_validate_json(request.body, strict=True)


# A number given for a time: pydantic would read `to=0.5` as 1970-01-01, never what was meant.
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _time_fields(model: type[BaseModel]) -> frozenset[str]:
    def is_time(annotation: Any) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, date):  # datetime too
            return True
        return any(is_time(arg) for arg in get_args(annotation))

    return frozenset(name for name, field in model.model_fields.items()
                     if is_time(field.annotation))


def _parse_query(request: Request, model: type[BaseModel], time_fields: frozenset[str]
                 ) -> BaseModel:
    """Query parameters; a blank one (`limit=`) is a value, and refused if it is not valid."""
    args = request.get_args(keep_blank_values=True)
    raw = {k: v[0] if len(v) == 1 else v for k, v in args.items()}
    _refuse_nul(raw)
    for name in time_fields & raw.keys():
        if isinstance(raw[name], str) and _NUMBER.fullmatch(raw[name]):
            raise Invalid("查询参数有误", code="invalid_query", details={"fields": [
                {"loc": [name], "msg": "expected an ISO 8601 date or time, not a number",
                 "type": "datetime_from_number"}]})
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise Invalid("查询参数有误", code="invalid_query",
                      details=validation_details(exc)) from None


def _has_path_parameters(handler: Handler) -> bool:
    names = set(inspect.signature(handler).parameters) - {"request", "body", "query"}
    return bool(names)


def endpoint(
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    errors: Iterable[int] = (),
    description: str | None = None,
    throttle: bool = True,
) -> Callable[[Handler], RouteHandler]:
    """Document and wire a route. The handler receives `body=` / `query=` when declared."""
    error_codes = set(errors) | {400, 503}
    if auth:
        error_codes.add(401)
    if throttle and auth:
        error_codes.add(429)
    if body or query:
        error_codes.add(422)
    if body:
        error_codes |= {413, 415}  # REQUEST_MAX_SIZE; a body that is not JSON
    time_fields = _time_fields(query) if query is not None else frozenset()

    def decorate(handler: Handler) -> RouteHandler:
        codes = set(error_codes)
        if _has_path_parameters(handler):
            codes.add(404)  # a path id or code that cannot exist is simply not found

        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            for name, value in kwargs.items():
                # Path ids are 32-bit in the database: anything else cannot exist (and would
                # overflow SQLite's driver), so it is simply not found.
                if name.endswith("_id") and isinstance(value, int) and not 0 < value <= MAX_ID:
                    raise NotFound()
                # Likewise a path code longer than its column (the ORM refuses to query it).
                if name == "code" and isinstance(value, str) and len(value) > MAX_CODE:
                    raise NotFound()
            if auth:
                await authenticate(request)
            if throttle and request.method in WRITE_METHODS:
                await _throttle_writes(request)
            if body is not None:
                kwargs["body"] = _parse_body(request, body)
            if query is not None:
                kwargs["query"] = _parse_query(request, query, time_fields)
            result = await handler(request, *args, **kwargs)
            if isinstance(result, HTTPResponse):
                return result
            if isinstance(result, BaseModel):
                # Straight to JSON bytes in pydantic's serialiser: no dict to walk again.
                return HTTPResponse(result.model_dump_json(), status=status,
                                    content_type="application/json")
            return json(result, status=status)

        responses = []
        if response is not None:
            responses.append(Response({"application/json": _schema_ref(response)}, status=status,
                                      description="OK"))
        elif status == 204:
            responses.append(Response({}, status=204, description="No content"))
        for code in sorted(codes):
            responses.append(Response({"application/json": _schema_ref(ErrorOut)}, status=code,
                                      description=ERROR_DESCRIPTIONS.get(code, "Error")))
        decorated = openapi.definition(
            summary=summary,
            description=description,
            tag=tag,
            body={"application/json": _schema_ref(body)} if body is not None else None,
            parameter=_query_parameters(query) if query is not None else None,
            response=responses,
            secured={"token": []} if auth else None,
        )(wrapper)
        return decorated

    return decorate


def install_auth(app: Sanic, *, load_user: UserLoader) -> None:
    """Tell `authenticate` how to load a user: called once by `create_app`."""
    app.ctx.load_user = load_user


async def authenticate(request: Request) -> Any:
    """The caller's active user (with grants loaded) from the Bearer token, else 401."""
    if getattr(request.ctx, "user", None) is not None:
        return request.ctx.user
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized()
    claims = decode_access_token(token.strip())
    if claims is None:
        raise Unauthorized("登录已过期，请重新登录", code="invalid_token")
    user = await request.app.ctx.load_user(user_id=claims.user_id)
    if user is None:
        raise Unauthorized("账号不可用，请重新登录", code="invalid_token")
    request.ctx.user = user
    return user


def client_ip(request: Request) -> str:
    """The caller's address; behind a proxy Sanic's FORWARDED_SECRET / PROXIES_COUNT decide."""
    return request.remote_addr or request.ip or "unknown"
