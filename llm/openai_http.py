"""A chat model behind any OpenAI-compatible HTTP server: vLLM, llama.cpp, Ollama, OpenAI.

The transport lives here (streaming, retries, errors that say what to check); the JSON
format lives in ``openai_wire``. Retries happen only before anything reached the caller,
so a retried request can never duplicate text the caller already saw.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    Completed,
    ModelError,
    StreamItem,
    TextDelta,
    ToolSpec,
)
from hanlin.llm.messages import Message
from hanlin.llm.openai_wire import CompletionAssembler, build_request

_RETRYABLE_STATUS = frozenset({429}) | frozenset(range(500, 600))
_ERROR_BODY_LIMIT = 1000


class _RetryableFailure(Exception):
    """A failed attempt that may succeed when tried again."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class OpenAICompatibleModel(BaseChatModel):
    """Streams chat completions from ``{base_url}/chat/completions``.

    ``base_url`` is the API root, e.g. ``http://localhost:8000/v1`` (vLLM),
    ``http://localhost:8080/v1`` (llama.cpp) or ``http://localhost:11434/v1`` (Ollama).
    ``timeout`` bounds each wait for bytes from the server; ``connect_timeout`` bounds
    connecting, so an unreachable server is reported quickly. ``text_tool_calls`` extracts
    tool calls that a model wrote into its text when the server returned none natively.
    """

    retry_after_cap: float = 30.0  # never wait longer than this for one Retry-After

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        name: str | None = None,
        text_tool_calls: bool = True,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.name = name or model
        self.text_tool_calls = text_tool_calls
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self) -> httpx.AsyncClient:
        """The client for the running event loop; a client cannot outlive or cross loops."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._client_loop is not loop:
            headers = {"Accept": "text/event-stream, application/json"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                headers=headers,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Closes the HTTP connection pool (only valid on the loop that created it)."""
        client, self._client, self._client_loop = self._client, None, None
        if client is not None and not client.is_closed:
            await client.aclose()

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        body = build_request(self.model, messages, tools=tools, options=options, stream=True)
        attempt = 0
        while True:
            attempt += 1
            assembler = CompletionAssembler()
            yielded = False
            try:
                async with aclosing(self._attempt(body, assembler)) as texts:
                    async for text in texts:
                        yielded = True
                        yield TextDelta(text=text)
            except _RetryableFailure as failure:
                if yielded or attempt > self.max_retries:
                    raise ModelError(
                        self._unreachable_message(failure.reason, attempt)
                    ) from failure
                await asyncio.sleep(self._retry_delay(attempt, failure.retry_after))
                continue
            yield Completed(result=assembler.result(tools, text_tool_calls=self.text_tool_calls))
            return

    async def _attempt(
        self, body: dict[str, Any], assembler: CompletionAssembler
    ) -> AsyncGenerator[str, None]:
        """One request; yields text as it arrives and fills ``assembler``."""
        try:
            async with self._http().stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    await self._raise_for_status(response)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    whole = _decode_json(await response.aread(), self.url)
                    self._raise_for_error_payload(whole)
                    text = assembler.add_response(whole)
                    if text:
                        yield text
                    return
                async for payload in _sse_payloads(response):
                    if payload == "[DONE]":
                        return
                    chunk = _decode_json(payload.encode(), self.url)
                    self._raise_for_error_payload(chunk)
                    text = assembler.add_chunk(chunk)
                    if text:
                        yield text
        except httpx.TimeoutException as exc:
            kind = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
            limit = self.connect_timeout if kind == "connecting" else self.timeout
            raise _RetryableFailure(
                f"timed out after {limit:g}s {kind} ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise _RetryableFailure(f"{type(exc).__name__}: {exc or 'connection failed'}") from exc

    async def _raise_for_status(self, response: httpx.Response) -> None:
        raw = (await response.aread()).decode("utf-8", errors="replace").strip()
        excerpt = raw if len(raw) <= _ERROR_BODY_LIMIT else raw[:_ERROR_BODY_LIMIT] + "..."
        status = response.status_code
        reason = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
        if status in _RETRYABLE_STATUS:
            raise _RetryableFailure(reason, _retry_after_seconds(response.headers))
        raise ModelError(self._rejected_message(status, reason))

    def _raise_for_error_payload(self, payload: dict[str, Any]) -> None:
        """vLLM and others report failures inside a 200 stream as ``{"error": ...}``."""
        error = payload.get("error")
        if error:
            detail = error.get("message", error) if isinstance(error, dict) else error
            raise ModelError(
                f"{self.name}: the server at {self.url} reported an error for model "
                f"{self.model!r}: {str(detail)[:_ERROR_BODY_LIMIT]}"
            )

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, or the server's Retry-After (capped)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        base = self.backoff * 2 ** (attempt - 1)
        return base + random.uniform(0, base / 2)

    def _unreachable_message(self, reason: str, attempts: int) -> str:
        return (
            f"{self.name}: POST {self.url} failed after {attempts} attempt(s): {reason}. "
            f"Check that an OpenAI-compatible server is running at {self.base_url}, that it "
            f"serves the model {self.model!r}, and that the API key is set if it needs one."
        )

    def _rejected_message(self, status: int, reason: str) -> str:
        if status in (401, 403):
            hint = "Check the API key (api_key=...) and that it may use this model."
        elif status == 404:
            hint = (
                f"Check the base URL (it usually ends in /v1) and that the server serves "
                f"the model {self.model!r}."
            )
        else:
            hint = (
                f"The server rejected the request; check that the model {self.model!r} "
                "supports the options, tools or content sent."
            )
        return f"{self.name}: POST {self.url} was rejected with {reason}. {hint}"


async def _sse_payloads(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if not line.strip():
            if data_lines:
                yield "\n".join(data_lines)
                data_lines = []
            continue
        if line.startswith("data:"):
            data_lines.append(line[5:].removeprefix(" "))
        # Comments (":"), "event:", "id:" and "retry:" lines carry nothing we need.
    if data_lines:
        yield "\n".join(data_lines)


def _decode_json(raw: bytes, url: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        shown = raw[:300].decode("utf-8", errors="replace")
        raise ModelError(
            f"the server at {url} sent data that is not JSON ({exc.msg}): {shown!r}. "
            "Check that the URL points at an OpenAI-compatible API."
        ) from exc
    except RecursionError:
        raise ModelError(f"the server at {url} sent JSON nested too deeply to read") from None
    if not isinstance(value, dict):
        raise ModelError(f"the server at {url} sent {type(value).__name__} instead of an object")
    return value


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()
