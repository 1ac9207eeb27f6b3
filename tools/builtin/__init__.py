"""Tools that ship with hanlin, and the toolkits that group them."""

from hanlin.tools.builtin.calculator import CalculatorError, calculator
from hanlin.tools.toolkit import Toolkit

MATH = Toolkit("math", [calculator], description="Exact arithmetic.")

__all__ = ["MATH", "CalculatorError", "calculator"]
