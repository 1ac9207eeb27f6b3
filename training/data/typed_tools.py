"""Calculation tools whose parameters span JSON's types: integers, floats, booleans, enums,
arrays and optional values.

The service catalogue mostly takes strings; function-calling benchmarks and real APIs also
ask for numbers of the right kind, lists, flags and defaults a caller may leave out. These
tools compute their answers (no tables), so every well-formed call succeeds and a call of
the wrong shape gets the registry's real error text.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Literal

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import tool

Measure = Literal["mean", "median", "min", "max", "sum", "stdev"]
Shape = Literal["circle", "square", "rectangle", "triangle"]


@tool
def calculate_loan_payment(
    principal: float, annual_rate_percent: float, years: int, payments_per_year: int = 12
) -> dict[str, Any]:
    """The fixed instalment that repays a loan with interest (an annuity).

    Args:
        principal: Amount borrowed.
        annual_rate_percent: Yearly interest rate in percent, e.g. 4.5.
        years: Length of the loan in years.
        payments_per_year: Instalments per year; 12 for monthly.
    """
    if years < 1 or payments_per_year < 1:
        raise ToolFailure(
            "years and payments_per_year must be positive", ToolErrorKind.INVALID_VALUE
        )
    count = years * payments_per_year
    rate = annual_rate_percent / 100 / payments_per_year
    payment = principal / count if rate == 0 else principal * rate / (1 - (1 + rate) ** -count)
    return {
        "payment": round(payment, 2),
        "payments": count,
        "total_interest": round(payment * count - principal, 2),
    }


@tool
def calculate_compound_interest(
    principal: float, rate_percent: float, years: int, compounds_per_year: int = 1
) -> dict[str, Any]:
    """What a deposit grows to when interest is added to it periodically.

    Args:
        principal: Amount deposited.
        rate_percent: Yearly interest rate in percent.
        years: Number of years the money stays invested.
        compounds_per_year: How often interest is added per year.
    """
    if compounds_per_year < 1:
        raise ToolFailure("compounds_per_year must be at least 1", ToolErrorKind.INVALID_VALUE)
    final = principal * (1 + rate_percent / 100 / compounds_per_year) ** (
        compounds_per_year * years
    )
    return {"final_amount": round(final, 2), "interest": round(final - principal, 2)}


@tool
def split_bill(
    total: float, people: int, tip_percent: float = 0.0, round_up: bool = False
) -> dict[str, Any]:
    """Share a bill, tip included, between several people.

    Args:
        total: Amount on the bill before the tip.
        people: Number of people paying.
        tip_percent: Tip to add, in percent of the total.
        round_up: Round each share up to a whole unit of money.
    """
    if people < 1:
        raise ToolFailure("people must be at least 1", ToolErrorKind.INVALID_VALUE)
    with_tip = total * (1 + tip_percent / 100)
    share = math.ceil(with_tip / people) if round_up else round(with_tip / people, 2)
    return {"total_with_tip": round(with_tip, 2), "per_person": share}


@tool
def sort_numbers(numbers: list[float], descending: bool = False) -> dict[str, Any]:
    """Sort a list of numbers.

    Args:
        numbers: The numbers to sort.
        descending: Largest first instead of smallest first.
    """
    return {"sorted": sorted(numbers, reverse=descending)}


@tool
def describe_numbers(values: list[float], measures: list[Measure]) -> dict[str, Any]:
    """Summary statistics of a list of numbers.

    Args:
        values: The data points.
        measures: Which statistics to compute.
    """
    if not values:
        raise ToolFailure("values must not be empty", ToolErrorKind.INVALID_VALUE)
    compute = {
        "mean": statistics.fmean,
        "median": statistics.median,
        "min": min,
        "max": max,
        "sum": math.fsum,
        "stdev": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0,
    }
    return {m: round(float(compute[m](values)), 3) for m in measures}


@tool
def weighted_average(scores: list[float], weights: list[float] | None = None) -> dict[str, Any]:
    """The average of scores, each counted by its weight (equal weights if none are given).

    Args:
        scores: The scores to average.
        weights: One weight per score.
    """
    weights = weights or [1.0] * len(scores)
    if len(weights) != len(scores) or not scores or sum(weights) == 0:
        raise ToolFailure(
            "give one weight per score, with a non-zero sum", ToolErrorKind.INVALID_VALUE
        )
    value = sum(s * w for s, w in zip(scores, weights, strict=True)) / sum(weights)
    return {"average": round(value, 3), "count": len(scores)}


@tool
def greatest_common_divisor(numbers: list[int]) -> dict[str, Any]:
    """The largest whole number that divides every given number.

    Args:
        numbers: Two or more whole numbers.
    """
    if len(numbers) < 2:
        raise ToolFailure("give at least two numbers", ToolErrorKind.INVALID_VALUE)
    return {"gcd": math.gcd(*numbers)}


@tool
def check_prime(number: int) -> dict[str, Any]:
    """Whether a whole number is prime, with its smallest divisor if it is not.

    Args:
        number: The number to test.
    """
    if number < 2:
        return {"number": number, "prime": False, "smallest_divisor": None}
    divisor = next((d for d in range(2, math.isqrt(number) + 1) if number % d == 0), None)
    return {"number": number, "prime": divisor is None, "smallest_divisor": divisor}


@tool
def solve_quadratic(a: float, b: float, c: float) -> dict[str, Any]:
    """Real roots of a*x^2 + b*x + c = 0.

    Args:
        a: Coefficient of x squared (not zero).
        b: Coefficient of x.
        c: Constant term.
    """
    if a == 0:
        raise ToolFailure("a must not be zero", ToolErrorKind.INVALID_VALUE)
    disc = b * b - 4 * a * c
    if disc < 0:
        return {"roots": [], "discriminant": disc}
    root = math.sqrt(disc)
    return {
        "roots": sorted({round((-b - root) / (2 * a), 4), round((-b + root) / (2 * a), 4)}),
        "discriminant": disc,
    }


@tool
def shape_area(shape: Shape, size: float, height: float | None = None) -> dict[str, Any]:
    """Area of a simple flat shape.

    Args:
        shape: Which shape.
        size: Radius of a circle, side of a square, width of a rectangle or base of a triangle.
        height: Height of a rectangle or triangle (not used for circles and squares).
    """
    if shape in ("rectangle", "triangle") and height is None:
        raise ToolFailure(f"a {shape} needs a height", ToolErrorKind.MISSING_PARAMETER)
    area = {
        "circle": math.pi * size**2,
        "square": size**2,
        "rectangle": size * (height or 0.0),
        "triangle": size * (height or 0.0) / 2,
    }[shape]
    return {"shape": shape, "area": round(area, 3)}


@tool
def kinetic_energy(mass_kg: float, speed_m_s: float) -> dict[str, Any]:
    """Kinetic energy of a moving body, in joules.

    Args:
        mass_kg: Mass in kilograms.
        speed_m_s: Speed in metres per second.
    """
    return {"joules": round(0.5 * mass_kg * speed_m_s**2, 3)}


@tool
def generate_password(
    length: int, include_digits: bool = True, include_symbols: bool = False
) -> dict[str, Any]:
    """A reproducible example password of the requested shape.

    Args:
        length: Number of characters, 8 to 64.
        include_digits: Mix digits in.
        include_symbols: Mix punctuation symbols in.
    """
    if not 8 <= length <= 64:
        raise ToolFailure(f"length must be 8 to 64, got {length}", ToolErrorKind.INVALID_VALUE)
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    alphabet += "23456789" if include_digits else ""
    alphabet += "!#%&*+?@" if include_symbols else ""
    password = "".join(alphabet[(i * 7 + length * 13) % len(alphabet)] for i in range(length))
    return {"password": password, "length": length}


@tool
def days_between(start_date: str, end_date: str, include_end: bool = False) -> dict[str, Any]:
    """Number of days from one date to another.

    Args:
        start_date: First date as YYYY-MM-DD.
        end_date: Last date as YYYY-MM-DD.
        include_end: Count the last day too.
    """
    import datetime

    try:
        start = datetime.date.fromisoformat(start_date)
        end = datetime.date.fromisoformat(end_date)
    except ValueError:
        raise ToolFailure("dates must look like 2025-03-14", ToolErrorKind.INVALID_VALUE) from None
    return {"days": (end - start).days + (1 if include_end else 0)}


MATH_TOOLS = (
    calculate_loan_payment,
    calculate_compound_interest,
    split_bill,
    sort_numbers,
    describe_numbers,
    weighted_average,
    greatest_common_divisor,
    check_prime,
    solve_quadratic,
    shape_area,
    kinetic_energy,
    generate_password,
    days_between,
)
