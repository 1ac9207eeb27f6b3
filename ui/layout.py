"""The chat page's widgets: the conversation, the team form and the Memory tab.

Building only places widgets (inside the caller's ``gr.Blocks``); ``ui.app`` wires them to
the handlers. The ``elem_id``s are what the browser tests and the CSS find widgets by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from hanlin.chat_teams.config import TEAM_LABELS, TOOL_LABELS, TeamConfig
from hanlin.ui.memory_panel import TABLE_HEADERS
from hanlin.ui.uploads import ACCEPTED_UPLOADS

EMBEDDED, SERVER = "embedded", "server"


@dataclass(frozen=True)
class ChatPanel:
    """The conversation column: messages, the message box, approval box and run buttons."""

    chatbot: gr.Chatbot
    box: gr.MultimodalTextbox
    status: gr.Markdown
    approval: gr.Group
    heading: gr.Markdown
    arguments: gr.Code
    reason: gr.Textbox
    approve: gr.Button
    edit: gr.Button
    reject: gr.Button
    stop: gr.Button
    resume: gr.Button
    new_thread: gr.Button


@dataclass(frozen=True)
class TeamForm:
    """The settings column: which team, which model and tools, and the debate and role-play
    knobs; ``thread_info`` under it says which thread the page shows."""

    kind: gr.Radio
    model: gr.Radio
    url: gr.Textbox
    name: gr.Textbox
    tools: gr.CheckboxGroup
    approve_tools: gr.Checkbox
    memory_on: gr.Checkbox
    max_tokens: gr.Slider
    debaters: gr.Slider
    rounds: gr.Slider
    assistant_role: gr.Textbox
    user_role: gr.Textbox
    max_turns: gr.Slider
    thread_info: gr.Markdown

    def fields(self) -> list[Any]:
        """The form's inputs in the order ``ui.app.config_from`` takes their values."""
        return [
            self.kind,
            self.model,
            self.url,
            self.name,
            self.tools,
            self.approve_tools,
            self.memory_on,
            self.debaters,
            self.rounds,
            self.assistant_role,
            self.user_role,
            self.max_turns,
            self.max_tokens,
        ]


@dataclass(frozen=True)
class MemoryTab:
    """What the long-term memory holds about the caller, read when they press Refresh."""

    refresh: gr.Button
    status: gr.Markdown
    table: gr.Dataframe
    plot: gr.Plot
    summaries: gr.Markdown
    portrait: gr.Markdown

    def outputs(self) -> list[Any]:
        """The widgets ``ChatHandlers.on_memory`` fills, in the order it returns values."""
        return [self.table, self.plot, self.summaries, self.portrait, self.status]


@dataclass(frozen=True)
class ChatPage:
    """Every widget the handlers read or write. ``ids_state`` and ``browser`` hold the page's
    thread ids (per tab and in local storage); ``saved_team`` keeps the form in local storage
    and ``team`` is the form's last valid value, which every run reads."""

    ids_state: gr.State
    browser: gr.BrowserState
    saved_team: gr.BrowserState
    chat: ChatPanel
    form: TeamForm
    memory: MemoryTab
    team: gr.JSON

    def turn_widgets(self) -> list[Any]:
        """The widgets a chat update fills, in the order ``handlers.turn_view`` returns them."""
        return [
            self.chat.chatbot,
            self.ids_state,
            self.browser,
            self.chat.approval,
            self.chat.heading,
            self.chat.arguments,
            self.chat.status,
            self.form.thread_info,
        ]


def chat_panel() -> ChatPanel:
    """The conversation column's widgets; the approval box stays hidden until a call waits."""
    chatbot = gr.Chatbot(
        label="Conversation",
        height=560,
        elem_id="chat",
        group_consecutive_messages=False,
        buttons=["copy"],
    )
    box = gr.MultimodalTextbox(
        placeholder="Ask the team; attach images, audio or documents",
        file_types=ACCEPTED_UPLOADS,
        file_count="multiple",
        elem_id="message",
        submit_btn=True,
    )
    status = gr.Markdown(elem_id="status")
    with gr.Group(visible=False, elem_id="approval") as approval:
        heading = gr.Markdown(elem_id="approval-heading")
        arguments = gr.Code(
            language="json",
            interactive=True,
            elem_id="approval-args",
            label="Arguments (change them, then press Edit & run)",
        )
        reason = gr.Textbox(label="Reason, if you reject", elem_id="approval-reason")
        with gr.Row():
            approve = gr.Button("Approve", variant="primary", elem_id="approve")
            edit = gr.Button("Edit & run", elem_id="edit")
            reject = gr.Button("Reject", variant="stop", elem_id="reject")
    with gr.Row():
        stop = gr.Button("Stop", elem_id="stop")
        resume = gr.Button("Resume", elem_id="resume")
        new_thread = gr.Button("New thread", elem_id="new-thread")
    return ChatPanel(
        chatbot=chatbot,
        box=box,
        status=status,
        approval=approval,
        heading=heading,
        arguments=arguments,
        reason=reason,
        approve=approve,
        edit=edit,
        reject=reject,
        stop=stop,
        resume=resume,
        new_thread=new_thread,
    )


