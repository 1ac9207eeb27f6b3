"""Tools that ship with hanlin, and the toolkits that group them."""

from hanlin.tools.builtin.calculator import CalculatorError, calculator
from hanlin.tools.builtin.http_get import HostAllowList, HttpGet, HttpGetError
from hanlin.tools.builtin.python_tool import (
    PythonTool,
    SandboxUnavailable,
    SandboxWorkspace,
    ShellTool,
)
from hanlin.tools.builtin.scratch_files import ScratchFileError, ScratchFiles
from hanlin.tools.toolkit import Toolkit

MATH = Toolkit("math", [calculator], description="Exact arithmetic.")

__all__ = [
    "MATH",
    "CalculatorError",
    "HostAllowList",
    "HttpGet",
    "HttpGetError",
    "PythonTool",
    "SandboxUnavailable",
    "SandboxWorkspace",
    "ScratchFileError",
    "ScratchFiles",
    "ShellTool",
    "calculator",
]
