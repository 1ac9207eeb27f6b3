"""Tools: ``@tool`` and ``Tool``, argument schemas, the registry that validates and runs calls."""

from hanlin.tools.registry import ToolRegistry, ToolResult, format_result, truncate
from hanlin.tools.schema import (
    DocInfo,
    args_model_from_function,
    describe_schema,
    flat_json_schema,
    parse_docstring,
)
from hanlin.tools.tool import FunctionTool, NoArgs, Tool, as_tool, tool
from hanlin.tools.toolkit import Toolkit

__all__ = [
    "DocInfo",
    "FunctionTool",
    "NoArgs",
    "Tool",
    "ToolRegistry",
    "ToolResult",
    "Toolkit",
    "args_model_from_function",
    "as_tool",
    "describe_schema",
    "flat_json_schema",
    "format_result",
    "parse_docstring",
    "tool",
    "truncate",
]
