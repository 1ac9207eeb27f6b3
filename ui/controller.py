"""The chat app's behaviour, apart from its widgets: send, approve, resume, restore, memory.

Every method works on one session's identifiers, so sessions cannot see each other's threads:
thread ids are issued by the server to an owner (the identity the server established, never an
id a client sent), and every method refuses a thread its caller does not own. Failures become
chat messages and never escape to the server, which keeps serving others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from hanlin.chat_teams.config import TeamConfig
from hanlin.memory.retrying import MemoryUnavailable
from hanlin.runtime import ApprovalDecision, Event
from hanlin.ui.chat_view import ChatMessage, ChatTranscript, history_from_messages
from hanlin.ui.memory_panel import MemoryPanel, forgetting_figure, load_panel
from hanlin.ui.services import UiServices
from hanlin.ui.uploads import user_message

log = logging.getLogger(__name__)


class SessionIds(BaseModel):
    """Who is chatting and in which thread; both come from the server (``ChatController.open``)."""

    thread_id: str
    user_id: str


class Opened(BaseModel):
    """The owner's thread, and a thread the client named that is not theirs (if it named one)."""

    ids: SessionIds
    refused: str | None = None

    @property
    def problem(self) -> str | None:
        return not_yours(self.refused) if self.refused else None


def not_yours(thread_id: str) -> str:
    return f"thread `{thread_id}` is not one of yours: nothing was done with it"


class Turn(BaseModel):
    """One update of the chat view while a run streams."""

    messages: list[ChatMessage]
    pending: dict[str, Any] | None = None  # the tool call waiting for approval
    status: str = ""


def _error_turn(history: list[ChatMessage], text: str) -> Turn:
    return Turn(messages=[*history, {"role": "assistant", "content": f"⚠️ {text}"}], status=text)


