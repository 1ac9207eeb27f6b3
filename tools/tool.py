"""Tools: ``Tool`` for configurable tools, ``@tool`` to turn a typed function into one.

Both give the registry the same surface: ``name``, ``spec`` (what the model sees),
``args_model`` (what validates the model's arguments), ``timeout``, ``requires_approval``,
``max_threads`` and ``invoke``. Sync code runs in one of the tool's own threads, so a slow
tool never blocks the event loop and a hung one only uses up its own slots (see
``hanlin.tools.call_slots``). A returned generator is read to a list (at most ``max_items``
items) in the same place, under the same time limit.
"""

from __future__ import annotations

import functools
import inspect
import io
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict

from hanlin.llm.chat_model import ToolSpec
from hanlin.tools.call_slots import CallSlots
from hanlin.tools.result_text import PartialItems
from hanlin.tools.schema import args_model_from_function, flat_json_schema, parse_docstring

R = TypeVar("R")
_PLAIN = (str, int, float, bool, type(None))

_VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class NoArgs(BaseModel):
    """The argument model of a tool that takes no arguments."""

    model_config = ConfigDict(extra="forbid")


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Tool(ABC):
    """A tool with configuration: subclass it, set ``name``, ``description`` and ``Args``.

    ``run`` gets a validated ``Args`` instance and may be sync or async. ``name`` defaults to
    the class name in snake_case, ``description`` to the class docstring's summary.
    ``timeout`` of ``None`` means the registry's default applies. ``max_threads`` bounds the
    threads running this tool's sync code at once, and the calls stopped at their time limit
    that may still run before new calls are refused as ``busy``.
    """

    name: str = ""
    description: str = ""
    Args: type[BaseModel] = NoArgs
    timeout: float | None = None
    requires_approval: bool = False
    max_threads: int = 8
    max_items: int = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = _snake_case(cls.__name__)
        if not cls.__dict__.get("description") and cls.__doc__:
            cls.description = parse_docstring(cls.__doc__).summary

    @property
    def args_model(self) -> type[BaseModel]:
        return self.Args

    @functools.cached_property
    def spec(self) -> ToolSpec:
        """The tool in OpenAI function format, with a flat parameter schema."""
        self._check_definition()
        return ToolSpec(
            name=self.name,
            description=self.description,
            parameters=flat_json_schema(self.args_model),
        )

    def _check_definition(self) -> None:
        if not _VALID_NAME.match(self.name or ""):
            raise ValueError(
                f"invalid tool name {self.name!r}: use 1-64 letters, digits, "
                "'_' or '-' (the OpenAI function-name rule)"
            )
        if not (isinstance(self.args_model, type) and issubclass(self.args_model, BaseModel)):
            raise TypeError(f"tool {self.name!r}: Args must be a pydantic BaseModel subclass")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"tool {self.name!r}: timeout must be positive, got {self.timeout}")
        for limit in ("max_threads", "max_items"):
            value = getattr(self, limit)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"tool {self.name!r}: {limit} must be a positive integer, got {value!r}"
                )

    @abstractmethod
    def run(self, args: Any) -> Any:
        """Do the work with validated arguments. May be ``async def``."""

    @functools.cached_property
    def call_slots(self) -> CallSlots:
        """This tool's threads and stopped calls, shared by every registry holding it."""
        return CallSlots(self.name, self.max_threads)

    def _runs_async(self) -> bool:
        return inspect.iscoroutinefunction(self.run)

    def _start(self, args: BaseModel) -> Any:
        """Call the tool's code: a value, or a coroutine for async code."""
        return self.run(args)

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        """Validate ``arguments`` and run. Raises ``pydantic.ValidationError`` on bad input."""
        return await self.invoke_validated(self.args_model.model_validate(arguments))

    async def invoke_validated(self, args: BaseModel) -> Any:
        """Run with arguments already validated; sync code runs in one of the tool's threads,
        a returned generator comes back as a list."""
        return await self._invoke(args, None)

    async def invoke_rendered(self, args: BaseModel, render: Callable[[Any], R]) -> R:
        """Run, then ``render`` the value where the tool's own code runs: in its thread for
        sync code, so a slow ``__str__`` or a huge value never stalls the event loop, and
        within whatever time limit the caller puts on this coroutine."""
        return await self._invoke(args, render)

    async def _invoke(self, args: BaseModel, render: Callable[[Any], Any] | None) -> Any:
        slots = self.call_slots
        if self._runs_async():
            return await slots.run_task(lambda: self._settle_async(self._start(args), render))
        value = await slots.run_thread(lambda: self._settle_sync(self._start(args), render))
        if isinstance(value, _Pending):  # sync code returned an awaitable or async generator
            return await slots.run_task(lambda: self._settle_async(value.value, render))
        return value

    def _settle_sync(self, value: Any, render: Callable[[Any], Any] | None) -> Any:
        """In the tool's thread: read iterators, render."""
        if inspect.isawaitable(value) or isinstance(value, AsyncIterator):
            return _Pending(value)
        if _is_lazy(value):
            value = _read(value, self.max_items)
        return value if render is None else render(value)

    async def _settle_async(self, value: Any, render: Callable[[Any], Any] | None) -> Any:
        """In the tool's task: await, read async iterators; rendering goes to a thread."""
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, AsyncIterator):
            value = await _read_async(value, self.max_items)
        if render is None and not _is_lazy(value):
            return value
        if render is not None and _plain_data(value):
            return render(value)  # no tool code can run, and the size is bounded: stay here
        return await self.call_slots.run_thread(lambda: self._settle_sync(value, render))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionTool(Tool):
    """A tool made from a typed function by ``@tool``. Calling it calls the function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
        max_threads: int | None = None,
        max_items: int | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@tool needs a function, got {fn!r}")
        doc = parse_docstring(fn.__doc__)
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description if description is not None else doc.summary
        self.timeout = timeout
        self.requires_approval = requires_approval
        if max_threads is not None:
            self.max_threads = max_threads
        if max_items is not None:
            self.max_items = max_items
        self.Args = args_model_from_function(fn, self.name, doc.params)
        self._is_async = inspect.iscoroutinefunction(fn)
        self._check_definition()
        functools.update_wrapper(self, fn)

    def _kwargs(self, args: BaseModel) -> dict[str, Any]:
        # Attributes, not model_dump(): nested models reach the function as model instances.
        return {key: getattr(args, key) for key in type(args).model_fields}

    def run(self, args: Any) -> Any:
        return self.fn(**self._kwargs(args))

    def _runs_async(self) -> bool:
        return self._is_async

    def _start(self, args: BaseModel) -> Any:
        return self.fn(**self._kwargs(args))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


class _Pending:
    """What sync code returned that must be finished on the event loop."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _plain_data(value: Any, budget: int = 1000) -> bool:
    """Whether ``value`` is at most ``budget`` nodes of built-in JSON types (exact types, so no
    subclass method can run while it is written)."""
    pending = [value]
    for _ in range(budget):
        if not pending:
            return True
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            pending.extend(item.keys())
            pending.extend(item.values())
        elif kind is list or kind is tuple:
            pending.extend(item)
        elif kind not in _PLAIN:
            return False
    return not pending