def team_form() -> TeamForm:
    """The settings column's widgets, showing ``TeamConfig``'s defaults."""
    kind = gr.Radio(
        [(label, key) for key, label in TEAM_LABELS.items()],
        value="react",
        label="Team",
        elem_id="team",
    )
    model = gr.Radio(
        [("Embedded (CPU)", EMBEDDED), ("OpenAI-compatible server", SERVER)],
        value=EMBEDDED,
        label="Model",
        elem_id="model",
    )
    url = gr.Textbox(
        label="Server URL", placeholder="http://127.0.0.1:8000/v1", elem_id="model-url"
    )
    name = gr.Textbox(label="Model name on the server", value="default")
    tools = gr.CheckboxGroup(
        [(label, key) for key, label in TOOL_LABELS.items()],
        value=["calculator"],
        label="Tools",
        elem_id="tools",
    )
    approve_tools = gr.Checkbox(label="Ask me before every tool call", elem_id="approve-tools")
    memory_on = gr.Checkbox(value=True, label="Long-term memory")
    max_tokens = gr.Slider(
        16, 2048, value=256, step=16, elem_id="max-tokens", label="Longest reply (tokens)"
    )
    with gr.Accordion("Debate and role-play", open=False):
        debaters = gr.Slider(2, 6, value=3, step=1, label="Debaters", elem_id="debaters")
        rounds = gr.Slider(1, 5, value=2, step=1, label="Rounds", elem_id="rounds")
        assistant_role = gr.Textbox(value="Python Programmer", label="Assistant role")
        user_role = gr.Textbox(value="Stock Trader", label="User role")
        max_turns = gr.Slider(1, 20, value=4, step=1, label="Role-play turns")
    thread_info = gr.Markdown(elem_id="thread-info")
    return TeamForm(
        kind=kind,
        model=model,
        url=url,
        name=name,
        tools=tools,
        approve_tools=approve_tools,
        memory_on=memory_on,
        max_tokens=max_tokens,
        debaters=debaters,
        rounds=rounds,
        assistant_role=assistant_role,
        user_role=user_role,
        max_turns=max_turns,
        thread_info=thread_info,
    )


def memory_tab() -> MemoryTab:
    """The Memory tab's widgets: a table of memories, forgetting curves, summaries, portrait."""
    refresh = gr.Button("Refresh", elem_id="memory-refresh")
    status = gr.Markdown(elem_id="memory-status")
    table = gr.Dataframe(
        headers=TABLE_HEADERS, interactive=False, wrap=True, elem_id="memory-table"
    )
    plot = gr.Plot(label="Forgetting curves")
    with gr.Row():
        summaries = gr.Markdown(label="Summaries")
        portrait = gr.Markdown(label="Portrait")
    return MemoryTab(
        refresh=refresh,
        status=status,
        table=table,
        plot=plot,
        summaries=summaries,
        portrait=portrait,
    )


def chat_page(title: str, storage_key: str) -> ChatPage:
    """Places the whole page in the current ``gr.Blocks``; ``storage_key`` is the key Gradio
    keeps the page's thread ids and form under in the browser's local storage."""
    ids_state = gr.State(None)
    browser = gr.BrowserState(None, storage_key="hanlin-session", secret=storage_key)
    saved_team = gr.BrowserState(None, storage_key="hanlin-team", secret=storage_key)
    gr.Markdown(f"## {title} · multi-agent chat")
    with gr.Tab("Chat"), gr.Row():
        with gr.Column(scale=3):
            chat = chat_panel()
        with gr.Column(scale=1):
            form = team_form()
    with gr.Tab("Memory"):
        memory = memory_tab()
    team = gr.JSON(TeamConfig().model_dump(mode="json"), visible="hidden", elem_id="team-config")
    return ChatPage(
        ids_state=ids_state,
        browser=browser,
        saved_team=saved_team,
        chat=chat,
        form=form,
        memory=memory,
        team=team,
    )
