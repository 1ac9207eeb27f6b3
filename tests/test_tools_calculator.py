"""The calculator: exact results for what models write, quick refusals for everything else."""

from __future__ import annotations

import time

import pytest

from hanlin.llm.messages import ToolCall
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import CalculatorError, calculator
from hanlin.tools.builtin.calculator import evaluate, format_number

RESULTS = [
    ("1 + 2", "3"),
    ("2 * (3 + 4)", "14"),
    ("-(3 + 4) * 2", "-14"),
    ("+5", "5"),
    ("10 / 4", "2.5"),
    ("10 / 2", "5"),
    ("2 / 3", "0.666666666667"),
    ("0.1 + 0.2", "0.3"),
    ("7 // 2", "3"),
    ("-7 // 2", "-4"),
    ("7 % 3", "1"),
    ("2 ** 10", "1024"),
    ("2 ^ 10", "1024"),
    ("2 ** -2", "0.25"),
    ("2 ** 0.5", "1.41421356237"),
    ("2 ** 100", "1267650600228229401496703205376"),
    ("123456789 * 987654321", "121932631112635269"),
    ("3 × 4 ÷ 2", "6"),
    ("1,000,000 / 4", "250000"),
    ("1,234 + 1", "1235"),
    ("12 * 12 =", "144"),
    ("5 − 3", "2"),
    ("1_000 + 1", "1001"),
    ("sqrt(16)", "4"),
    ("sqrt(2)", "1.41421356237"),
    ("abs(-5)", "5"),
    ("round(2.567, 2)", "2.57"),
    ("round(2.4)", "2"),
    ("floor(2.7)", "2"),
    ("ceil(2.1)", "3"),
    ("log(e)", "1"),
    ("ln(e ** 2)", "2"),
    ("log(8, 2)", "3"),
    ("log10(1000)", "3"),
    ("exp(0)", "1"),
    ("sin(pi / 2)", "1"),
    ("cos(0)", "1"),
    ("tan(0)", "0"),
    ("pi", "3.14159265359"),
    ("-0.0", "0"),
    ("1e20", "1e+20"),
    ("2 ** 4095 // 2 ** 4094", "2"),
]


@pytest.mark.parametrize(("expression", "expected"), RESULTS)
def test_results_are_exact(expression: str, expected: str) -> None:
    assert calculator(expression) == expected


ATTACKS = [
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__('os').system('id')", "only the listed functions can be called"),
    ("().__class__", "attribute access is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "only the listed functions"),
    ("sqrt.__globals__", "attribute access is not allowed"),
    ("9**9**9", "too large to compute"),
    ("10**10**10", "too large to compute"),
    ("2**10000", "too large to compute"),
    ("(2**4000) * (2**4000)", "more than 4096 bits"),
    ("2.0 ** 100000", "too large"),
    ("exp(1000)", "exp(1000) is too large"),
    ("1e308 * 10", "not a finite number"),
    ("'a' * 10", "only numbers are allowed, not 'a'"),
    ("b'1'", "only numbers are allowed"),
    ("1j", "only numbers are allowed"),
    ("True + 1", "only numbers are allowed, not True"),
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda: 1)()", "only the listed functions can be called"),
    ("x", "unknown name 'x'"),
    ("os", "unknown name 'os'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("sqrt", "sqrt is a function"),
    ("[1] * 10**9", "lists is not allowed"),
    ("{}", "dicts is not allowed"),
    ("1 if 1 else 2", "if/else is not allowed"),
    ("1 < 2", "comparisons is not allowed"),
    ("f'{1}'", "strings is not allowed"),
    ("import os", "cannot read"),
    ("1; 2", "cannot read"),
    ("2 << 1000", "the operator << is not allowed"),
    ("round(1.5, ndigits=2)", "takes plain positional numbers"),
    ("sqrt(*[4])", "takes plain positional numbers"),
    ("sqrt(1, 2)", "sqrt() takes 1 argument(s), got 2"),
    ("1 +", "cannot read"),
    ("", "the expression is empty"),
    ("1+" * 300 + "1", "longer than 500 characters"),
    ("1+" * 240 + "1", "more than 200 parts"),
]


@pytest.mark.parametrize(("expression", "message"), ATTACKS)
def test_attacks_are_rejected_quickly(expression: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculatorError) as caught:
        calculator(expression)
    # Refused before any arithmetic: "2 ** 10 ** 10" would run for minutes. The bound only
    # catches that; a loaded CI machine once took 0.55 s for "{}", so speed is not asserted.
    assert time.perf_counter() - started < 5.0
    assert message in str(caught.value)


MATH_ERRORS = [
    ("1 / 0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("sqrt(-4)", "sqrt(-4) is undefined"),
    ("log(0)", "log(0) is undefined"),
    ("(-8) ** (1/3)", "(-8)**0.333333333333 is not a real number"),
]


@pytest.mark.parametrize(("expression", "message"), MATH_ERRORS)
def test_math_errors_are_clear(expression: str, message: str) -> None:
    with pytest.raises(
        CalculatorError,
        match=r"^" + message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*") + "$",
    ):
        evaluate(expression)


def test_syntax_errors_list_what_is_allowed() -> None:
    with pytest.raises(CalculatorError) as caught:
        calculator("factorial(5)")
    assert "Allowed: numbers, + - * / // % ** (or ^)" in str(caught.value)
    assert "sqrt" in str(caught.value) and "pi, e" in str(caught.value)


def test_number_formatting() -> None:
    assert format_number(10**30) == "1000000000000000000000000000000"
    assert format_number(4.0) == "4"
    assert format_number(-0.0) == "0"
    assert format_number(1 / 7) == "0.142857142857"
    assert evaluate("2 ** 3") == 8 and isinstance(evaluate("2 ** 3"), int)


async def test_calculator_through_the_registry() -> None:
    registry = ToolRegistry([calculator])
    spec = registry.specs()[0]
    assert spec.name == "calculator"
    assert spec.parameters["required"] == ["expression"]
    assert spec.parameters["properties"]["expression"]["type"] == "string"
    ok, bad, attack = await registry.execute_many(
        [
            ToolCall(id="1", name="calculator", arguments={"expression": "1,000 × 3 ="}),
            ToolCall(id="2", name="calculator", arguments={"expression": "1/0"}),
            ToolCall(id="3", name="calculator", arguments={"expression": "().__class__"}),
        ]
    )
    assert ok.content == "3000" and not ok.is_error
    assert bad.error is not None and bad.error.kind is ToolErrorKind.INVALID_VALUE
    assert bad.content == (
        "Error (invalid_value): calculator failed: CalculatorError: division by zero"
    )
    assert attack.is_error and "attribute access is not allowed" in attack.content
    assert attack.error is not None and attack.error.kind is ToolErrorKind.INVALID_VALUE


def test_trailing_comma_and_schema_pattern_for_constrained_decoding() -> None:
    import re as _re

    from hanlin.tools.builtin.calculator import EXPRESSION_PATTERN

    assert calculator.fn(expression="14 + 81 * 34,") == "2768"
    assert calculator.spec.parameters["properties"]["expression"]["pattern"] == EXPRESSION_PATTERN
    assert _re.fullmatch(EXPRESSION_PATTERN, "sqrt(2) / 2 × 1,000")
    assert not _re.fullmatch(EXPRESSION_PATTERN, "7 + 35 * 67}}\n</tool_call>")
