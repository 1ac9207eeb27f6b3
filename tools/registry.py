"""The tool registry: validates a model's tool calls, runs them, and reports every failure.

``execute`` never raises: each failure becomes a categorized ``ToolCallError`` whose message
tells the model what was wrong and what would be valid, so it can correct itself next turn.
That includes a tool raising ``SystemExit`` or ``KeyboardInterrupt`` (an argparse-based tool
given bad arguments), which would otherwise stop the event loop; only a cancellation of the
caller propagates. A tool whose earlier calls still run past their time limit answers
``busy`` (see ``hanlin.tools.call_slots``).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic.fields import FieldInfo

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import ToolCall, ToolMessage
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.tools.call_slots import EscapedError, contain
from hanlin.tools.failure import ToolBusy, ToolFailure
from hanlin.tools.result_text import UnreadableResult, readable, result_text, truncate
from hanlin.tools.schema import describe_schema
from hanlin.tools.tool import Tool, as_tool
from hanlin.tools.toolkit import Toolkit

logger = logging.getLogger(__name__)


class ToolResult(BaseModel):
    """The outcome of one call; ``content`` is exactly what the model will read."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    error: ToolCallError | None = None
    duration_s: float = 0.0
    truncated: bool = False

    def to_message(self) -> ToolMessage:
        return ToolMessage(
            tool_call_id=self.call_id,
            name=self.name,
            content=self.content,
            is_error=self.is_error,
            error_kind=self.error.kind.value if self.error else None,
        )


def format_result(value: Any) -> str:
    """Text for the model: strings as they are, structured values as compact JSON."""
    return result_text(value)[0]


def _accepted_keys(name: str, info: FieldInfo) -> list[str]:
    keys = [name]
    if info.alias:
        keys.append(info.alias)
    if isinstance(info.validation_alias, str):
        keys.append(info.validation_alias)
    elif isinstance(info.validation_alias, AliasChoices):
        keys += [c for c in info.validation_alias.choices if isinstance(c, str)]
    return list(dict.fromkeys(keys))


def _canonical_key(name: str, info: FieldInfo) -> str:
    """The key pydantic validates this field under, which is also the one the schema shows."""
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    if isinstance(info.validation_alias, AliasChoices):
        choices = [c for c in info.validation_alias.choices if isinstance(c, str)]
        if choices:
            return choices[0]
    return info.alias or name


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


