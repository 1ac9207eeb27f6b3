"""A calculator models can trust: exact integer arithmetic, no ``eval``.

The expression's syntax tree is walked node by node and only numbers, arithmetic operators,
parentheses and a short list of math functions and constants are allowed. Sizes are checked
before they are computed, so ``9**9**9`` is refused at once instead of hanging the worker.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import Field

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import tool

Number = int | float

MAX_EXPRESSION_CHARS = 500
MAX_RESULT_BITS = 4096  # about 1,233 decimal digits
MAX_NODES = 200


class CalculatorError(ToolFailure, ValueError):
    """The expression is not allowed or has no finite real value; the message says why."""

    kind = ToolErrorKind.INVALID_VALUE


class UnsupportedExpression(CalculatorError):
    """The expression uses something outside the calculator's small language."""


def _round(x: Number, digits: int = 0) -> Number:
    return round(x, digits) if digits else round(x)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


# name -> (function, smallest and largest number of arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (math.sqrt, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "log": (_log, 1, 2),
    "ln": (math.log, 1, 1),
    "log10": (math.log10, 1, 1),
    "exp": (math.exp, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_ALLOWED = (
    f"numbers, + - * / // % ** (or ^), parentheses, the functions "
    f"{', '.join(FUNCTIONS)} and the constants {', '.join(CONSTANTS)}"
)

_NODE_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "strings",
    ast.NamedExpr: "assignment",
}

_THOUSANDS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d])")


def normalize(expression: str) -> str:
    """Accept what models commonly write: ×, ÷, ^, 1,000 and a trailing '=' or ','."""
    text = expression.strip()
    for old, new in (("×", "*"), ("·", "*"), ("÷", "/"), ("−", "-"), ("^", "**")):
        text = text.replace(old, new)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    return text.rstrip().rstrip("=,;").rstrip()


def _check_size(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_BITS:
        raise CalculatorError(
            f"the result has more than {MAX_RESULT_BITS} bits "
            f"(about {int(MAX_RESULT_BITS * 0.30103)} digits); too large"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("the result is not a finite number")
    return value


def _operand(value: Number) -> str:
    text = format_number(value)
    return f"({text})" if value < 0 else text


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if abs(base) > 1 and exponent * (abs(base).bit_length() - 1) > MAX_RESULT_BITS:
            raise CalculatorError(f"{_operand(base)}**{exponent} is too large to compute")
        return base**exponent
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    try:
        return math.pow(base, exponent)
    except ValueError:
        raise CalculatorError(
            f"{_operand(base)}**{_operand(exponent)} is not a real number"
        ) from None


def _binary(op: ast.operator, left: Number, right: Number) -> Number:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div):
        return left / right
    if isinstance(op, ast.FloorDiv):
        return left // right
    if isinstance(op, ast.Mod):
        return left % right
    if isinstance(op, ast.Pow):
        return _power(left, right)
    symbol = {
        ast.BitXor: "^ (use ** or ^ for powers)",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.MatMult: "@",
    }.get(type(op), type(op).__name__)
    raise UnsupportedExpression(f"the operator {symbol} is not allowed")


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise UnsupportedExpression(f"only numbers are allowed, not {node.value!r}")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        return _check_size(_binary(node.op, _evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise UnsupportedExpression(f"{node.id} is a function; call it, e.g. {node.id}(2)")
        raise UnsupportedExpression(f"unknown name {node.id!r}")
    if isinstance(node, ast.Call):
        return _call(node)
    what = _NODE_NAMES.get(type(node), type(node).__name__)
    raise UnsupportedExpression(f"{what} is not allowed")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise UnsupportedExpression("only the listed functions can be called")
    name = node.func.id
    if name not in FUNCTIONS:
        raise UnsupportedExpression(f"unknown function {name!r}")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise UnsupportedExpression(f"{name}() takes plain positional numbers")
    function, fewest, most = FUNCTIONS[name]
    if not fewest <= len(node.args) <= most:
        count = str(fewest) if fewest == most else f"{fewest} or {most}"
        raise CalculatorError(f"{name}() takes {count} argument(s), got {len(node.args)}")
    args = [_evaluate(a) for a in node.args]
    if name == "round" and len(args) == 2 and not isinstance(args[1], int):
        raise CalculatorError("round()'s second argument must be a whole number")
    try:
        return _check_size(function(*args))
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, CalculatorError):
            raise
        shown = ", ".join(format_number(a) for a in args)
        reason = "too large" if isinstance(exc, OverflowError) else "undefined"
        raise CalculatorError(f"{name}({shown}) is {reason}") from None


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression, or ``CalculatorError`` saying what is wrong."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = normalize(expression)
    if not text:
        raise CalculatorError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise UnsupportedExpression(f"cannot read {text!r} as arithmetic ({detail})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError(f"the expression has more than {MAX_NODES} parts")
    try:
        return _evaluate(tree)
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("the result is too large") from None
    except RecursionError:
        raise CalculatorError("the expression is nested too deeply") from None


def format_number(value: Number) -> str:
    """Integers exactly; floats to 12 significant digits, without a trailing '.0'."""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    return f"{value:.12g}"


# The characters an expression may use. Only in the schema the model sees (not enforced at
# validation: the calculator's own errors say more), so constrained decoding (a grammar on
# local models) keeps a weak model from running on past the end of the expression.
EXPRESSION_PATTERN = r"^[0-9a-z +\-*/%^().,×÷·−=]+$"


@tool
def calculator(
    expression: Annotated[str, Field(json_schema_extra={"pattern": EXPRESSION_PATTERN})],
) -> str:
    """Evaluate an arithmetic expression exactly, e.g. "(3 + 4) * 2" or "sqrt(2) / 2".

    Args:
        expression: Numbers, + - * / // % ** (or ^), parentheses, sqrt, sin, cos, tan,
            log, ln, log10, exp, abs, round, floor, ceil, pi and e.
    """
    try:
        return format_number(evaluate(expression))
    except UnsupportedExpression as exc:
        raise UnsupportedExpression(f"{exc}. Allowed: {_ALLOWED}.") from None
