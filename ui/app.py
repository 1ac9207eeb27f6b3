"""The Gradio multi-agent chat: widgets wired to ``ChatController``.

Only this module imports Gradio (and only ``hanlin ui`` imports this module), so nothing else
in hanlin pays Gradio's import time. Each request acts for the identity the server established
(login or signed browser cookie); thread ids a page sends only choose among that identity's own
threads.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from pydantic import ValidationError

from hanlin.ui.controller import ChatController, SessionIds, Turn
from hanlin.ui.identity import BrowserIdentity
from hanlin.ui.memory_panel import TABLE_HEADERS
from hanlin.ui.services import UiServices
from hanlin.ui.team_config import TEAM_LABELS, TOOL_LABELS, TeamConfig
from hanlin.ui.uploads import ACCEPTED_UPLOADS

EMBEDDED, SERVER = "embedded", "server"
CSS = "#status {min-height: 1.5em} footer {display: none !important}"
NO_IDENTITY = "this browser has no identity cookie: reload the page (the chat needs cookies)"


def identity_of(demo: Any) -> BrowserIdentity:
    """The identity ``build_app`` gave ``demo``; ``launch_app`` serves its cookie."""
    identity = getattr(demo, "hanlin_identity", None)
    if not isinstance(identity, BrowserIdentity):
        raise TypeError("launch_app serves apps made by hanlin.ui.app.build_app")
    return identity


def config_from(kind: str, model: str, url: str, name: str, tools: list[str], approve: bool,
                memory: bool, debaters: float, rounds: float, assistant_role: str,
                user_role: str, max_turns: float, max_tokens: float = 256) -> TeamConfig:
    """The form's values as a ``TeamConfig``; raises ``ValidationError`` with what is wrong."""
    return TeamConfig.model_validate({
        "kind": kind, "model_url": (url.strip() or None) if model == SERVER else None,
        "model_name": name.strip() or "default", "tools": tools, "approve_tools": approve,
        "long_term_memory": memory, "debaters": int(debaters), "rounds": int(rounds),
        "assistant_role": assistant_role, "user_role": user_role, "max_turns": int(max_turns),
        "max_tokens": int(max_tokens),
    })


def form_values(config: TeamConfig) -> list[Any]:
    """The form widgets' values for ``config``, in the order ``config_from`` takes them."""
    return [config.kind, EMBEDDED if config.model_url is None else SERVER,
            str(config.model_url or ""), config.model_name, list(config.tools),
            config.approve_tools, config.long_term_memory, config.debaters, config.rounds,
            config.assistant_role, config.user_role, config.max_turns, config.max_tokens]


def _invalid(exc: ValidationError) -> str:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'team'}: {e['msg']}"
                         for e in exc.errors())
    return f"the team settings are invalid: {problems}"


