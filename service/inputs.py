"""What a run asks for, read from the Agent Protocol's ``input`` and ``command``.

An input carries one new user message (hanlin's ``{"role": "user", "content": ...}``, or
LangChain's ``{"type": "human", ...}``); a command resumes a paused thread with an approval
decision (``{"resume": {"action": "approve" | "edit" | "reject", ...}}``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hanlin.llm.messages import UserMessage
from hanlin.runtime import ApprovalDecision


class RunInputError(ValueError):
    """The input or command cannot be run; the message says what to send instead."""


def user_message(input_value: dict[str, Any]) -> UserMessage:
    messages = input_value.get("messages")
    if not isinstance(messages, list) or len(messages) != 1 or not isinstance(messages[0], dict):
        raise RunInputError(
            'input must be {"messages": [one user message]}, e.g. '
            '{"messages": [{"role": "user", "content": "hello"}]}'
        )
    raw = dict(messages[0])
    role = raw.pop("role", None) or raw.pop("type", None)
    if role not in ("user", "human"):
        raise RunInputError(f"the input message must come from the user, got role {role!r}")
    raw.pop("id", None)
    try:
        message = UserMessage.model_validate({**raw, "role": "user"})
    except ValidationError as exc:
        raise RunInputError(f"invalid user message: {_first_error(exc)}") from exc
    if isinstance(message.content, list):
        for index, part in enumerate(message.content):
            if getattr(part, "path", None) is not None:
                raise RunInputError(
                    f"content[{index}] names a local path: a message sent to the service "
                    "carries its files inline (images as data: URLs, audio and documents as "
                    "data_base64), since the worker cannot and must not read paths a client names"
                )
    return message


def approval_decision(command: dict[str, Any]) -> ApprovalDecision:
    unsupported = sorted(set(command) - {"resume"})
    if unsupported or "resume" not in command:
        raise RunInputError(
            f"only command.resume is supported (an approval decision), got {sorted(command)}"
        )
    try:
        return ApprovalDecision.model_validate(command["resume"])
    except ValidationError as exc:
        raise RunInputError(
            'command.resume must be an approval decision such as {"action": "approve"}, '
            f'{{"action": "edit", "arguments": {{...}}}} or {{"action": "reject"}}: '
            f"{_first_error(exc)}"
        ) from exc


def check_run_request(input_value: dict[str, Any] | None, command: dict[str, Any] | None) -> None:
    """Raise ``RunInputError`` for a request no worker could run."""
    if input_value is not None and command is not None:
        raise RunInputError("send either input or command, not both")
    if input_value is not None:
        user_message(input_value)
    if command is not None:
        approval_decision(command)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
