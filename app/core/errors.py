"""One error shape for the whole API: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json
from tortoise.exceptions import DBConnectionError, OperationalError

from app.core.mysql_engine import DBTimeout

log = logging.getLogger("gongzhi.errors")


class AppError(SanicException):
    """Base of every error we raise on purpose; the class fixes status and default code/message."""

    status_code = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        super().__init__(self.message, status_code=self.status_code, headers=headers)


class Invalid(AppError):
    status_code = 422
    code = "invalid"
    message = "提交的内容不符合要求"


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"
    message = "请求格式有误"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "没有权限执行此操作"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "找不到该内容"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "内容已被修改，请刷新后重试"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "文件或请求过大"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "不支持的文件类型"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    message = "操作太频繁，请稍后再试"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后再试"


class UpstreamError(AppError):
    status_code = 502
    code = "upstream_error"
    message = "外部服务暂时不可用，请稍后再试"


# MySQL/MariaDB errors worth a retry: can't connect (2003), gone away (2006), lost (2013),
# lock wait timeout (1205), deadlock (1213).
RETRYABLE_MYSQL_ERRORS = frozenset({2003, 2006, 2013, 1205, 1213})


def _mysql_errno(exc: Exception) -> int | None:
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, Exception) and inner.args and isinstance(inner.args[0], int):
        return inner.args[0]
    return None


# Sanic's own exceptions (routing, body parsing, size limits) mapped to our codes and wording.
_SANIC_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "找不到该内容"),
    405: ("method_not_allowed", "不支持该请求方法"),
    408: ("request_timeout", "请求超时"),
    413: ("payload_too_large", "文件或请求过大"),
    415: ("unsupported_media_type", "不支持的文件类型"),
    416: ("range_not_satisfiable", "请求的范围无效"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}


def envelope(
    status: int, code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    return json(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
        headers=headers,
    )


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Pydantic errors as `{"fields": [{"loc", "msg", "type"}]}`, without echoing the input back."""
    return {
        "fields": [
            {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
    }


def register_error_handlers(app: Sanic) -> None:
    """Route every exception through `envelope`; unexpected ones are logged and hidden."""

    @app.exception(AppError)
    async def _app_error(request: Request, exc: AppError) -> HTTPResponse:
        return envelope(exc.status_code, exc.code, exc.message, exc.details, exc.headers or None)

    @app.exception(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> HTTPResponse:
        return envelope(422, "invalid", "提交的内容不符合要求", validation_details(exc))

    @app.exception(DBConnectionError, DBTimeout)
    async def _database_down(request: Request, exc: Exception) -> HTTPResponse:
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        return envelope(503, "service_unavailable", "服务暂时不可用，请稍后再试",
                        headers={"Retry-After": "5"})

    @app.exception(OperationalError)
    async def _database_trouble(request: Request, exc: OperationalError) -> HTTPResponse:
        # Connection lost or refused, lock wait timeout, deadlock: try again shortly (503).
        # Anything else is a bug and stays a 500.
        if _mysql_errno(exc) in RETRYABLE_MYSQL_ERRORS:
            log.error("database trouble on %s %s: %s", request.method, request.path, exc)
            return envelope(503, "service_unavailable", "服务暂时不可用，请稍后再试",
                            headers={"Retry-After": "2"})
        log.exception("database error on %s %s", request.method, request.path)
        return envelope(500, "server_error", "服务器开小差了，请稍后再试")

    @app.exception(SanicException)
    async def _sanic(request: Request, exc: SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        if status >= 500:
            log.error("server error on %s %s: %s", request.method, request.path, exc)
            return envelope(status, "server_error", "服务器开小差了，请稍后再试")
        code, message = _SANIC_CODES.get(status, ("bad_request", "请求有误"))
        return envelope(status, code, message, headers=dict(exc.headers or {}) or None)

    @app.exception(Exception)
    async def _unexpected(request: Request, exc: Exception) -> HTTPResponse:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return envelope(500, "server_error", "服务器开小差了，请稍后再试")
