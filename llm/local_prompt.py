"""Turning hanlin messages into a chat template's input, and generated text back into a turn.

Shared by the in-process backends (llama.cpp and transformers). Small local models have no
tool role and no native tool calling, so tools are described in the system prompt, earlier
calls are re-rendered as ``<tool_call>`` JSON and results come back as a user turn wrapped
in ``<tool_response>``: the same text convention the tool-call parser reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from hanlin.llm.chat_model import ChatOptions, ChatResult, ToolSpec, Usage
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.toolcalls.parsing import parse_tool_calls, tool_instructions

# A ChatML template, used when a model file carries no template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

REQUIRED_TOOL_NOTE = "You must answer by calling at least one of the tools."


def stop_strings(options: ChatOptions, tools: Sequence[ToolSpec]) -> list[str]:
    """The caller's stop strings, plus ``<tool_response>`` when tools are offered.

    A model that starts writing a tool response is inventing the result of its own call;
    generation stops there so the real result can be supplied.
    """
    stops = [s for s in options.stop if s]
    if tools:
        stops.append("<tool_response>")
    return stops


class TemplateMessage(BaseModel):
    """One turn as chat templates expect it: only roles every template knows."""

    role: str
    content: str


def tools_in_use(tools: Sequence[ToolSpec], options: ChatOptions) -> list[ToolSpec]:
    """The tools the model is offered: none with ``tool_choice="none"`` or a JSON schema.

    A JSON-schema grammar forces the output to be that JSON, so it cannot also be a call.
    """
    if options.tool_choice == "none" or options.json_schema is not None:
        return []
    return list(tools)


def render_tool_call(call: ToolCall) -> str:
    payload = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return f"<tool_call>\n{payload}\n</tool_call>"


def render_plain_tool_result(message: ToolMessage) -> str:
    """A result as plain text, for turns where no tools (and so no ``<tool_response>``
    convention) are offered: small models otherwise echo the markup instead of answering."""
    outcome = "failed" if message.is_error else "returned"
    return f"The {message.name} tool {outcome}: {message.content}"


def render_tool_result(message: ToolMessage) -> str:
    payload: dict[str, Any] = {"name": message.name, "content": message.content}
    if message.is_error:
        payload["is_error"] = True
    return f"<tool_response>\n{json.dumps(payload, ensure_ascii=False)}\n</tool_response>"


def _user_text(message: UserMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    pieces: list[str] = []
    for part in message.content:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        else:
            pieces.append(
                f"[{part.type} attachment {_attachment_name(part)} cannot be shown to this model]"
            )
    return "\n".join(pieces)


def _attachment_name(part: Any) -> str:
    """A short name for an attachment the model cannot read: the file name of a path (not
    the folder it sits in), "inline data" for a data URL (never its bytes, which could fill
    the context), or the start of a web address."""
    path = getattr(part, "path", None)
    if path:
        return PurePath(path).name
    url = getattr(part, "url", None) or ""
    if getattr(part, "data_base64", None) is not None:
        return getattr(part, "name", None) or "(inline data)"
    if url.startswith("data:"):
        return "(inline data)"
    return url if len(url) <= 120 else url[:117] + "..."


def _system_prompt(
    messages: Sequence[Message], tools: Sequence[ToolSpec], options: ChatOptions
) -> str:
    sections = [m.content for m in messages if isinstance(m, SystemMessage) and m.content]
    if tools:
        sections.append(tool_instructions(list(tools)))
        if options.tool_choice == "required":
            sections.append(REQUIRED_TOOL_NOTE)
    return "\n\n".join(sections)


def to_template_messages(
    messages: Sequence[Message], tools: Sequence[ToolSpec], options: ChatOptions
) -> list[TemplateMessage]:
    """Flatten the conversation into system / user / assistant turns.

    All system messages (plus the tool instructions) become one leading system turn, since
    many templates accept a system message only first. Consecutive tool results merge into
    one user turn so the roles keep alternating.
    """
    rendered: list[TemplateMessage] = []
    system = _system_prompt(messages, tools, options)
    if system:
        rendered.append(TemplateMessage(role="system", content=system))
    previous_was_result = False
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, ToolMessage):
            text = render_tool_result(message) if tools else render_plain_tool_result(message)
            if previous_was_result:  # results of one step share a turn, so roles alternate
                rendered[-1].content += "\n" + text
            else:
                rendered.append(TemplateMessage(role="user", content=text))
            previous_was_result = True
            continue
        previous_was_result = False
        if isinstance(message, UserMessage):
            rendered.append(TemplateMessage(role="user", content=_user_text(message)))
        elif isinstance(message, AssistantMessage):
            parts = [message.content] if message.content else []
            parts += [render_tool_call(call) for call in message.tool_calls]
            rendered.append(TemplateMessage(role="assistant", content="\n".join(parts)))
    return rendered


def template_dicts(turns: Sequence[TemplateMessage]) -> list[dict[str, str]]:
    return [turn.model_dump() for turn in turns]


def build_result(
    text: str,
    tools: Sequence[ToolSpec],
    *,
    usage: Usage,
    finish_reason: str,
) -> ChatResult:
    """A finished turn from generated text; tool calls are extracted when tools were offered."""
    if not tools:
        return ChatResult(
            message=AssistantMessage(content=text.strip()),
            usage=usage,
            finish_reason=finish_reason,
            raw_text=text,
        )
    parsed = parse_tool_calls(text, list(tools))
    message = AssistantMessage(content=parsed.content, tool_calls=list(parsed.calls))
    return ChatResult(
        message=message,
        usage=usage,
        finish_reason="tool_calls" if parsed.calls else finish_reason,
        tool_errors=list(parsed.errors),
        raw_text=text,
    )
