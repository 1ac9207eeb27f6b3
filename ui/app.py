"""The Gradio multi-agent chat: the page's widgets (``ui.layout``) wired to its handlers
(``ui.handlers``), which drive ``ChatController``.

Only these three modules import Gradio (and only ``hanlin ui`` imports them), so nothing else
in hanlin pays Gradio's import time. Each request acts for the identity the server established
(login or signed browser cookie); thread ids a page sends only choose among that identity's own
threads.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import gradio as gr
from pydantic import ValidationError

from hanlin.chat_teams.config import TeamConfig
from hanlin.ui.controller import ChatController
from hanlin.ui.handlers import ChatHandlers, invalid_team
from hanlin.ui.identity import BrowserIdentity
from hanlin.ui.layout import EMBEDDED, SERVER, ChatPage, chat_page
from hanlin.ui.services import UiServices

CSS = "#status {min-height: 1.5em} footer {display: none !important}"


def identity_of(demo: Any) -> BrowserIdentity:
    """The identity ``build_app`` gave ``demo``; ``launch_app`` serves its cookie."""
    identity = getattr(demo, "hanlin_identity", None)
    if not isinstance(identity, BrowserIdentity):
        raise TypeError("launch_app serves apps made by hanlin.ui.app.build_app")
    return identity


def config_from(
    kind: str,
    model: str,
    url: str,
    name: str,
    tools: list[str],
    approve: bool,
    memory: bool,
    debaters: float,
    rounds: float,
    assistant_role: str,
    user_role: str,
    max_turns: float,
    max_tokens: float = 256,
) -> TeamConfig:
    """The form's values as a ``TeamConfig``; raises ``ValidationError`` with what is wrong."""
    return TeamConfig.model_validate(
        {
            "kind": kind,
            "model_url": (url.strip() or None) if model == SERVER else None,
            "model_name": name.strip() or "default",
            "tools": tools,
            "approve_tools": approve,
            "long_term_memory": memory,
            "debaters": int(debaters),
            "rounds": int(rounds),
            "assistant_role": assistant_role,
            "user_role": user_role,
            "max_turns": int(max_turns),
            "max_tokens": int(max_tokens),
        }
    )


def form_values(config: TeamConfig) -> list[Any]:
    """The form widgets' values for ``config``, in the order ``config_from`` takes them."""
    return [
        config.kind,
        EMBEDDED if config.model_url is None else SERVER,
        str(config.model_url or ""),
        config.model_name,
        list(config.tools),
        config.approve_tools,
        config.long_term_memory,
        config.debaters,
        config.rounds,
        config.assistant_role,
        config.user_role,
        config.max_turns,
        config.max_tokens,
    ]


def on_form(*values: Any) -> tuple[Any, str, Any]:
    """Checks the form on every change: a valid team is kept (for the next run and in the
    browser); an invalid one leaves the last valid team in place and says what is wrong."""
    try:
        dumped = config_from(*values).model_dump(mode="json")
        return dumped, "", dumped
    except ValidationError as exc:
        return gr.update(), f"⚠️ {invalid_team(exc)}", gr.update()


def on_restore_form(saved: Any) -> tuple[Any, ...]:
    """The team this browser used last, back in the form after a reload or restart."""
    try:
        config = TeamConfig.model_validate(saved) if saved else TeamConfig()
    except ValidationError:
        config = TeamConfig()
    return (*form_values(config), config.model_dump(mode="json"))


def wire_form(page: ChatPage) -> None:
    """Each setting is checked and kept as soon as it changes (no queue: it is instant)."""
    fields = page.form.fields()
    for widget in fields:
        widget.change(
            on_form,
            fields,
            [page.team, page.chat.status, page.saved_team],
            show_progress="hidden",
            queue=False,
            api_visibility="private",
        )


def after_form(
    page: ChatPage,
    trigger: Callable[..., Any],
    fn: Callable[..., Any],
    inputs: list[Any],
    outputs: list[Any],
    api_name: str,
) -> Any:
    """``fn`` as the endpoint ``api_name``, run after ``trigger`` reads the form again, so a
    setting changed just before it always counts. Runs are not limited in number (each
    streams its own thread) and show no progress overlay (the status line says what runs)."""
    return trigger(
        fn=on_form,
        inputs=page.form.fields(),
        outputs=[page.team, page.chat.status, page.saved_team],
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    ).then(fn, inputs, outputs, api_name=api_name, concurrency_limit=None, show_progress="hidden")


def wire_chat(page: ChatPage, handlers: ChatHandlers) -> None:
    """The run endpoints (``/send``, ``/approve``, ``/edit``, ``/reject``, ``/resume``), Stop,
    which cancels them, and ``/new_thread``."""
    chat, outputs = page.chat, page.turn_widgets()
    kept = [page.ids_state, page.browser, page.team]
    sent = after_form(
        page,
        chat.box.submit,
        handlers.on_send,
        [chat.box, chat.chatbot, *kept],
        outputs=[*outputs, chat.box],
        api_name="send",
    )
    buttons = ((chat.approve, "approve"), (chat.edit, "edit"), (chat.reject, "reject"))
    approval = [chat.arguments, chat.reason, chat.chatbot, *kept]
    decided = [
        after_form(page, button.click, handlers.decider(action), approval, outputs, action)
        for button, action in buttons
    ]
    resumed = after_form(
        page, chat.resume.click, handlers.on_resume, [chat.chatbot, *kept], outputs, "resume"
    )
    chat.stop.click(None, None, None, cancels=[sent, resumed, *decided])
    chat.new_thread.click(handlers.on_new_thread, None, outputs, api_name="new_thread")


def wire_memory_and_load(demo: Any, page: ChatPage, handlers: ChatHandlers) -> None:
    """``/memory`` for the Memory tab; on page load the form comes back from the browser,
    then ``/on_load`` shows the caller's thread."""
    page.memory.refresh.click(
        handlers.on_memory,
        [page.ids_state, page.browser],
        page.memory.outputs(),
        api_name="memory",
        concurrency_limit=None,
        show_progress="hidden",
    )
    demo.load(
        on_restore_form,
        [page.saved_team],
        [*page.form.fields(), page.team],
        queue=False,
        api_visibility="private",
    ).then(
        handlers.on_load,
        [page.ids_state, page.browser, page.team],
        page.turn_widgets(),
        concurrency_limit=None,
        show_progress="hidden",
    )


def build_app(
    services: UiServices, *, title: str = "hanlin", browser_secret: str | None = None
) -> Any:
    """``browser_secret`` (kept on the server) signs each browser's identity cookie; a stable
    secret lets a browser find its threads after the app restarts. None: a new one per start."""
    identity = BrowserIdentity(browser_secret or secrets.token_hex(32))
    handlers = ChatHandlers(ChatController(services), identity)
    with gr.Blocks(title=title, fill_height=True) as demo:
        page = chat_page(title, identity.browser_storage_key())
        wire_form(page)
        wire_chat(page, handlers)
        wire_memory_and_load(demo, page, handlers)
    demo.queue(default_concurrency_limit=None)
    demo.hanlin_identity = identity
    return demo