def _is_lazy(value: Any) -> bool:
    """Generators and other one-shot iterators, whose text would be useless; not files."""
    return isinstance(value, Iterator) and not isinstance(value, io.IOBase)


def _read(items: Iterator[Any], limit: int) -> list[Any]:
    out: list[Any] = []
    try:
        for item in items:
            if len(out) == limit:
                return PartialItems(out, limit)
            out.append(item)
    finally:
        if inspect.isgenerator(items):
            items.close()  # runs the generator's cleanup when it was not read to the end
    return out


async def _read_async(items: AsyncIterator[Any], limit: int) -> list[Any]:
    out: list[Any] = []
    try:
        async for item in items:
            if len(out) == limit:
                return PartialItems(out, limit)
            out.append(item)
    finally:
        if inspect.isasyncgen(items):
            await items.aclose()
    return out


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    max_threads: int | None = None,
    max_items: int | None = None,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    max_threads: int | None = None,
    max_items: int | None = None,
) -> Any:
    """Make a tool from a typed function: ``@tool`` or ``@tool(name=..., timeout=...)``.

    The name comes from the function, the description from the docstring's summary, and each
    argument's description from the docstring's ``Args:`` / ``:param x:`` entries.
    ``max_threads`` and ``max_items`` default to ``Tool``'s (see there).
    """

    def wrap(function: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            function,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            max_threads=max_threads,
            max_items=max_items,
        )

    return wrap(fn) if fn is not None else wrap


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A ``Tool`` as is; a plain function wrapped as by ``@tool``."""
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, type) and issubclass(obj, Tool):
        raise TypeError(f"{obj.__name__} is a Tool class; register an instance: {obj.__name__}()")
    return FunctionTool(obj)