class ChatController:
    def __init__(self, services: UiServices) -> None:
        self.services = services

    async def new_thread(self, owner: str) -> SessionIds:
        return SessionIds(thread_id=await self.services.threads.issue(owner), user_id=owner)

    async def open(self, owner: str, *named: Any) -> Opened:
        """``owner``'s thread: the first of the ``named`` ids (session, then browser) they own,
        else their latest thread, else a new one. Ids a client sent only ever select among the
        owner's own threads."""
        threads = self.services.threads
        refused: str | None = None
        chosen: str | None = None
        for candidate in named:
            thread_id = candidate.get("thread_id") if isinstance(candidate, dict) else None
            if not isinstance(thread_id, str) or not thread_id:
                continue
            if await threads.owns(owner, thread_id):
                chosen = chosen or thread_id
            else:
                refused = refused or thread_id
        if chosen is None:
            latest = await threads.latest(owner)
            if latest is not None and await threads.owns(owner, latest):
                chosen = latest
        if chosen is None:
            return Opened(ids=await self.new_thread(owner), refused=refused)
        return Opened(ids=SessionIds(thread_id=chosen, user_id=owner), refused=refused)

    async def _owned(self, ids: SessionIds) -> bool:
        return await self.services.threads.owns(ids.user_id, ids.thread_id)

    async def send(
        self,
        session_id: str,
        ids: SessionIds,
        config: TeamConfig,
        text: str,
        files: list[str],
        history: list[ChatMessage],
    ) -> AsyncIterator[Turn]:
        if not text.strip() and not files:
            yield Turn(messages=history, status="Type a message or attach a file.")
            return
        if not await self._owned(ids):
            yield Turn(messages=history, status=not_yours(ids.thread_id))
            return
        transcript = ChatTranscript(history)
        transcript.add_user(text, files)
        yield Turn(messages=transcript.messages, status="running…")
        try:
            runner = await self.services.runner(session_id, config, ids.user_id)
            if await runner.pending(ids.thread_id):
                yield self._turn(transcript, "approve, edit or reject the pending tool call first")
                return
            await self.services.threads.use(ids.user_id, ids.thread_id)
            events = runner.stream(ids.thread_id, user_message(text, files), user_id=ids.user_id)
            async for turn in self._follow(transcript, events):
                yield turn
        except Exception as exc:  # shown in the chat; other sessions keep running
            log.exception("chat turn failed")
            yield _error_turn(transcript.messages, f"{type(exc).__name__}: {exc}")

    async def decide(
        self,
        session_id: str,
        ids: SessionIds,
        config: TeamConfig,
        action: str,
        arguments_json: str,
        reason: str,
        history: list[ChatMessage],
    ) -> AsyncIterator[Turn]:
        if not await self._owned(ids):
            yield Turn(messages=history, status=not_yours(ids.thread_id))
            return
        transcript = ChatTranscript(history)
        try:
            runner = await self.services.runner(session_id, config, ids.user_id)
            pending = await runner.pending(ids.thread_id)
            if not pending:
                yield self._turn(transcript, "no tool call is waiting for approval")
                return
            try:
                arguments = json.loads(arguments_json) if action == "edit" else None
                if action == "edit" and not isinstance(arguments, dict):
                    raise ValueError("edited arguments must be a JSON object")
            except ValueError as exc:
                yield await self._with_pending(
                    transcript, runner, ids, f"cannot edit the call: {exc}"
                )
                return
            decision = ApprovalDecision(
                action=action,
                arguments=arguments,  # type: ignore[arg-type]
                **({"reason": reason} if reason.strip() else {}),
            )
            verb = {"approve": "Approved", "edit": "Edited and approved", "reject": "Rejected"}[
                action
            ]
            transcript.settle_approvals(verb.lower())
            transcript.messages.append(
                {"role": "user", "content": f"{verb} {_call_name(pending[0].request)}"}
            )
            events = runner.resume_stream(ids.thread_id, decision, user_id=ids.user_id)
            async for turn in self._follow(transcript, events):
                yield turn
        except Exception as exc:
            log.exception("approval failed")
            yield _error_turn(transcript.messages, f"{type(exc).__name__}: {exc}")

    async def resume(
        self, session_id: str, ids: SessionIds, config: TeamConfig, history: list[ChatMessage]
    ) -> AsyncIterator[Turn]:
        """Continue a stopped or crashed run from its last checkpoint."""
        if not await self._owned(ids):
            yield Turn(messages=history, status=not_yours(ids.thread_id))
            return
        transcript = ChatTranscript(history)
        try:
            runner = await self.services.runner(session_id, config, ids.user_id)
            if await runner.pending(ids.thread_id):
                yield await self._with_pending(transcript, runner, ids, "waiting for your approval")
                return
            if not await runner.is_unfinished(ids.thread_id):
                yield self._turn(transcript, "nothing to resume: the last run finished")
                return
            async for turn in self._follow(
                transcript, runner.resume_stream(ids.thread_id, None, user_id=ids.user_id)
            ):
                yield turn
        except Exception as exc:
            log.exception("resume failed")
            yield _error_turn(transcript.messages, f"{type(exc).__name__}: {exc}")

    async def restore(self, session_id: str, ids: SessionIds, config: TeamConfig) -> Turn:
        """The stored thread as chat messages (after a reload or an app restart)."""
        if not await self._owned(ids):
            return Turn(messages=[], status=not_yours(ids.thread_id))
        try:
            runner = await self.services.runner(session_id, config, ids.user_id)
            transcript = ChatTranscript(history_from_messages(await runner.messages(ids.thread_id)))
            if await runner.pending(ids.thread_id):
                return await self._with_pending(
                    transcript, runner, ids, "waiting for your approval"
                )
            status = (
                "this thread stopped mid-run: press Resume to continue"
                if await runner.is_unfinished(ids.thread_id)
                else ""
            )
            return self._turn(transcript, status)
        except Exception as exc:
            log.exception("restoring a thread failed")
            return _error_turn([], f"could not load thread {ids.thread_id}: {exc}")

    async def memory(self, user_id: str) -> tuple[MemoryPanel | None, Any, str]:
        """``user_id``'s memories: the caller passes the identity the server established."""
        store = await self.services.memory_store()
        if store is None:
            reason = self.services.memory_problem or (
                "long-term memory needs Redis: start the app without --memory-only"
            )
            return None, None, reason
        try:
            panel = await load_panel(store, user_id)
            figure = forgetting_figure(panel.views, store.curve)
        except MemoryUnavailable as exc:
            return None, None, str(exc)
        return panel, figure, f"{len(panel.rows)} memories of {user_id}"

    # --- helpers -------------------------------------------------------------------------------

    async def _follow(
        self, transcript: ChatTranscript, events: AsyncIterator[Event]
    ) -> AsyncIterator[Turn]:
        async for event in events:
            transcript.apply(event)
            yield self._turn(transcript, "running…")
        if transcript.pending:
            yield self._turn(transcript, "waiting for your approval", keep_pending=True)
        else:
            yield self._turn(transcript, "done")

    async def _with_pending(
        self, transcript: ChatTranscript, runner: Any, ids: SessionIds, status: str
    ) -> Turn:
        pending = await runner.pending(ids.thread_id)
        transcript.pending = list(pending)
        return self._turn(transcript, status, keep_pending=True)

    @staticmethod
    def _turn(transcript: ChatTranscript, status: str, *, keep_pending: bool = False) -> Turn:
        request = transcript.pending[-1].request if keep_pending and transcript.pending else None
        return Turn(messages=transcript.messages, pending=request, status=status)


def _call_name(request: dict[str, Any]) -> str:
    call = request.get("call")
    return call.get("name", "the tool call") if isinstance(call, dict) else "the tool call"
