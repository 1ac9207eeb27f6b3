"""Hand-written call / no-call cases for setting a decision policy's threshold.

Written for hanlin, not taken from BFCL or any other benchmark, so that a threshold chosen
on them leaves BFCL a held-out test. Half of the no-call cases are near misses: a tool of
the same domain that still cannot answer the question.
"""

from __future__ import annotations

from typing import Any

from hanlin.llm.chat_model import ToolSpec


def _tool(name: str, description: str, **params: tuple[str, str]) -> ToolSpec:
    properties: dict[str, Any] = {
        key: {"type": kind, "description": text} for key, (kind, text) in params.items()
    }
    return ToolSpec(
        name=name,
        description=description,
        parameters={"type": "object", "properties": properties, "required": list(params)},
    )


WEATHER = _tool("get_weather", "Current weather for a city.", city=("string", "City name."))
CURRENCY = _tool(
    "convert_currency",
    "Convert an amount of money between currencies.",
    amount=("number", "Amount to convert."),
    source=("string", "Currency code to convert from, e.g. EUR."),
    target=("string", "Currency code to convert to, e.g. USD."),
)
EMAIL = _tool(
    "send_email",
    "Send an email.",
    to=("string", "Recipient address."),
    subject=("string", "Subject line."),
    body=("string", "Message text."),
)
FLIGHTS = _tool(
    "search_flights",
    "Search flights between two cities on a date.",
    origin=("string", "Departure city."),
    destination=("string", "Arrival city."),
    date=("string", "Date as YYYY-MM-DD."),
)
BMI = _tool(
    "compute_bmi",
    "Body mass index from weight and height.",
    weight_kg=("number", "Weight in kilograms."),
    height_m=("number", "Height in metres."),
)
TRANSLATE = _tool(
    "translate_text",
    "Translate text into another language.",
    text=("string", "Text to translate."),
    target_language=("string", "Language to translate into."),
)
STOCK = _tool("get_stock_price", "Latest price of a stock.", ticker=("string", "Ticker symbol."))
TIMER = _tool("set_timer", "Start a countdown timer.", minutes=("integer", "Length in minutes."))

# (question, tools offered, whether a call is the right reply)
CASES: list[tuple[str, list[ToolSpec], bool]] = [
    ("What's the weather like in Lisbon right now?", [WEATHER], True),
    ("Convert 250 euros to Japanese yen.", [CURRENCY], True),
    ("Email bob@example.com that the meeting moved to 3pm.", [EMAIL], True),
    ("Find flights from Boston to Denver on 2024-05-02.", [FLIGHTS, WEATHER], True),
    ("I weigh 70 kg and I am 1.75 m tall. What is my BMI?", [BMI], True),
    ("Translate 'good morning' into German.", [TRANSLATE], True),
    ("How much is one share of AAPL trading at?", [STOCK, CURRENCY], True),
    ("Set a timer for 12 minutes.", [TIMER], True),
    ("Who wrote the novel Pride and Prejudice?", [WEATHER], False),
    ("Write a haiku about autumn leaves.", [CURRENCY], False),
    ("What is the boiling point of water at sea level?", [EMAIL], False),
    ("Explain photosynthesis in one sentence.", [FLIGHTS], False),
    ("What is the area of a circle with radius 3?", [BMI], False),
    ("What is the population of Tokyo?", [WEATHER], False),
    ("What is 15% of 80?", [CURRENCY], False),
    ("Which company makes the iPhone?", [STOCK], False),
]
