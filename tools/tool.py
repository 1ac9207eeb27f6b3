"""Tools: ``Tool`` for configurable tools, ``@tool`` to turn a typed function into one.

Both give the registry the same surface: ``name``, ``spec`` (what the model sees),
``args_model`` (what validates the model's arguments), ``timeout``, ``requires_approval``
and ``invoke``. Sync code runs in a worker thread so a slow tool never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, overload

from pydantic import BaseModel, ConfigDict

from hanlin.llm.chat_model import ToolSpec
from hanlin.tools.schema import args_model_from_function, flat_json_schema, parse_docstring

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
    ``timeout`` of ``None`` means the registry's default applies.
    """

    name: str = ""
    description: str = ""
    Args: type[BaseModel] = NoArgs
    timeout: float | None = None
    requires_approval: bool = False

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
        return ToolSpec(name=self.name, description=self.description,
                        parameters=flat_json_schema(self.args_model))

    def _check_definition(self) -> None:
        if not _VALID_NAME.match(self.name or ""):
            raise ValueError(f"invalid tool name {self.name!r}: use 1-64 letters, digits, "
                             "'_' or '-' (the OpenAI function-name rule)")
        if not (isinstance(self.args_model, type) and issubclass(self.args_model, BaseModel)):
            raise TypeError(f"tool {self.name!r}: Args must be a pydantic BaseModel subclass")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"tool {self.name!r}: timeout must be positive, got {self.timeout}")

    @abstractmethod
    def run(self, args: Any) -> Any:
        """Do the work with validated arguments. May be ``async def``."""

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        """Validate ``arguments`` and run. Raises ``pydantic.ValidationError`` on bad input."""
        return await self.invoke_validated(self.args_model.model_validate(arguments))

    async def invoke_validated(self, args: BaseModel) -> Any:
        """Run with arguments already validated; sync ``run`` goes to a worker thread."""
        if inspect.iscoroutinefunction(self.run):
            return await self.run(args)
        result = await asyncio.to_thread(self.run, args)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionTool(Tool):
    """A tool made from a typed function by ``@tool``. Calling it calls the function."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None,
                 description: str | None = None, timeout: float | None = None,
                 requires_approval: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"@tool needs a function, got {fn!r}")
        doc = parse_docstring(fn.__doc__)
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description if description is not None else doc.summary
        self.timeout = timeout
        self.requires_approval = requires_approval
        self.Args = args_model_from_function(fn, self.name, doc.params)
        self._is_async = inspect.iscoroutinefunction(fn)
        self._check_definition()
        functools.update_wrapper(self, fn)

    def _kwargs(self, args: BaseModel) -> dict[str, Any]:
        # Attributes, not model_dump(): nested models reach the function as model instances.
        return {key: getattr(args, key) for key in type(args).model_fields}

    def run(self, args: Any) -> Any:
        return self.fn(**self._kwargs(args))

    async def invoke_validated(self, args: BaseModel) -> Any:
        kwargs = self._kwargs(args)
        if self._is_async:
            return await self.fn(**kwargs)
        result = await asyncio.to_thread(self.fn, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(*, name: str | None = None, description: str | None = None,
         timeout: float | None = None,
         requires_approval: bool = False) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None, timeout: float | None = None,
         requires_approval: bool = False) -> Any:
    """Make a tool from a typed function: ``@tool`` or ``@tool(name=..., timeout=...)``.

    The name comes from the function, the description from the docstring's summary, and each
    argument's description from the docstring's ``Args:`` / ``:param x:`` entries.
    """

    def wrap(function: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(function, name=name, description=description, timeout=timeout,
                            requires_approval=requires_approval)

    return wrap(fn) if fn is not None else wrap


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A ``Tool`` as is; a plain function wrapped as by ``@tool``."""
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, type) and issubclass(obj, Tool):
        raise TypeError(f"{obj.__name__} is a Tool class; register an instance: {obj.__name__}()")
    return FunctionTool(obj)
