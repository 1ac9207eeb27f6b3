"""What each chat-page event does, for the identity the server established.

Every handler first asks ``BrowserIdentity`` who is calling (login or signed cookie) and only
then lets the ids the page sent choose among that person's own threads. The handlers return
widget values in the order of ``ChatPage.turn_widgets`` (``ui.layout``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import gradio as gr
from pydantic import ValidationError

from hanlin.chat_teams.config import TeamConfig
from hanlin.ui.controller import ChatController, SessionIds, Turn
from hanlin.ui.identity import BrowserIdentity

NO_IDENTITY = "this browser has no identity cookie: reload the page (the chat needs cookies)"


def invalid_team(exc: ValidationError) -> str:
    """One status line naming every field of the team settings that is wrong, and why."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'team'}: {e['msg']}" for e in exc.errors()
    )
    return f"the team settings are invalid: {problems}"


def approval_text(pending: dict[str, Any] | None) -> tuple[str, str]:
    """The approval box's heading and editable JSON arguments for the call waiting, if any."""
    if pending is None:
        return "", ""
    call = pending.get("call") or {}
    heading = (
        f"**{pending.get('agent', 'assistant')}** wants to run **{call.get('name', '?')}**"
        if pending
        else ""
    )
    return heading, json.dumps(call.get("arguments", {}), ensure_ascii=False, indent=2)


def turn_view(turn: Turn, ids: SessionIds | None) -> tuple[Any, ...]:
    """A chat update as widget values: the conversation, the ids the page keeps (in its state
    and in the browser), the approval box, the status line and which thread this is."""
    heading, arguments = approval_text(turn.pending)
    dumped = ids.model_dump() if ids else None
    where = f"thread `{ids.thread_id}` · user `{ids.user_id}`" if ids else ""
    approval = gr.update(visible=turn.pending is not None)
    return (turn.messages, dumped, dumped, approval, heading, arguments, turn.status, where)


def no_memories(status: str) -> tuple[Any, ...]:
    """The Memory tab with nothing in it (no rows, plot, summaries or portrait), and why."""
    return [], None, "", "", status


def sandbox_session(request: gr.Request | None, ids: SessionIds) -> str:
    """Sandbox sessions are per page and per owner: a borrowed session hash reaches none."""
    page = (getattr(request, "session_hash", None) or "anonymous") if request else "anonymous"
    return f"{ids.user_id}|{page}"


def team_or_refusal(team: Any, history: list[Any]) -> tuple[TeamConfig | None, Turn | None]:
    """The team settings the page sent, or the turn that says what is wrong with them."""
    try:
        return TeamConfig.model_validate(team or {}), None
    except ValidationError as exc:
        return None, Turn(messages=history, status=invalid_team(exc))


def message_parts(box: dict[str, Any] | None) -> tuple[str, list[str]]:
    """The text and uploaded file paths of the message box's value."""
    box = box or {}
    return str(box.get("text") or ""), [str(f) for f in box.get("files") or []]


