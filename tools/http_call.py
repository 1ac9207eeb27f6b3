"""One HTTP call of a REST tool: request building, auth, retries, a capped read, clear errors.

Everything here is what the model must never influence or see: the secret is added after
the arguments are placed, and removed from any text that goes back (a server may echo it).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import httpx
from pydantic import BaseModel, Field, SecretStr, model_validator

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
# Failures where the request surely or harmlessly did not reach the application.
# (A connect timeout is retried too; a read timeout is not: the server may be working on it.)
_RETRY_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
_EXCERPT_CHARS = 300
_REDACTED = "[redacted]"


class RestCallError(ToolFailure, RuntimeError):
    """A REST call failed; the message names the operation and is safe to show the model."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RestTimeout(RestCallError):
    """The service did not answer in time."""

    kind = ToolErrorKind.TIMED_OUT


class RestAuth(BaseModel):
    """Credentials for a REST service, given as a value or as an environment variable name.

    ``name`` is the header (``api_key_header``, default ``X-API-Key``) or query parameter
    (``api_key_query``, default ``api_key``) that carries the key. The environment variable
    is read at call time, so it may be set after the plugin is built.
    """

    kind: Literal["bearer", "api_key_header", "api_key_query"] = "bearer"
    env: str | None = Field(default=None, description="Environment variable holding the secret.")
    value: SecretStr | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> RestAuth:
        if (self.env is None) == (self.value is None):
            raise ValueError("RestAuth needs exactly one of `env` (a variable name) or `value`")
        if self.kind == "bearer" and self.name is not None:
            raise ValueError(
                "RestAuth(kind='bearer') always uses the Authorization header; "
                "drop `name` or use kind='api_key_header'"
            )
        return self

    @property
    def location(self) -> Literal["header", "query"]:
        return "query" if self.kind == "api_key_query" else "header"

    @property
    def parameter(self) -> str:
        """The header or query parameter the secret travels in."""
        if self.kind == "bearer":
            return "Authorization"
        return self.name or ("X-API-Key" if self.kind == "api_key_header" else "api_key")

    def secret(self) -> str:
        if self.value is not None:
            return self.value.get_secret_value()
        found = os.environ.get(self.env or "")
        if not found:
            raise RestCallError(
                f"the credential is not configured: environment variable {self.env} is not set"
            )
        return found


class CallSettings(BaseModel):
    """How calls are made: per-attempt timeout, response cap, retry policy."""

    timeout: float = Field(default=30.0, gt=0)
    max_response_bytes: int = Field(default=200_000, gt=0)
    retries: int = Field(default=2, ge=0)
    retry_post: bool = Field(default=False, description="Retry POST and PATCH too.")
    backoff: float = Field(default=0.5, ge=0, description="First retry delay; doubles each time.")
    max_backoff: float = Field(default=10.0, ge=0)
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every call.")

    def attempts(self, method: str) -> int:
        retryable = method in IDEMPOTENT_METHODS or self.retry_post
        return 1 + self.retries if retryable else 1

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        wait = self.backoff * 2**attempt
        if retry_after:
            wait = max(wait, _retry_after_seconds(retry_after))
        return min(wait, self.max_backoff)

    def budget(self, method: str) -> float:
        """The longest a call can take: every attempt, every pause, and a margin."""
        attempts = self.attempts(method)
        return attempts * self.timeout + (attempts - 1) * self.max_backoff + 5.0


class ParamBinding(BaseModel):
    """Where one tool argument goes in the request. ``name=None`` in the body: the whole body."""

    argument: str
    location: Literal["path", "query", "header", "body"]
    name: str | None = None
    explode: bool = True
    delimiter: str = ","


class Endpoint(BaseModel):
    """What one tool calls: method, URL template and where each argument goes."""

    operation: str
    method: str
    base_url: str
    path: str
    bindings: list[ParamBinding] = Field(default_factory=list)
    body_media_type: str | None = None
    body_required: bool = False

    def shown(self) -> str:
        return f"{self.method} {self.path}"


