"""The chat's client for OpenAI-compatible model servers: failures in words, never their bodies.

A visitor chooses the model URL, so whatever a server answers could otherwise be read back
through the chat (an internal service's error page, a secret in a JSON body). Failures are
reported as the HTTP status and a short category; the body stays in the server's log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from hanlin.chat_teams.model_hosts import ModelHosts
from hanlin.llm.chat_model import BaseChatModel, ChatOptions, ModelError, StreamItem, ToolSpec
from hanlin.llm.messages import Message
from hanlin.llm.openai_http import OpenAICompatibleModel

NOT_A_COMPLETION = "its reply is not an OpenAI chat completion"


def status_category(status: int) -> str:
    """The standard reason phrase (``Forbidden``), or the status class for unknown codes."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "server error" if status >= 500 else "client error"


@dataclass
class Outcome:
    """What went wrong in one call, in words that are safe to show."""

    failure: str | None = None


class _ObservingTransport(httpx.AsyncBaseTransport):
    """Notes the status of failed replies and the kind of transport errors."""

    def __init__(self, outcome: Outcome) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._outcome = outcome

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self._outcome.failure = f"it could not be reached ({type(exc).__name__})"
            raise
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 400:
            status = response.status_code
            self._outcome.failure = f"HTTP {status} ({status_category(status)})"
        elif "json" not in content_type and "event-stream" not in content_type:
            self._outcome.failure = NOT_A_COMPLETION
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ObservedModel(OpenAICompatibleModel):
    """One call's client: its transport and error payloads report to ``outcome``."""

    def __init__(self, *args: Any, outcome: Outcome, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outcome = outcome

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "text/event-stream, application/json"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                headers=headers,
                transport=_ObservingTransport(self._outcome),
            )
        return self._client

    def _raise_for_error_payload(self, payload: dict[str, Any]) -> None:
        if payload.get("error"):
            self._outcome.failure = "it reported an error"
        super()._raise_for_error_payload(payload)


class GuardedServerModel(BaseChatModel):
    """An OpenAI-compatible server on an allowed host whose failures never quote its replies."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        hosts: ModelHosts,
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        hosts.check(base_url)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model
        self._api_key = api_key
        self._timeout = timeout

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        outcome = Outcome()
        client = _ObservedModel(
            self.base_url, self.model, api_key=self._api_key, timeout=self._timeout, outcome=outcome
        )
        try:
            async for item in client.stream(messages, tools=tools, options=options):
                yield item
        except ModelError as exc:
            raise ModelError(
                f"{self.name}: the model server at {self.base_url} failed: "
                f"{outcome.failure or NOT_A_COMPLETION}"
            ) from exc
        finally:
            await client.aclose()