def build_app(services: UiServices, *, title: str = "hanlin",
              browser_secret: str | None = None) -> Any:
    """``browser_secret`` (kept on the server) signs each browser's identity cookie; a stable
    secret lets a browser find its threads after the app restarts. None: a new one per start."""
    controller = ChatController(services)
    identity = BrowserIdentity(browser_secret or secrets.token_hex(32))

    def view(turn: Turn, ids: SessionIds | None) -> tuple[Any, ...]:
        call = (turn.pending or {}).get("call") or {}
        waiting = turn.pending is not None
        heading = (f"**{turn.pending.get('agent', 'assistant')}** wants to run "
                   f"**{call.get('name', '?')}**" if waiting and turn.pending else "")
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False, indent=2) if waiting else ""
        dumped = ids.model_dump() if ids else None
        where = f"thread `{ids.thread_id}` · user `{ids.user_id}`" if ids else ""
        return (turn.messages, dumped, dumped, gr.update(visible=waiting), heading, arguments,
                turn.status, where)

    async def session(state: Any, browser: Any, history: list[Any],
                      request: gr.Request | None) -> tuple[SessionIds | None, Turn | None]:
        """The caller's own thread, or the turn that says why nothing runs."""
        owner = identity.owner(request)
        if owner is None:
            return None, Turn(messages=history, status=NO_IDENTITY)
        opened = await controller.open(owner, state, browser)
        if opened.problem:
            return opened.ids, Turn(messages=history, status=opened.problem)
        return opened.ids, None

    def session_of(request: gr.Request | None, ids: SessionIds) -> str:
        """Sandbox sessions are per page and per owner: a borrowed session hash reaches none."""
        page = (getattr(request, "session_hash", None) or "anonymous") if request else "anonymous"
        return f"{ids.user_id}|{page}"

    async def stream(turns: AsyncIterator[Turn], ids: SessionIds) -> AsyncIterator[tuple[Any, ...]]:
        async for turn in turns:
            yield view(turn, ids)

    async def on_send(box: dict[str, Any] | None, history: list[Any], state: Any, browser: Any,
                      team: Any, request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        ids, refused = await session(state, browser, history, request)
        if refused is not None or ids is None:
            yield (*view(refused or Turn(messages=history), ids), gr.update())
            return
        box = box or {}
        text, files = str(box.get("text") or ""), [str(f) for f in box.get("files") or []]
        try:
            config = TeamConfig.model_validate(team or {})
        except ValidationError as exc:
            yield (*view(Turn(messages=history, status=_invalid(exc)), ids), None)
            return
        async for turn in controller.send(session_of(request, ids), ids, config, text, files,
                                          history):
            yield (*view(turn, ids), None)

    def decider(action: str) -> Any:
        async def on_decide(arguments: str, reason: str, history: list[Any], state: Any,
                            browser: Any, team: Any, request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
            ids, refused = await session(state, browser, history, request)
            if refused is not None or ids is None:
                yield view(refused or Turn(messages=history), ids)
                return
            try:
                config = TeamConfig.model_validate(team or {})
            except ValidationError as exc:
                yield view(Turn(messages=history, status=_invalid(exc)), ids)
                return
            turns = controller.decide(session_of(request, ids), ids, config, action,
                                      arguments or "{}", reason or "", history)
            async for item in stream(turns, ids):
                yield item
        return on_decide

    async def on_resume(history: list[Any], state: Any, browser: Any, team: Any,
                        request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        ids, refused = await session(state, browser, history, request)
        if refused is not None or ids is None:
            yield view(refused or Turn(messages=history), ids)
            return
        try:
            config = TeamConfig.model_validate(team or {})
        except ValidationError as exc:
            yield view(Turn(messages=history, status=_invalid(exc)), ids)
            return
        turns = controller.resume(session_of(request, ids), ids, config, history)
        async for item in stream(turns, ids):
            yield item

    async def on_load(state: Any, browser: Any, team: Any, request: gr.Request) -> tuple[Any, ...]:
        """The page's thread if it is the caller's, else their latest (or a new) one."""
        owner = identity.owner(request)
        if owner is None:
            return view(Turn(messages=[], status=NO_IDENTITY), None)
        opened = await controller.open(owner, state, browser)
        try:
            config = TeamConfig.model_validate(team or {})
        except ValidationError as exc:
            return view(Turn(messages=[], status=_invalid(exc)), opened.ids)
        turn = await controller.restore(session_of(request, opened.ids), opened.ids, config)
        turn.status = " · ".join(part for part in (opened.problem, turn.status) if part)
        return view(turn, opened.ids)

    async def on_new_thread(request: gr.Request) -> tuple[Any, ...]:
        owner = identity.owner(request)
        if owner is None:
            return view(Turn(messages=[], status=NO_IDENTITY), None)
        return view(Turn(messages=[], status="new thread"), await controller.new_thread(owner))

    async def on_memory(state: Any, browser: Any, request: gr.Request) -> tuple[Any, ...]:
        ids, refused = await session(state, browser, [], request)
        if refused is not None or ids is None:
            return [], None, "", "", (refused.status if refused else NO_IDENTITY)
        try:
            panel, figure, status = await controller.memory(ids.user_id)
        except Exception as exc:  # noqa: BLE001 - the panel reports it; the chat keeps working
            return [], None, "", "", f"⚠️ could not read memories: {type(exc).__name__}: {exc}"
        if panel is None:
            return [], None, "", "", status
        return panel.rows, figure, panel.summaries, panel.portrait, status

    with gr.Blocks(title=title, fill_height=True) as demo:
        ids_state = gr.State(None)
        storage_key = identity.browser_storage_key()
        browser = gr.BrowserState(None, storage_key="hanlin-session", secret=storage_key)
        saved_team = gr.BrowserState(None, storage_key="hanlin-team", secret=storage_key)
        gr.Markdown(f"## {title} · multi-agent chat")
        with gr.Tab("Chat"):  # noqa: SIM117 - the nesting is the page layout
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=560, elem_id="chat",
                                         group_consecutive_messages=False, buttons=["copy"])
                    box = gr.MultimodalTextbox(placeholder="Ask the team; attach images, audio or "
                                               "documents", file_types=ACCEPTED_UPLOADS,
                                               file_count="multiple", elem_id="message",
                                               submit_btn=True)
                    status = gr.Markdown(elem_id="status")
                    with gr.Group(visible=False, elem_id="approval") as approval:
                        heading = gr.Markdown(elem_id="approval-heading")
                        arguments = gr.Code(language="json", interactive=True, elem_id="approval-args",
                                            label="Arguments (change them, then press Edit & run)")
                        reason = gr.Textbox(label="Reason, if you reject", elem_id="approval-reason")
                        with gr.Row():
                            approve = gr.Button("Approve", variant="primary", elem_id="approve")
                            edit = gr.Button("Edit & run", elem_id="edit")
                            reject = gr.Button("Reject", variant="stop", elem_id="reject")
                    with gr.Row():
                        stop = gr.Button("Stop", elem_id="stop")
                        resume = gr.Button("Resume", elem_id="resume")
                        new_thread = gr.Button("New thread", elem_id="new-thread")
                with gr.Column(scale=1):
                    kind = gr.Radio([(label, key) for key, label in TEAM_LABELS.items()],
                                    value="react", label="Team", elem_id="team")
                    model = gr.Radio([("Embedded (CPU)", EMBEDDED), ("OpenAI-compatible server", SERVER)],
                                     value=EMBEDDED, label="Model", elem_id="model")
                    url = gr.Textbox(label="Server URL", placeholder="http://127.0.0.1:8000/v1",
                                     elem_id="model-url")
                    name = gr.Textbox(label="Model name on the server", value="default")
                    tools = gr.CheckboxGroup([(label, key) for key, label in TOOL_LABELS.items()],
                                             value=["calculator"], label="Tools", elem_id="tools")
                    approve_tools = gr.Checkbox(label="Ask me before every tool call",
                                                elem_id="approve-tools")
                    memory_on = gr.Checkbox(value=True, label="Long-term memory")
                    max_tokens = gr.Slider(16, 2048, value=256, step=16, elem_id="max-tokens",
                                           label="Longest reply (tokens)")
                    with gr.Accordion("Debate and role-play", open=False):
                        debaters = gr.Slider(2, 6, value=3, step=1, label="Debaters",
                                             elem_id="debaters")
                        rounds = gr.Slider(1, 5, value=2, step=1, label="Rounds", elem_id="rounds")
                        assistant_role = gr.Textbox(value="Python Programmer", label="Assistant role")
                        user_role = gr.Textbox(value="Stock Trader", label="User role")
                        max_turns = gr.Slider(1, 20, value=4, step=1, label="Role-play turns")
                    thread_info = gr.Markdown(elem_id="thread-info")
        with gr.Tab("Memory"):
            refresh = gr.Button("Refresh", elem_id="memory-refresh")
            memory_status = gr.Markdown(elem_id="memory-status")
            table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, wrap=True,
                                 elem_id="memory-table")
            plot = gr.Plot(label="Forgetting curves")
            with gr.Row():
                summaries = gr.Markdown(label="Summaries")
                portrait = gr.Markdown(label="Portrait")

        form = [kind, model, url, name, tools, approve_tools, memory_on, debaters, rounds,
                assistant_role, user_role, max_turns, max_tokens]
        team = gr.JSON(TeamConfig().model_dump(mode="json"), visible="hidden", elem_id="team-config")

        def on_form(*values: Any) -> tuple[Any, str, Any]:
            try:
                dumped = config_from(*values).model_dump(mode="json")
                return dumped, "", dumped
            except ValidationError as exc:
                return gr.update(), f"⚠️ {_invalid(exc)}", gr.update()

        def on_restore_form(saved: Any) -> tuple[Any, ...]:
            """The team this browser used last, back in the form after a reload or restart."""
            try:
                config = TeamConfig.model_validate(saved) if saved else TeamConfig()
            except ValidationError:
                config = TeamConfig()
            return (*form_values(config), config.model_dump(mode="json"))

        for widget in form:
            widget.change(on_form, form, [team, status, saved_team], show_progress="hidden", queue=False,
                          api_visibility="private")
        outputs = [chatbot, ids_state, browser, approval, heading, arguments, status, thread_info]
        common = {"concurrency_limit": None, "show_progress": "hidden"}
        sync = {"fn": on_form, "inputs": form, "outputs": [team, status, saved_team], "queue": False,
                "show_progress": "hidden", "api_visibility": "private"}
        # Each action first reads the form, so a setting changed just before it always counts.
        sent = box.submit(**sync).then(on_send, [box, chatbot, ids_state, browser, team],
                                       [*outputs, box], api_name="send", **common)
        decided = [
            button.click(**sync).then(decider(action),
                                      [arguments, reason, chatbot, ids_state, browser, team],
                                      outputs, api_name=action, **common)
            for button, action in ((approve, "approve"), (edit, "edit"), (reject, "reject"))
        ]
        resumed = resume.click(**sync).then(on_resume, [chatbot, ids_state, browser, team], outputs,
                                            api_name="resume", **common)
        stop.click(None, None, None, cancels=[sent, resumed, *decided])
        new_thread.click(on_new_thread, None, outputs, api_name="new_thread")
        refresh.click(on_memory, [ids_state, browser], [table, plot, summaries, portrait, memory_status],
                      api_name="memory", **common)
        demo.load(on_restore_form, [saved_team], [*form, team], queue=False,
                  api_visibility="private").then(on_load, [ids_state, browser, team], outputs,
                                                 **common)
    demo.queue(default_concurrency_limit=None)
    demo.hanlin_identity = identity
    return demo
