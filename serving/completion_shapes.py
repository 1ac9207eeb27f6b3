"""The OpenAI shapes of what ``hanlin serve`` answers: completion bodies, stream chunks and
errors, so the server module only decides *when* to send them."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from hanlin.llm.chat_model import (
    ChatResult,
    ModelError,
    ModelInputError,
)

logger = logging.getLogger(__name__)

FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter"}


def error_response(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error in the shape OpenAI clients parse into their exception types."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def model_failure(model_name: str, exc: BaseException) -> JSONResponse:
    """400 when the request cannot be served as sent (a prompt over the context window), 502
    when the backend reports a failure, 500 when something unexpected broke."""
    if isinstance(exc, ModelInputError):
        logger.info("model %s refused the request: %s", model_name, exc)
        return error_response(400, str(exc), param=exc.param, code=exc.code)
    if isinstance(exc, ModelError):
        logger.warning("model %s failed: %s", model_name, exc)
        return error_response(
            502, f"model {model_name!r} failed: {exc}", type_="model_error", code="model_error"
        )
    logger.exception("model %s raised", model_name)
    return error_response(
        500,
        f"model {model_name!r} raised {type(exc).__name__}: {exc}",
        type_="server_error",
        code="internal_error",
    )


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    errors = exc.errors(include_url=False)
    first = errors[0]
    param = ".".join(str(part) for part in first["loc"]) or None
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:3]
    )
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"invalid request: {details}{more}", param


# --- response shapes ----------------------------------------------------------------------


def usage_body(result: ChatResult) -> dict[str, int]:
    prompt, completion = result.usage.prompt_tokens, result.usage.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def finish_reason(result: ChatResult) -> str:
    if result.message.tool_calls:
        return "tool_calls"
    return result.finish_reason if result.finish_reason in FINISH_REASONS else "stop"


def wire_tool_calls(result: ChatResult) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for call in result.message.tool_calls
    ]


def completion_body(
    result: ChatResult, *, model: str, completion_id: str, created: int
) -> dict[str, Any]:
    """A ``chat.completion`` object for a finished turn."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.message.content,
        "refusal": None,
    }
    if result.message.tool_calls:
        message["tool_calls"] = wire_tool_calls(result)
        message["content"] = result.message.content or None
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(result),
            }
        ],
        "usage": usage_body(result),
    }


class ChunkWriter:
    """Formats ``chat.completion.chunk`` server-sent events for one streamed completion."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        chunk = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(chunk)}\n\n"

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        return self._event(
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )

    def usage(self, result: ChatResult) -> str:
        return self._event([], usage=usage_body(result))

    @staticmethod
    def error(message: str, type_: str) -> str:
        body = {"error": {"message": message, "type": type_, "param": None, "code": type_}}
        return f"data: {json.dumps(body)}\n\n"

    @staticmethod
    def done() -> str:
        return "data: [DONE]\n\n"


# --- request handling ---------------------------------------------------------------------

# nginx's status for a request whose client closed the connection; nobody receives it, but
# the access log then says what happened.
