"""``ToolFailure``: how a tool reports an expected failure under a specific category.

The registry reports any other exception as ``tool_raised`` and logs its traceback; a
``ToolFailure`` is the tool saying "this input or this service failed in a known way", so it
is logged without a traceback and the model sees the category it can act on.
"""

from __future__ import annotations

from hanlin.llm.tool_errors import ToolErrorKind


class ToolFailure(Exception):
    kind: ToolErrorKind = ToolErrorKind.TOOL_RAISED

    def __init__(self, message: str, kind: ToolErrorKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ToolBusy(ToolFailure):
    """The tool takes no new calls now: all its slots are held by calls still running past
    their time limit (see ``hanlin.tools.call_slots``)."""

    kind = ToolErrorKind.BUSY
