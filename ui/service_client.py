"""The chat's way to ``hanlin api``: threads and runs through the LangGraph SDK client.

The chat page holds a *front-end key* and names, on every request, the person it acts for
(``X-Hanlin-User``), so the service keeps each person's threads, runs and memories apart and
the chat itself keeps no state: any number of chat replicas can share one service.

``ServiceThreads`` stands where the chat's own thread registry stood, and ``ServiceRunner``
where an in-process ``Runner`` stood (stream, resume, pending approvals, messages), so the
controller drives both the same way.
"""

from __future__ import annotations

import base64
import contextlib
import mimetypes
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from hanlin.chat_teams.assistants import assistant_name
from hanlin.chat_teams.config import TeamConfig
from hanlin.llm.messages import AudioPart, FilePart, ImagePart, Message, UserMessage
from hanlin.runtime import (
    ApprovalDecision,
    ErrorEvent,
    Event,
    InterruptEvent,
    event_adapter,
    state_messages,
)

ACT_AS_HEADER = "X-Hanlin-User"
MAX_INLINE_BYTES = 32 * 1024 * 1024


class ServiceError(RuntimeError):
    """The service refused or failed a request; the message says what it answered."""


@contextlib.contextmanager
def _service_errors() -> Iterator[None]:
    """The service's refusal or failure as a ``ServiceError`` naming its status and detail."""
    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise _explain(exc) from exc


def _explain(exc: httpx.HTTPStatusError) -> ServiceError:
    try:
        detail = exc.response.json().get("detail") or exc.response.text
    except (ValueError, AttributeError):
        detail = exc.response.text
    return ServiceError(f"the service answered {exc.response.status_code}: {str(detail)[:300]}")


class ServiceChat:
    """One client for the whole chat; ``url`` is a ``hanlin api``, ``api_key`` its front-end
    key. A key is required: without one the service would see every person as one user."""

    def __init__(self, url: str, api_key: str, *, timeout_s: float = 30.0) -> None:
        if not api_key:
            raise ServiceError(
                "the chat needs a front-end key of the service (hanlin api --frontend-key) "
                "to keep its people apart"
            )
        self.url = url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._client: LangGraphClient | None = None

    @property
    def client(self) -> LangGraphClient:
        if self._client is None:
            self._client = get_client(
                url=self.url,
                api_key=self._api_key,
                timeout=httpx.Timeout(self._timeout_s, read=None),
            )
        return self._client

    def headers(self, owner: str) -> dict[str, str]:
        """Who a request is for (the service refuses anyone else's threads to it)."""
        return {ACT_AS_HEADER: quote(owner, safe="")}

    def runner(self, config: TeamConfig, owner: str) -> ServiceRunner:
        return ServiceRunner(self, config, owner)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class ServiceThreads:
    """Thread ownership as the service keeps it: a thread is its owner's or it is not found."""

    def __init__(self, chat: ServiceChat) -> None:
        self.chat = chat

    async def issue(self, owner: str) -> str:
        with _service_errors():
            thread = await self.chat.client.threads.create(
                metadata={"source": "chat"}, headers=self.chat.headers(owner)
            )
        return str(thread["thread_id"])

    async def owns(self, owner: str, thread_id: str) -> bool:
        if not owner or not thread_id:
            return False
        try:
            await self.chat.client.threads.get(thread_id, headers=self.chat.headers(owner))
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code in (404, 422):
                return False
            raise _explain(exc) from exc
        return True

    async def use(self, owner: str, thread_id: str) -> None:
        """Marks the thread as the one a new page of ``owner`` opens (its latest update)."""
        with _service_errors():
            await self.chat.client.threads.update(
                thread_id, metadata={"source": "chat"}, headers=self.chat.headers(owner)
            )

    async def latest(self, owner: str) -> str | None:
        with _service_errors():
            found = await self.chat.client.threads.search(
                limit=1, sort_by="updated_at", sort_order="desc", headers=self.chat.headers(owner)
            )
        return str(found[0]["thread_id"]) if found else None

    async def aclose(self) -> None:
        await self.chat.aclose()


