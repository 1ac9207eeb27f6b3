"""What every endpoint shares: the registry, the store, the runners that read state, and
small helpers that turn a request into a validated body, its user and its thread."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import JSONResponse

from hanlin.service.api_errors import ApiError, not_found, validation_error
from hanlin.service.app_registry import AppRunners, Assistant, ServiceApp
from hanlin.service.records import ThreadRecord
from hanlin.service.run_events import RunEvents
from hanlin.service.store import ServiceStore

Body = TypeVar("Body", bound=BaseModel)


@dataclass
class ApiContext:
    app: ServiceApp
    store: ServiceStore
    runners: AppRunners
    events: RunEvents


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def user_of(request: Request) -> str:
    user: str = request.scope["state"]["user"]
    return user


def reply(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        to_jsonable_python(data, fallback=repr), status_code=status, headers=headers
    )


async def parse_body(request: Request, model: type[Body]) -> Body:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def parse_query(request: Request, model: type[Body], **fields: Any) -> Body:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc, where="query") from exc


async def owned_thread(request: Request, thread_id: str) -> ThreadRecord:
    """The caller's thread; another user's thread is answered exactly like a missing one."""
    thread = await context(request).store.get_thread(user_of(request), thread_id)
    if thread is None:
        raise not_found("thread", thread_id)
    return thread


def find_assistant(request: Request, assistant_id: str) -> Assistant:
    assistant = context(request).app.find(assistant_id)
    if assistant is None:
        raise not_found("assistant", assistant_id)
    return assistant