class ToolRegistry:
    """Tools by name: their specs for the model, validation and dispatch of its calls.

    ``default_timeout`` (seconds, ``None`` for none) applies to tools without their own.
    Results longer than ``max_result_chars`` are cut with a visible marker.
    """

    def __init__(
        self,
        tools: Iterable[Tool | Toolkit | Callable[..., Any]] = (),
        *,
        default_timeout: float | None = 30.0,
        max_result_chars: int | None = 8000,
    ) -> None:
        self.default_timeout = default_timeout
        self.max_result_chars = max_result_chars
        self._tools: dict[str, Tool] = {}
        self._toolkits: dict[str, Toolkit] = {}
        for item in tools:
            self.register(item)

    # ------------------------------------------------------------------ contents

    def register(self, item: Tool | Toolkit | Callable[..., Any]) -> Any:
        """Add a tool (or function, or toolkit); returns what was registered."""
        if isinstance(item, Toolkit):
            if item.name in self._tools or (
                item.name in self._toolkits and self._toolkits[item.name] is not item
            ):
                raise ValueError(f"the name {item.name!r} is already registered")
            for member in item:
                self.register(member)
            self._toolkits[item.name] = item
            return item
        new = as_tool(item)
        new.spec  # noqa: B018 - builds the schema now, so a bad definition fails here
        existing = self._tools.get(new.name)
        if existing is new:
            return new
        if existing is not None or new.name in self._toolkits:
            raise ValueError(f"the name {new.name!r} is already registered")
        self._tools[new.name] = new
        return new

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def toolkits(self) -> list[str]:
        return list(self._toolkits)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def _expand(self, names: Iterable[str]) -> list[Tool]:
        """Tools for tool or toolkit names, in order, without repeats."""
        chosen: dict[str, Tool] = {}
        for name in names:
            if name in self._toolkits:
                chosen.update((t.name, t) for t in self._toolkits[name])
            elif name in self._tools:
                chosen[name] = self._tools[name]
            else:
                known = self.names() + self.toolkits()
                close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
                hint = f"did you mean {_quoted(close)}?" if close else f"known: {_quoted(known)}"
                raise KeyError(f"no tool or toolkit named {name!r}; {hint}")
        return list(chosen.values())

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        """Specs of all tools, or of the named tools and toolkits, to send to the model."""
        tools = list(self._tools.values()) if names is None else self._expand(names)
        return [t.spec for t in tools]

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry holding only the named tools and toolkits, with the same settings."""
        names = list(names)
        sub = ToolRegistry(
            self._expand(names),
            default_timeout=self.default_timeout,
            max_result_chars=self.max_result_chars,
        )
        for name in names:
            if name in self._toolkits:
                sub._toolkits[name] = self._toolkits[name]
        return sub

    # ------------------------------------------------------------------ validation

    def validate(self, call: ToolCall) -> ToolCallError | None:
        """The error this call would fail with before running, or ``None`` if it is valid."""
        checked = self._check(call)
        return checked if isinstance(checked, ToolCallError) else None

    def _error(
        self, call: ToolCall, kind: ToolErrorKind, message: str, options: Sequence[str] = ()
    ) -> ToolCallError:
        return ToolCallError(
            kind=kind,
            message=readable(message),
            tool_name=call.name,
            call_id=call.id,
            options=[readable(o) for o in options],
        )

    def _check(self, call: ToolCall) -> tuple[Tool, BaseModel] | ToolCallError:
        found = self._tools.get(call.name)
        if found is None:
            close = difflib.get_close_matches(call.name, self.names(), n=3, cutoff=0.5)
            lowered = [n for n in self.names() if n.lower() == call.name.lower()]
            options = lowered or close or self.names()
            return self._error(
                call, ToolErrorKind.UNKNOWN_TOOL, f"There is no tool named {call.name!r}.", options
            )
        return self._check_arguments(found, call)

    def _check_arguments(
        self, found: Tool, call: ToolCall
    ) -> tuple[Tool, BaseModel] | ToolCallError:
        model = found.args_model
        fields = model.model_fields
        properties: dict[str, Any] = found.spec.parameters.get("properties", {})
        owner = {key: name for name, info in fields.items() for key in _accepted_keys(name, info)}
        shown = {name: _canonical_key(name, info) for name, info in fields.items()}

        def describe(name: str, say_required: bool = True) -> str:
            schema = properties.get(shown[name], {})
            needed = "required" if fields[name].is_required() else "optional"
            text = f"{shown[name]} ({describe_schema(schema)}"
            text += f", {needed})" if say_required else ")"
            note = str(schema.get("description", "")).rstrip(". ")
            return text + (f": {note}" if note else "")

        valid = list(shown.values())
        unknown = [key for key in call.arguments if key not in owner]
        if unknown and model.model_config.get("extra") != "allow":
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            params = "; ".join(describe(n) for n in fields) or "none"
            return self._error(
                call,
                ToolErrorKind.HALLUCINATED_PARAMETER,
                f"{found.name} has no parameter {', '.join(hints)}. Its parameters are: {params}.",
                valid,
            )

        given: dict[str, list[str]] = {}
        for key in call.arguments:
            if key in owner:
                given.setdefault(owner[key], []).append(key)
        doubled = {name: keys for name, keys in given.items() if len(keys) > 1}
        if doubled:
            parts = [f"{_quoted(keys)} all mean {shown[name]!r}" for name, keys in doubled.items()]
            return self._error(
                call,
                ToolErrorKind.REDUNDANT_PARAMETER,
                f"An argument was given more than once: {'; '.join(parts)}. "
                "Give each argument once, under its listed name.",
                [shown[n] for n in doubled],
            )

        missing = [
            name for name, info in fields.items() if info.is_required() and name not in given
        ]
        if missing:
            return self._error(
                call,
                ToolErrorKind.MISSING_PARAMETER,
                f"{found.name} is missing the required parameter"
                f"{'s' if len(missing) > 1 else ''} "
                f"{'; '.join(describe(n, False) for n in missing)}.",
                [shown[n] for n in missing],
            )

        data = {shown[name]: call.arguments[keys[0]] for name, keys in given.items()}
        data.update((key, call.arguments[key]) for key in unknown)  # only when extra="allow"
        try:
            return found, model.model_validate(data)
        except ValidationError as exc:
            return self._validation_error(call, exc, properties)

    def _validation_error(
        self, call: ToolCall, exc: ValidationError, properties: dict[str, Any]
    ) -> ToolCallError:
        errors = exc.errors(include_url=False)
        kinds = {
            "missing": ToolErrorKind.MISSING_PARAMETER,
            "extra_forbidden": ToolErrorKind.HALLUCINATED_PARAMETER,
        }
        kind = (
            kinds.get(errors[0]["type"], ToolErrorKind.INVALID_VALUE)
            if errors
            else ToolErrorKind.INVALID_VALUE
        )
        parts = []
        for err in errors:
            loc = ".".join(str(p) for p in err["loc"])
            text = f"{loc!r}: {err['msg']}" if loc else err["msg"]
            details = []
            if err["type"] not in ("missing", "extra_forbidden"):
                shown_input = repr(err.get("input"))
                details.append(
                    "got " + (shown_input[:80] + "…" if len(shown_input) > 80 else shown_input)
                )
            if len(err["loc"]) == 1 and str(err["loc"][0]) in properties:
                details.append("expected " + describe_schema(properties[str(err["loc"][0])]))
            parts.append(text + (f" ({'; '.join(details)})" if details else ""))
        # Options: the allowed values of the first bad field, when it has a fixed set.
        first = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
        allowed = [str(v) for v in properties.get(first, {}).get("enum", [])]
        return self._error(
            call, kind, f"Invalid arguments for {call.name}: " + "; ".join(parts) + ".", allowed
        )

    # ------------------------------------------------------------------ execution

    async def execute(self, call: ToolCall) -> ToolResult:
        """Validate and run one call. Never raises (except on cancellation)."""
        started = time.perf_counter()
        checked = self._check(call)
        if isinstance(checked, ToolCallError):
            return self._failed(call, checked, started)
        found, args = checked
        timeout = found.timeout if found.timeout is not None else self.default_timeout
        # A task and asyncio.wait, not wait_for: a tool that raises TimeoutError itself is
        # then reported as having raised, not as having run out of time. The value becomes
        # text inside the task, where the tool runs, so that is under the time limit too.
        task = asyncio.ensure_future(contain(found.invoke_rendered(args, self._render)))
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        finally:
            if not task.done():
                task.cancel()
                task.add_done_callback(_discard_outcome)
        if not done:
            return self._failed(
                call,
                self._error(
                    call,
                    ToolErrorKind.TIMED_OUT,
                    f"{found.name} did not finish within {timeout:g} s and was stopped. "
                    "Try a smaller request or another approach.",
                ),
                started,
            )
        try:
            content, was_cut = task.result()
        except ToolBusy as exc:
            logger.info("tool %s refused call %s: %s", found.name, call.id, exc)
            return self._failed(
                call, self._error(call, exc.kind, f"{found.name} is busy: {exc}"), started
            )
        except ToolFailure as exc:  # an expected failure, categorized by the tool itself
            logger.info("tool %s failed on call %s: %s", found.name, call.id, exc)
            return self._failed(
                call,
                self._error(call, exc.kind, f"{found.name} failed: {_exception_text(exc)}"),
                started,
            )
        except UnreadableResult as exc:
            logger.warning("tool %s on call %s %s", found.name, call.id, exc)
            return self._failed(
                call, self._error(call, ToolErrorKind.TOOL_RAISED, f"{found.name} {exc}"), started
            )
        except Exception as exc:  # any failure of the tool goes to the model
            raised = exc.error if isinstance(exc, EscapedError) else exc
            logger.warning("tool %s raised on call %s", found.name, call.id, exc_info=raised)
            return self._failed(
                call,
                self._error(
                    call,
                    ToolErrorKind.TOOL_RAISED,
                    f"{found.name} failed: {_exception_text(raised)}",
                ),
                started,
            )
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=content,
            duration_s=time.perf_counter() - started,
            truncated=was_cut,
        )

    def _render(self, value: Any) -> tuple[str, bool]:
        """A tool's value as the model's text, run where the tool runs (see ``execute``)."""
        return result_text(value, self.max_result_chars)

    async def execute_many(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run calls concurrently; results come back in the order of ``calls``."""
        return list(await asyncio.gather(*(self.execute(call) for call in calls)))

    def _failed(self, call: ToolCall, error: ToolCallError, started: float) -> ToolResult:
        content, was_cut = truncate(error.for_model(), self.max_result_chars)
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=content,
            is_error=True,
            error=error,
            duration_s=time.perf_counter() - started,
            truncated=was_cut,
        )


def _exception_text(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _discard_outcome(task: asyncio.Future[Any]) -> None:
    """Read a stopped task's outcome so asyncio does not warn that nobody did."""
    if not task.cancelled():
        task.exception()


__all__ = ["ToolRegistry", "ToolResult", "format_result", "truncate"]
