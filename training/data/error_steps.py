"""MAE (eq. 8.1): find the erroneous steps of a trajectory from the feedback that follows them.

Judging a call directly is hard; the tool's answer to it is not, because tool failures fall
into a few fixed shapes. A step is erroneous when the feedback to any of its calls says the
call failed: hanlin's own ``ToolMessage.is_error`` / ``error_kind``, the runtime's
``tool_feedback`` observation for an unreadable reply, or text matching the markers below.
Such a step is kept as context for later turns but is never a training target.
"""

from __future__ import annotations

import re

from hanlin.llm.messages import AssistantMessage, Message, ToolMessage, UserMessage
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.training.data.trajectory import Trajectory

# The reference implementation's markers (TL-Training code/mae/mae.py), matched its way:
# both sides normalised to [\u4e00-\u9fa5a-zA-Z0-9] and lowercased, then a substring test.
REFERENCE_MARKERS: tuple[str, ...] = (
    "is not defined",
    "positional argument",
    "unexpected keyword",
    "'related_searches'",
    "ConnectionError",
    "not supported",
    "Invalid API call",
    "Response error",
    "Object of type SerpResults is not JSON serializable",
    "400 Client Error",
    "slice indices must be integers or None or have an __index__ method",
    "connection error",
)
# The reference also lists '"error":' and "'error'". Normalised they become the bare word
# "error", which flags any result that merely mentions an error (a paper on "error
# correction"); here they are matched as written, as the JSON / dict key they were meant as.
LITERAL_MARKERS: tuple[str, ...] = ('"error":', "'error'")
# Failures in hanlin's own words and the common shapes of HTTP and Python errors.
_KINDS = "|".join(kind.value for kind in ToolErrorKind)
ERROR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("hanlin tool error", re.compile(rf"^\s*(?:Observation:\s*)?Error \((?:{_KINDS})\):")),
    ("Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    (
        "Python exception",
        re.compile(r"^\s*(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception): ", re.MULTILINE),
    ),
    (
        "HTTP error status",
        re.compile(
            r"\b(?:HTTP(?:/\d(?:\.\d)?)?|status(?: code)?:?)\s*[45]\d\d\b"
            r"|\b[45]\d\d (?:Client|Server) Error\b",
            re.IGNORECASE,
        ),
    ),
    (
        "HTTP error reason",
        re.compile(
            r"\b(?:Internal Server Error|Service Unavailable|Bad Gateway|Gateway Timeout|Too Many "
            r"Requests|rate limit exceeded)\b",
            re.IGNORECASE,
        ),
    ),
)
RUNTIME_FEEDBACK_NAME = "tool_feedback"  # the ReAct loop's observation for an unusable reply

_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5a-zA-Z0-9]")


def normalise(text: str) -> str:
    """The reference's normalisation: only CJK, ASCII letters and digits, lowercased."""
    return _NOT_KEPT.sub("", text).lower()


_NORMALISED_MARKERS = tuple((marker, normalise(marker)) for marker in REFERENCE_MARKERS)


def error_in_text(text: str) -> str | None:
    """Why ``text`` reads as failure feedback, or ``None`` when it does not."""
    flat = normalise(text)
    for marker, normalised in _NORMALISED_MARKERS:
        if normalised in flat:
            return f"feedback contains {marker!r}"
    for marker in LITERAL_MARKERS:
        if marker in text.lower():
            return f"feedback contains {marker!r}"
    for label, pattern in ERROR_PATTERNS:
        if pattern.search(text):
            return f"feedback matches {label}"
    return None


def _feedback_error(message: ToolMessage | UserMessage) -> str | None:
    if isinstance(message, ToolMessage):
        if message.error_kind:
            return f"{message.name}: tool reported {message.error_kind}"
        if message.is_error:
            return f"{message.name}: tool reported an error"
        found = error_in_text(message.content)
        return f"{message.name}: {found}" if found else None
    found = error_in_text(message.text())
    return f"runtime feedback: {found or 'the reply could not be used'}"


def _feedback(messages: list[Message], index: int) -> list[ToolMessage | UserMessage]:
    """The messages answering the assistant turn at ``index``: the tool results that follow
    it for its own calls, or the runtime's observation when its reply could not be used."""
    turn = messages[index]
    assert isinstance(turn, AssistantMessage)
    ids = {call.id for call in turn.tool_calls}
    found: list[ToolMessage | UserMessage] = []
    for message in messages[index + 1 :]:
        if isinstance(message, ToolMessage):
            if message.tool_call_id in ids:
                found.append(message)
            continue
        if isinstance(message, UserMessage) and message.name == RUNTIME_FEEDBACK_NAME and not found:
            found.append(message)
        break
    return found


def explain_erroneous_steps(trajectory: Trajectory) -> dict[int, str]:
    """Index in ``trajectory.messages`` of each erroneous assistant turn, with the reason.

    A turn with several calls is erroneous when any call failed. A turn nothing answers
    (the final answer) is never erroneous.
    """
    reasons: dict[int, str] = {}
    messages = trajectory.messages
    for index, message in enumerate(messages):
        if not isinstance(message, AssistantMessage):
            continue
        problems = [p for p in map(_feedback_error, _feedback(messages, index)) if p]
        if problems:
            reasons[index] = "; ".join(problems)
    return reasons


def erroneous_steps(trajectory: Trajectory) -> set[int]:
    """The indices of the assistant turns excluded from the loss under MAE (eq. 8.1)."""
    return set(explain_erroneous_steps(trajectory))


def without_erroneous_steps(trajectory: Trajectory) -> Trajectory:
    """The trajectory with each erroneous turn and the feedback to it removed.

    For evaluation data, where only clean paths should be gold. It stays coherent when each
    erroneous turn is followed by a retry of all its calls, as the synthetic data does.
    """
    bad = erroneous_steps(trajectory)
    if not bad:
        return trajectory
    dropped: set[int] = set()
    for index in bad:
        dropped.add(index)
        turn = trajectory.messages[index]
        assert isinstance(turn, AssistantMessage)
        ids = {call.id for call in turn.tool_calls}
        for offset, message in enumerate(trajectory.messages[index + 1 :], start=index + 1):
            if isinstance(message, ToolMessage) and message.tool_call_id in ids:
                dropped.add(offset)
            elif isinstance(message, UserMessage) and message.name == RUNTIME_FEEDBACK_NAME:
                dropped.add(offset)
                break
            elif not isinstance(message, ToolMessage):
                break
    kept = [m for i, m in enumerate(trajectory.messages) if i not in dropped]
    return trajectory.model_copy(update={"messages": kept})
