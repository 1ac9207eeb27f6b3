"""Requests for the calculation tools in ``typed_tools``: numbers of both kinds, lists,
flags and optional parameters that some phrasings state and others leave to the default.

A phrasing that mentions an optional parameter (``{key}``, or ``{key_text}`` for a list
written out in words) or fixes it (a flag the wording implies) puts it in the gold call;
the other phrasings of the same task omit it, so the data holds both.
"""

from __future__ import annotations

from random import Random
from typing import Any

from hanlin.training.data.query_templates import DATES, Results, Slots, Step, Task, wordings


def spoken(items: list[Any]) -> str:
    """``[3, 8, 1]`` as "3, 8 and 1": how a person lists values in a sentence."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _numbers(rng: Random, count: tuple[int, int] = (4, 7)) -> list[float]:
    values = [rng.choice([rng.randint(-20, 120), round(rng.uniform(0, 100), 1)])]
    values += [rng.randint(1, 99) for _ in range(rng.randint(*count) - 1)]
    rng.shuffle(values)
    return values


def _loan(rng: Random) -> Slots:
    return {
        "principal": rng.choice([5000, 12000, 25000, 180000, 320000]),
        "annual_rate_percent": rng.choice([2.5, 3.9, 4.5, 6.0, 7.25]),
        "years": rng.choice([3, 5, 10, 15, 25, 30]),
        "payments_per_year": rng.choice([4, 26, 52]),
    }


def _deposit(rng: Random) -> Slots:
    return {
        "principal": rng.choice([1000, 2500, 10000, 40000]),
        "rate_percent": rng.choice([1.5, 2.0, 3.25, 5.0]),
        "years": rng.randint(2, 20),
        "compounds_per_year": rng.choice([2, 4, 12, 365]),
    }


def _bill(rng: Random) -> Slots:
    return {
        "total": rng.choice([48.6, 87.0, 132.4, 215.0, 64.9]),
        "people": rng.randint(2, 8),
        "tip_percent": rng.choice([10, 12.5, 15, 18, 20]),
    }


def _values(rng: Random) -> Slots:
    numbers = _numbers(rng)
    return {"numbers": numbers, "numbers_text": spoken(numbers)}


def _stats(rng: Random) -> Slots:
    values = _numbers(rng)
    measures = rng.sample(["mean", "median", "min", "max", "sum", "stdev"], rng.randint(1, 3))
    return {
        "values": values,
        "values_text": spoken(values),
        "measures": measures,
        "measures_text": spoken(["standard deviation" if m == "stdev" else m for m in measures]),
    }


def _grades(rng: Random) -> Slots:
    scores = [rng.randint(55, 100) for _ in range(rng.randint(3, 5))]
    weights = [rng.choice([1, 2, 3, 0.5]) for _ in scores]
    return {
        "scores": scores,
        "scores_text": spoken(scores),
        "weights": weights,
        "weights_text": spoken(weights),
    }


def _gcd(rng: Random) -> Slots:
    base = rng.choice([2, 3, 4, 6, 7, 9, 12, 15])
    numbers = [base * rng.randint(2, 30) for _ in range(rng.randint(2, 4))]
    return {"numbers": numbers, "numbers_text": spoken(numbers)}


def _quadratic(rng: Random) -> Slots:
    r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
    a = rng.choice([1, 1, 2, -1])
    return {"a": a, "b": -a * (r1 + r2), "c": a * r1 * r2}


def _shape(rng: Random) -> Slots:
    shape = rng.choice(["circle", "square", "rectangle", "triangle"])
    size, height = rng.choice([2, 3.5, 4, 7.5, 10, 12]), rng.choice([3, 5, 6.5, 9])
    dims = {
        "circle": f"radius {size}",
        "square": f"side {size}",
        "rectangle": f"width {size} and height {height}",
        "triangle": f"base {size} and height {height}",
    }[shape]
    return {"shape": shape, "size": size, "height": height, "dims_text": dims}


def _area_arguments(slots: Slots, results: Results) -> dict[str, Any]:
    needs_height = slots["shape"] in ("rectangle", "triangle")
    return {"shape": slots["shape"], "size": slots["size"]} | (
        {"height": slots["height"]} if needs_height else {}
    )


def _dates(rng: Random) -> Slots:
    start, end = sorted(rng.sample(DATES, 2))
    return {"start_date": start, "end_date": end}


def _listed(result: dict[str, Any]) -> str:
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in result.items())


MATH = [
    Task(
        "typed.loan_payment",
        "single",
        wordings(
            "What would the monthly payment be on a {principal} loan at {annual_rate_percent}% "
            "over {years} years?",
            "I borrow {principal} for {years} years at {annual_rate_percent} percent a year. "
            "How much is each instalment?",
            "Work out the instalment for {principal} borrowed over {years} years at "
            "{annual_rate_percent}% interest, paid {payments_per_year} times a year.",
            "Loan of {principal}, {annual_rate_percent}% yearly rate, {years} years, "
            "{payments_per_year} payments per year: what is each payment?",
        ),
        _loan,
        (Step("calculate_loan_payment"),),
        "Each payment is {r[0][payment]}, over {r[0][payments]} payments, "
        "with {r[0][total_interest]} paid in interest in total.",
    ),
    Task(
        "typed.compound_interest",
        "single",
        wordings(
            "If I put {principal} in a savings account at {rate_percent}% for {years} years, "
            "what will I have?",
            "How much does {principal} grow to in {years} years at {rate_percent} percent "
            "compounded {compounds_per_year} times a year?",
            "Compound interest on {principal} at {rate_percent}% over {years} years, please.",
            "Deposit {principal}, rate {rate_percent}%, interest added {compounds_per_year} "
            "times yearly, {years} years: final balance?",
        ),
        _deposit,
        (Step("calculate_compound_interest"),),
        "It grows to {r[0][final_amount]}, of which {r[0][interest]} is interest.",
    ),
    Task(
        "typed.split_bill",
        "single",
        wordings(
            "Split a bill of {total} between {people} people.",
            "The dinner came to {total}; we are {people} and want to tip {tip_percent}%. "
            "How much each?",
            (
                "Divide {total} among {people} friends with a {tip_percent}% tip and round each "
                "share up.",
                {"round_up": True},
            ),
            "We owe {total} in total for {people} of us. What is each person's share?",
        ),
        _bill,
        (Step("split_bill"),),
        "With the tip the total is {r[0][total_with_tip]}, so each person pays {r[0][per_person]}.",
    ),
    Task(
        "typed.sort_numbers",
        "single",
        wordings(
            "Sort these numbers: {numbers_text}.",
            ("Put {numbers_text} in order from largest to smallest.", {"descending": True}),
            "Arrange {numbers_text} in ascending order.",
            ("Rank the values {numbers_text}, biggest first.", {"descending": True}),
        ),
        _values,
        (Step("sort_numbers"),),
        lambda s, r: "In order: " + ", ".join(str(n) for n in r[0]["sorted"]) + ".",
    ),
    Task(
        "typed.describe_numbers",
        "single",
        wordings(
            "Give me the {measures_text} of {values_text}.",
            "For the data {values_text}, compute the {measures_text}.",
            "What are the {measures_text} of these readings: {values_text}?",
            "I measured {values_text}. I need the {measures_text}.",
        ),
        _stats,
        (Step("describe_numbers"),),
        lambda s, r: _listed(r[0]).capitalize() + ".",
    ),
    Task(
        "typed.weighted_average",
        "single",
        wordings(
            "Average these scores: {scores_text}.",
            "My marks are {scores_text} with weights {weights_text}. What is my weighted average?",
            "Compute the mean of {scores_text}.",
            "Scores {scores_text}, weighted {weights_text} respectively: overall average?",
        ),
        _grades,
        (Step("weighted_average"),),
        "The average of the {r[0][count]} scores is {r[0][average]}.",
    ),
    Task(
        "typed.gcd",
        "single",
        wordings(
            "What is the greatest common divisor of {numbers_text}?",
            "Find the GCD of {numbers_text}.",
            "Largest number that divides {numbers_text} exactly?",
            "Compute the highest common factor of {numbers_text}.",
        ),
        _gcd,
        (Step("greatest_common_divisor"),),
        "The greatest common divisor is {r[0][gcd]}.",
    ),
    Task(
        "typed.check_prime",
        "single",
        wordings(
            "Is {number} a prime number?",
            "Check whether {number} is prime.",
            "Can {number} be divided by anything other than 1 and itself?",
            "Tell me if {number} is prime or composite.",
        ),
        lambda rng: {"number": rng.choice([rng.randint(2, 500), rng.choice([97, 211, 389, 463])])},
        (Step("check_prime"),),
        lambda s, r: (
            f"{r[0]['number']} is prime."
            if r[0]["prime"]
            else f"{r[0]['number']} is not prime: it is divisible by {r[0]['smallest_divisor']}."
        ),
    ),
    Task(
        "typed.quadratic",
        "single",
        wordings(
            "Solve {a}x^2 + {b}x + {c} = 0.",
            "Find the roots of the quadratic with a={a}, b={b}, c={c}.",
            "What values of x satisfy {a}*x**2 + {b}*x + {c} = 0?",
            "Quadratic equation, coefficients {a}, {b} and {c}: what are the solutions?",
        ),
        _quadratic,
        (Step("solve_quadratic"),),
        lambda s, r: (
            "The roots are " + spoken(r[0]["roots"]) + "."
            if r[0]["roots"]
            else "It has no real roots."
        ),
    ),
    Task(
        "typed.shape_area",
        "single",
        wordings(
            "What is the area of a {shape} with {dims_text}?",
            "Area of a {shape}, {dims_text}.",
            "Compute how much surface a {shape} with {dims_text} covers.",
            "I have a {shape} of {dims_text}. How big is its area?",
        ),
        _shape,
        (Step("shape_area", _area_arguments),),
        "The {r[0][shape]} has an area of {r[0][area]}.",
    ),
    Task(
        "typed.kinetic_energy",
        "single",
        wordings(
            "What is the kinetic energy of a {mass_kg} kg object moving at {speed_m_s} m/s?",
            "A car of {mass_kg} kg drives at {speed_m_s} metres per second; how much kinetic "
            "energy does it have?",
            "Kinetic energy for mass {mass_kg} kg and speed {speed_m_s} m/s?",
            "How many joules of motion energy does a {mass_kg} kilogram body at {speed_m_s} "
            "m/s carry?",
        ),
        lambda rng: {
            "mass_kg": rng.choice([0.5, 2, 12, 80, 1200, 1500]),
            "speed_m_s": rng.choice([3, 9.8, 15, 27.5, 40]),
        },
        (Step("kinetic_energy"),),
        "It carries {r[0][joules]} joules of kinetic energy.",
    ),
    Task(
        "typed.password",
        "single",
        wordings(
            "Make me a password of {length} characters.",
            (
                "Generate a {length}-character password with symbols in it.",
                {"include_symbols": True},
            ),
            (
                "I need a {length} character password using letters only, no digits.",
                {"include_digits": False},
            ),
            "Create a new password, {length} characters long.",
        ),
        lambda rng: {"length": rng.choice([8, 10, 12, 16, 20, 24, 32])},
        (Step("generate_password"),),
        "Here is a {r[0][length]}-character password: {r[0][password]}",
    ),
    Task(
        "typed.days_between",
        "single",
        wordings(
            "How many days are there from {start_date} to {end_date}?",
            (
                "Count the days from {start_date} through {end_date}, both days included.",
                {"include_end": True},
            ),
            "Number of days between {start_date} and {end_date}?",
            "How long is it, in days, from {start_date} until {end_date}?",
        ),
        _dates,
        (Step("days_between"),),
        "That is {r[0][days]} days.",
    ),
]

MATH_PARALLEL = [
    Task(
        "typed.parallel.primes",
        "parallel",
        wordings(
            "Are {number} and {number2} prime?",
            "Check both {number} and {number2} for primality.",
            "Which of {number} and {number2} is a prime number?",
            "Tell me whether {number} is prime, and whether {number2} is.",
        ),
        lambda rng: {"number": rng.randint(2, 300), "number2": rng.randint(301, 600)},
        (Step("check_prime", lambda s, r: [{"number": s["number"]}, {"number": s["number2"]}]),),
        lambda s, r: " ".join(
            f"{x['number']} is {'prime' if x['prime'] else 'not prime'}." for x in r[0]
        ),
    ),
    Task(
        "typed.parallel.energy",
        "parallel",
        wordings(
            "Compare the kinetic energy of {mass_kg} kg at {speed_m_s} m/s with "
            "{mass_kg2} kg at {speed_m_s2} m/s.",
            "Kinetic energies for two bodies: {mass_kg} kg moving {speed_m_s} m/s and "
            "{mass_kg2} kg moving {speed_m_s2} m/s.",
            "Which has more kinetic energy: {mass_kg} kg at {speed_m_s} m/s or {mass_kg2} kg "
            "at {speed_m_s2} m/s?",
            "Work out the motion energy of a {mass_kg} kg mass at {speed_m_s} m/s and of a "
            "{mass_kg2} kg mass at {speed_m_s2} m/s.",
        ),
        lambda rng: {
            "mass_kg": rng.choice([1, 5, 70]),
            "speed_m_s": rng.choice([2, 10, 30]),
            "mass_kg2": rng.choice([3, 20, 900]),
            "speed_m_s2": rng.choice([4, 8, 25]),
        },
        (
            Step(
                "kinetic_energy",
                lambda s, r: [
                    {"mass_kg": s["mass_kg"], "speed_m_s": s["speed_m_s"]},
                    {"mass_kg": s["mass_kg2"], "speed_m_s": s["speed_m_s2"]},
                ],
            ),
        ),
        lambda s, r: "The first carries {} J, the second {} J.".format(
            r[0][0]["joules"], r[0][1]["joules"]
        ),
    ),
]