class ChatHandlers:
    """The page's event handlers, sharing one controller and one identity issuer.

    Gradio names an endpoint without ``api_name`` after its function (``on_load``), names its
    parameters after the function's and shows its docstring as the endpoint's description on
    the API page, so all three are part of the app's API: notes meant only for maintainers of
    a handler are comments.
    """

    def __init__(self, controller: ChatController, identity: BrowserIdentity) -> None:
        self.controller = controller
        self.identity = identity

    async def session(
        self, state: Any, browser: Any, history: list[Any], request: gr.Request | None
    ) -> tuple[SessionIds | None, Turn | None]:
        """The caller's own thread, or the turn that says why nothing runs."""
        owner = self.identity.owner(request)
        if owner is None:
            return None, Turn(messages=history, status=NO_IDENTITY)
        opened = await self.controller.open(owner, state, browser)
        if opened.problem:
            return opened.ids, Turn(messages=history, status=opened.problem)
        return opened.ids, None

    async def ready(
        self, state: Any, browser: Any, history: list[Any], team: Any, request: gr.Request
    ) -> tuple[SessionIds | None, TeamConfig | None, Turn | None]:
        """The caller's thread and team settings; without settings, the turn that says why."""
        ids, refused = await self.session(state, browser, history, request)
        if refused is not None or ids is None:
            return ids, None, refused or Turn(messages=history)
        config, invalid = team_or_refusal(team, history)
        return ids, config, invalid

    async def on_send(
        self,
        box: dict[str, Any] | None,
        history: list[Any],
        state: Any,
        browser: Any,
        team: Any,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        # Runs the team on the message and empties the box; without a session the box keeps it.
        ids, refused = await self.session(state, browser, history, request)
        if refused is not None or ids is None:
            yield (*turn_view(refused or Turn(messages=history), ids), gr.update())
            return
        config, invalid = team_or_refusal(team, history)
        if config is None:
            yield (*turn_view(invalid or Turn(messages=history), ids), None)
            return
        text, files = message_parts(box)
        session_id = sandbox_session(request, ids)
        async for turn in self.controller.send(session_id, ids, config, text, files, history):
            yield (*turn_view(turn, ids), None)

    def decider(self, action: str) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
        """The handler of one approval button: ``approve``, ``edit`` or ``reject``."""

        async def on_decide(
            arguments: str,
            reason: str,
            history: list[Any],
            state: Any,
            browser: Any,
            team: Any,
            request: gr.Request,
        ) -> AsyncIterator[tuple[Any, ...]]:
            ids, config, refused = await self.ready(state, browser, history, team, request)
            if config is None or ids is None:
                yield turn_view(refused or Turn(messages=history), ids)
                return
            turns = self.controller.decide(
                sandbox_session(request, ids),
                ids,
                config,
                action,
                arguments or "{}",
                reason or "",
                history,
            )
            async for turn in turns:
                yield turn_view(turn, ids)

        return on_decide

    async def on_resume(
        self, history: list[Any], state: Any, browser: Any, team: Any, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        # Continues a stopped or crashed run of the caller's thread.
        ids, config, refused = await self.ready(state, browser, history, team, request)
        if config is None or ids is None:
            yield turn_view(refused or Turn(messages=history), ids)
            return
        turns = self.controller.resume(sandbox_session(request, ids), ids, config, history)
        async for turn in turns:
            yield turn_view(turn, ids)

    async def on_load(
        self, state: Any, browser: Any, team: Any, request: gr.Request
    ) -> tuple[Any, ...]:
        """The page's thread if it is the caller's, else their latest (or a new) one."""
        owner = self.identity.owner(request)
        if owner is None:
            return turn_view(Turn(messages=[], status=NO_IDENTITY), None)
        opened = await self.controller.open(owner, state, browser)
        config, invalid = team_or_refusal(team, [])
        if config is None:
            return turn_view(invalid or Turn(messages=[]), opened.ids)
        turn = await self.controller.restore(
            sandbox_session(request, opened.ids), opened.ids, config
        )
        turn.status = " · ".join(part for part in (opened.problem, turn.status) if part)
        return turn_view(turn, opened.ids)

    async def on_new_thread(self, request: gr.Request) -> tuple[Any, ...]:
        # A fresh thread for the caller; the old ones stay theirs.
        owner = self.identity.owner(request)
        if owner is None:
            return turn_view(Turn(messages=[], status=NO_IDENTITY), None)
        ids = await self.controller.new_thread(owner)
        return turn_view(Turn(messages=[], status="new thread"), ids)

    async def on_memory(self, state: Any, browser: Any, request: gr.Request) -> tuple[Any, ...]:
        # The caller's memories for the Memory tab; a failure to read them stays in the tab.
        ids, refused = await self.session(state, browser, [], request)
        if refused is not None or ids is None:
            return no_memories(refused.status if refused else NO_IDENTITY)
        try:
            panel, figure, status = await self.controller.memory(ids.user_id)
        except Exception as exc:  # noqa: BLE001 - the panel reports it; the chat keeps working
            return no_memories(f"⚠️ could not read memories: {type(exc).__name__}: {exc}")
        if panel is None:
            return no_memories(status)
        return panel.rows, figure, panel.summaries, panel.portrait, status
