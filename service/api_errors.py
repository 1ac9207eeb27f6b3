"""Every error the API returns has one JSON shape: ``{"detail": ..., "code": ...}`` (plus
``errors`` for a 422), which the LangGraph SDK turns into its typed exceptions."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hanlin.service.app_registry import AssistantConfigError

log = logging.getLogger("hanlin.service.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    500: "internal_error",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _CODES.get(status, "error")
        self.errors = errors


def error_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "code": code or _CODES.get(status, "error")}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} {ident!r} not found", code=f"{what}_not_found")


def validation_error(exc: ValidationError, *, where: str = "body") -> ApiError:
    errors = [
        {"loc": [where, *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    first = errors[0]
    detail = f"{'.'.join(first['loc'])}: {first['msg']}"
    return ApiError(422, detail, errors=errors)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.detail, code=exc.code, errors=exc.errors)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, detail, headers=headers)


async def _config_error(_request: Request, exc: Exception) -> Response:
    """A thread whose stored configuration its assistant no longer accepts."""
    return error_response(422, str(exc), code="invalid_config")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error; see the server log")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    AssistantConfigError: _config_error,
    Exception: _unexpected,
}