class ServiceRunner:
    """A ``Runner``'s chat-facing methods, over the service, for one owner and team."""

    def __init__(self, chat: ServiceChat, config: TeamConfig, owner: str) -> None:
        self.chat = chat
        self.config = config
        self.owner = owner
        self.assistant = assistant_name(config.kind)

    @property
    def _run_config(self) -> dict[str, Any]:
        return {"configurable": self.config.model_dump(mode="json")}

    async def _state(self, thread_id: str) -> Mapping[str, Any]:
        with _service_errors():
            return await self.chat.client.threads.get_state(
                thread_id, headers=self.chat.headers(self.owner)
            )

    async def pending(self, thread_id: str) -> list[InterruptEvent]:
        state = await self._state(thread_id)
        pending = []
        for item in state.get("interrupts") or []:
            value = item.get("value")
            value = value if isinstance(value, dict) else {"value": value}
            pending.append(
                InterruptEvent(
                    agent=value.get("agent"), interrupt_id=str(item.get("id")), request=value
                )
            )
        return pending

    async def messages(self, thread_id: str) -> list[Message]:
        state = await self._state(thread_id)
        values = state.get("values") or {}
        return state_messages(values) if isinstance(values, dict) else []  # type: ignore[arg-type]

    async def is_unfinished(self, thread_id: str) -> bool:
        """True when a run is still going (a page reloaded mid-run) or the thread stopped
        mid-run (its last run failed or was stopped)."""
        if await self._active_run(thread_id) is not None:
            return True
        state = await self._state(thread_id)
        return bool(state.get("next") or state.get("tasks"))

    async def _active_run(self, thread_id: str) -> str | None:
        with _service_errors():
            runs = await self.chat.client.runs.list(
                thread_id, limit=20, headers=self.chat.headers(self.owner)
            )
        going = [r for r in runs if r.get("status") in ("pending", "running")]
        return str(going[0]["run_id"]) if going else None

    def stream(
        self, thread_id: str, message: str | UserMessage, *, user_id: str | None = None
    ) -> AsyncIterator[Event]:
        user = UserMessage(content=message) if isinstance(message, str) else message
        return self._run(thread_id, input={"messages": [inline(user).model_dump(mode="json")]})

    def resume_stream(
        self,
        thread_id: str,
        decision: ApprovalDecision | None = None,
        *,
        user_id: str | None = None,
    ) -> AsyncIterator[Event]:
        if decision is None:  # continue from the last checkpoint
            return self._continue(thread_id)
        return self._run(thread_id, command={"resume": decision.model_dump(mode="json")})

    async def _continue(self, thread_id: str) -> AsyncIterator[Event]:
        if await self._active_run(thread_id) is not None:
            raise ServiceError(
                "a run is still going in this thread (started from another page?): "
                "wait for it to end, then reload"
            )
        async for event in self._run(thread_id):
            yield event

    async def _run(self, thread_id: str, **request: Any) -> AsyncIterator[Event]:
        with _service_errors():
            async for part in self.chat.client.runs.stream(
                thread_id,
                self.assistant,
                stream_mode="custom",
                config=self._run_config,
                multitask_strategy="reject",
                on_disconnect="cancel",  # the Stop button: the run stops, Resume continues it
                headers=self.chat.headers(self.owner),
                **request,
            ):
                if (event := _event(part.event, part.data)) is not None:
                    yield event


def _event(kind: str, data: Any) -> Event | None:
    """hanlin's event in a stream part (``custom``), a failed run's error, or None."""
    if kind == "custom":
        return event_adapter.validate_python(data)
    if kind == "error":
        return _run_error(data)
    return None


def _run_error(data: Any) -> ErrorEvent:
    if isinstance(data, dict):
        text = f"{data.get('error') or 'RunError'}: {data.get('message') or ''}".strip(": ")
    else:
        text = str(data)
    return ErrorEvent(message=text, category="run_failed")


def inline(message: UserMessage) -> UserMessage:
    """The message with its files' bytes in it: the worker may run on another machine, and
    the service refuses local paths."""
    if isinstance(message.content, str):
        return message
    parts: list[Any] = []
    for part in message.content:
        path = getattr(part, "path", None)
        if path is None:
            parts.append(part)
            continue
        data = Path(path).read_bytes()
        if len(data) > MAX_INLINE_BYTES:
            raise ServiceError(f"{Path(path).name} is over {MAX_INLINE_BYTES // 2**20} MB")
        encoded = base64.b64encode(data).decode("ascii")
        media_type = part.media_type or mimetypes.guess_type(path)[0]
        if isinstance(part, ImagePart):
            kind = media_type or "application/octet-stream"
            parts.append(ImagePart(url=f"data:{kind};base64,{encoded}", media_type=media_type))
        elif isinstance(part, AudioPart):
            parts.append(AudioPart(data_base64=encoded, media_type=media_type))
        elif isinstance(part, FilePart):
            name = part.name or Path(path).name
            parts.append(FilePart(data_base64=encoded, name=name, media_type=media_type))
        else:
            parts.append(part)
    return message.model_copy(update={"content": parts})