# ---------------------------------------------------------------------------- request


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _path_segment(value: Any) -> str:
    """Escape a path value fully: ``/``, ``?``, ``#``, ``%``, and ``.``/``..`` segments."""
    if isinstance(value, list):
        text = ",".join(_text_value(v) for v in value)
    else:
        text = _text_value(value)
    escaped = quote(text, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


def _query_items(binding: ParamBinding, value: Any) -> list[tuple[str, str]]:
    name = binding.name or binding.argument
    if isinstance(value, list):
        if binding.explode:
            return [(name, _text_value(v)) for v in value]
        return [(name, binding.delimiter.join(_text_value(v) for v in value))]
    if isinstance(value, dict):
        if binding.explode:
            return [(k, _text_value(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_text_value(v)}" for k, v in value.items()))]
    return [(name, _text_value(value))]


def _check_path_filled(endpoint: Endpoint, path: str) -> None:
    missing = re.findall(r"\{([^}/]+)\}", path)
    if missing:
        raise RestCallError(
            f"{endpoint.operation} ({endpoint.shown()}): no value for the "
            f"path parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )


def _header_value(endpoint: Endpoint, binding: ParamBinding, value: Any) -> str:
    text = _text_value(value)
    if not text.isascii() or "\n" in text or "\r" in text:
        raise RestCallError(
            f"{endpoint.operation}: the header argument "
            f"{binding.argument!r} must be one line of ASCII text"
        )
    return text


def _add_credentials(auth: RestAuth, headers: dict[str, str], query: list[tuple[str, str]]) -> None:
    """Put the secret where the service expects it, after the arguments are placed."""
    secret = auth.secret()
    if auth.kind == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    elif auth.kind == "api_key_header":
        headers[auth.parameter] = secret
    else:
        query.append((auth.parameter, secret))


def build_request(
    endpoint: Endpoint, arguments: Mapping[str, Any], settings: CallSettings, auth: RestAuth | None
) -> httpx.Request:
    """The request for validated, JSON-ready arguments (absent ones are simply not sent)."""
    path = endpoint.path
    query: list[tuple[str, str]] = []
    headers = dict(settings.headers)
    body: Any = None
    has_body = False
    for binding in endpoint.bindings:
        if binding.argument not in arguments:
            continue
        value = arguments[binding.argument]
        if binding.location == "path":
            path = path.replace(
                "{" + (binding.name or binding.argument) + "}", _path_segment(value)
            )
        elif value is None and binding.location != "body":
            continue
        elif binding.location == "query":
            query += _query_items(binding, value)
        elif binding.location == "header":
            headers[binding.name or binding.argument] = _header_value(endpoint, binding, value)
        elif binding.name is None:
            body, has_body = value, True
        else:
            body = body if isinstance(body, dict) else {}
            body[binding.name] = value
            has_body = True
    _check_path_filled(endpoint, path)
    if endpoint.body_required and not has_body and endpoint.body_media_type:
        body, has_body = {}, True
    if auth is not None:
        _add_credentials(auth, headers, query)
    content: dict[str, Any] = {}
    if has_body and endpoint.body_media_type == "application/x-www-form-urlencoded":
        content["data"] = {k: _text_value(v) for k, v in (body or {}).items() if v is not None}
    elif has_body:
        content["content"] = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = endpoint.body_media_type or "application/json"
    url = endpoint.base_url.rstrip("/") + path
    return httpx.Request(endpoint.method, url, params=tuple(query), headers=headers, **content)


# ---------------------------------------------------------------------------- response


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; stop reading (and drop the connection) past it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _is_text(media_type: str) -> bool:
    return (
        not media_type
        or media_type.startswith("text/")
        or _is_json(media_type)
        or media_type.endswith("+xml")
        or media_type
        in (
            "application/xml",
            "application/javascript",
            "application/x-www-form-urlencoded",
            "application/yaml",
            "application/x-yaml",
            "application/problem+xml",
        )
    )


def _decode(response: httpx.Response, data: bytes) -> str:
    try:
        return data.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


class _Redactor:
    """Removes the secret, as sent and as a server may echo it URL-encoded, from text."""

    def __init__(self, secret: str | None) -> None:
        forms = {secret, quote(secret, safe=""), quote_plus(secret)} if secret else set()
        self.forms = sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, _REDACTED)
        return text


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "…"


_STATUS_HINTS = {
    400: "the server rejected the arguments",
    401: "the service needs valid credentials; they are configured with the plugin, "
    "not by arguments",
    403: "the configured credentials are not allowed to do this",
    404: "nothing exists at this address; check the identifiers in the arguments",
    422: "the server rejected the arguments",
    429: "the service is rate limiting calls; try again later",
}


def _result(
    response: httpx.Response, data: bytes, truncated: bool, limit: int, redact: _Redactor
) -> Any:
    media_type = _media_type(response)
    if not data:
        return f"HTTP {response.status_code} {response.reason_phrase} (no content)"
    if not _is_text(media_type):
        size = f"at least {len(data)}" if truncated else str(len(data))
        return f"(binary response: {media_type}, {size} bytes, not shown)"
    text = redact(_decode(response, data))
    if truncated:
        return text + f"\n…[response truncated at {limit} bytes]"
    if _is_json(media_type):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
            return text
    return text


def _failure(
    where: str, response: httpx.Response, data: bytes, attempts: int, redact: _Redactor
) -> RestCallError:
    status = response.status_code
    message = f"{where} returned HTTP {status}"
    if response.reason_phrase:
        message += f" {response.reason_phrase}"
    if attempts > 1:
        message += f" after {attempts} attempts"
    hint = _STATUS_HINTS.get(status, "the service failed" if status >= 500 else "")
    if 300 <= status < 400:
        hint = "redirects are not followed; the document's server URL may be outdated"
    if hint:
        message += f" ({hint})"
    body = _excerpt(redact(_decode(response, data))) if _is_text(_media_type(response)) else ""
    return RestCallError(message + (f": {body}" if body else "."), status=status)


def _retry_after_seconds(value: str) -> float:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


# ---------------------------------------------------------------------------- the call


async def call_endpoint(
    endpoint: Endpoint,
    arguments: Mapping[str, Any],
    settings: CallSettings,
    auth: RestAuth | None = None,
) -> Any:
    """Make the call, retrying what is safe to retry; returns parsed JSON or text.

    Raises ``RestCallError`` with a message fit for the model on any failure.
    """
    request = build_request(endpoint, arguments, settings, auth)
    where = f"{endpoint.operation} ({endpoint.method} {request.url.path})"
    redact = _Redactor(auth.secret() if auth is not None else None)
    attempts = settings.attempts(endpoint.method)
    limit = settings.max_response_bytes
    async with httpx.AsyncClient(timeout=settings.timeout, follow_redirects=False) as client:
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                async with asyncio.timeout(settings.timeout):
                    response = await client.send(request, stream=True)
                    try:
                        retry = response.status_code in _RETRY_STATUSES and not last
                        if retry:
                            pause = settings.delay(attempt, response.headers.get("retry-after"))
                        else:
                            data, truncated = await _read_capped(response, limit)
                    finally:
                        await response.aclose()
            except (TimeoutError, httpx.TimeoutException) as exc:
                if isinstance(exc, httpx.ConnectTimeout) and not last:
                    await asyncio.sleep(settings.delay(attempt))
                    continue
                raise RestTimeout(
                    f"{where} timed out: no complete response within {settings.timeout:g} s"
                ) from None
            except _RETRY_ERRORS as exc:
                if not last:
                    await asyncio.sleep(settings.delay(attempt))
                    continue
                port = f":{request.url.port}" if request.url.port else ""
                raise RestCallError(
                    f"{where} could not reach {request.url.host}{port} after {attempts} attempt"
                    f"{'s' if attempts > 1 else ''}: {type(exc).__name__}: "
                    f"{redact(str(exc)) or 'connection failed'}"
                ) from None
            except httpx.HTTPError as exc:
                raise RestCallError(
                    f"{where} failed: {type(exc).__name__}: {redact(str(exc))}"
                ) from None
            if retry:
                await asyncio.sleep(pause)
                continue
            if response.is_success:
                return _result(response, data, truncated, limit, redact)
            raise _failure(where, response, data, attempt + 1, redact)
    raise AssertionError("unreachable: the last attempt returns or raises")


__all__ = [
    "IDEMPOTENT_METHODS",
    "CallSettings",
    "Endpoint",
    "ParamBinding",
    "RestAuth",
    "RestCallError",
    "build_request",
    "call_endpoint",
]
