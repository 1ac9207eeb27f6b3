"""The fixed tables behind the tool catalogue: cities, rates, papers, stocks, phrases.

Kept apart from the tools so the query templates can draw slot values (a city, a paper id, a
currency) that the tools are sure to know, and so a correct call always succeeds.
"""

from __future__ import annotations

import zlib
from typing import Any, Literal

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure

Units = Literal["celsius", "fahrenheit"]
Currency = Literal["USD", "EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "CHF"]
Unit = Literal["km", "mi", "m", "ft", "kg", "lb", "l", "gal", "celsius", "fahrenheit"]
Language = Literal["english", "french", "spanish", "german", "chinese", "japanese"]

# city -> (condition, temperature in Celsius, humidity %, wind km/h, UTC offset in hours)
CITIES: dict[str, tuple[str, float, int, int, float]] = {
    "Paris": ("light rain", 8.0, 81, 14, 1),
    "London": ("overcast", 7.5, 77, 19, 0),
    "Tokyo": ("clear", 10.0, 45, 9, 9),
    "New York": ("snow showers", -1.5, 70, 22, -5),
    "Beijing": ("sunny", -3.0, 30, 11, 8),
    "Sydney": ("sunny", 27.5, 60, 17, 11),
    "Cairo": ("clear", 19.0, 40, 8, 2),
    "Berlin": ("fog", 2.0, 90, 5, 1),
    "Madrid": ("partly cloudy", 11.0, 55, 10, 1),
    "Toronto": ("cloudy", -4.0, 72, 16, -5),
    "Mumbai": ("haze", 29.0, 65, 12, 5.5),
    "Rio de Janeiro": ("thunderstorms", 30.5, 84, 20, -3),
}
COUNTRIES: dict[str, dict[str, Any]] = {
    "France": {"capital": "Paris", "population_millions": 68.2, "currency": "EUR"},
    "United Kingdom": {"capital": "London", "population_millions": 67.7, "currency": "GBP"},
    "Japan": {"capital": "Tokyo", "population_millions": 124.5, "currency": "JPY"},
    "China": {"capital": "Beijing", "population_millions": 1410.7, "currency": "CNY"},
    "Egypt": {"capital": "Cairo", "population_millions": 112.7, "currency": "EGP"},
    "Germany": {"capital": "Berlin", "population_millions": 84.5, "currency": "EUR"},
    "Spain": {"capital": "Madrid", "population_millions": 48.3, "currency": "EUR"},
}
USD_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "JPY": 151.2,
    "CNY": 7.23,
    "INR": 83.4,
    "CAD": 1.36,
    "AUD": 1.52,
    "CHF": 0.9,
}
# unit -> (dimension, factor to the dimension's base unit); temperature is handled apart
UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "km": ("length", 1000.0),
    "mi": ("length", 1609.344),
    "m": ("length", 1.0),
    "ft": ("length", 0.3048),
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "l": ("volume", 1.0),
    "gal": ("volume", 3.785411784),
}
PAPERS: dict[str, dict[str, Any]] = {
    "1706.03762": {
        "title": "Attention Is All You Need",
        "year": 2017,
        "authors": "Vaswani et al.",
        "keywords": ["transformer", "attention", "translation"],
    },
    "2005.14165": {
        "title": "Language Models are Few-Shot Learners",
        "year": 2020,
        "authors": "Brown et al.",
        "keywords": ["language model", "few-shot", "gpt"],
    },
    "2201.11903": {
        "title": "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",
        "year": 2022,
        "authors": "Wei et al.",
        "keywords": ["reasoning", "prompting", "chain of thought"],
    },
    "2210.03629": {
        "title": "ReAct: Synergizing Reasoning and Acting in Language Models",
        "year": 2022,
        "authors": "Yao et al.",
        "keywords": ["agents", "reasoning"],
    },
    "2302.04761": {
        "title": "Toolformer: Language Models Can Teach Themselves to Use Tools",
        "year": 2023,
        "authors": "Schick et al.",
        "keywords": ["tool use", "agents"],
    },
    "2303.11366": {
        "title": "Reflexion: Language Agents with Verbal Reinforcement Learning",
        "year": 2023,
        "authors": "Shinn et al.",
        "keywords": ["agents", "reflection"],
    },
    "2307.16789": {
        "title": "ToolLLM: Facilitating Large Language Models to Master 16000+ Real-world APIs",
        "year": 2023,
        "authors": "Qin et al.",
        "keywords": ["tool use", "api", "instruction tuning"],
    },
    "2412.15495": {
        "title": "TL-Training: A Task-Feature-Based Framework for Training Large "
        "Language Models in Tool Use",
        "year": 2024,
        "authors": "Ye et al.",
        "keywords": ["tool use", "reinforcement learning", "fine-tuning"],
    },
}
CITED_BY: dict[str, list[str]] = {
    "1706.03762": ["2005.14165", "2201.11903", "2302.04761", "2307.16789"],
    "2005.14165": ["2201.11903", "2210.03629", "2302.04761"],
    "2201.11903": ["2210.03629"],
    "2210.03629": ["2303.11366", "2307.16789", "2412.15495"],
    "2302.04761": ["2307.16789"],
    "2303.11366": ["2412.15495"],
    "2307.16789": ["2412.15495"],
    "2412.15495": [],
}
STOCKS: dict[str, tuple[str, float, str]] = {
    "AAPL": ("Apple Inc.", 189.5, "USD"),
    "MSFT": ("Microsoft Corp.", 415.2, "USD"),
    "NVDA": ("NVIDIA Corp.", 880.1, "USD"),
    "TSLA": ("Tesla Inc.", 175.8, "USD"),
    "SAP": ("SAP SE", 178.3, "EUR"),
    "7203.T": ("Toyota Motor Corp.", 3550.0, "JPY"),
}
PHRASES: dict[str, dict[str, str]] = {  # one meaning per row, in every supported language
    "good morning": {
        "french": "bonjour",
        "spanish": "buenos días",
        "german": "guten Morgen",
        "chinese": "早上好",
        "japanese": "おはようございます",
    },
    "thank you very much": {
        "french": "merci beaucoup",
        "spanish": "muchas gracias",
        "german": "vielen Dank",
        "chinese": "非常感谢",
        "japanese": "どうもありがとうございます",
    },
    "where is the train station": {
        "french": "où est la gare",
        "spanish": "dónde está la estación de tren",
        "german": "wo ist der Bahnhof",
        "chinese": "火车站在哪里",
        "japanese": "駅はどこですか",
    },
    "the bill, please": {
        "french": "l'addition, s'il vous plaît",
        "spanish": "la cuenta, por favor",
        "german": "die Rechnung, bitte",
        "chinese": "请结账",
        "japanese": "お会計をお願いします",
    },
}
WORDS: dict[str, tuple[str, list[str]]] = {
    "ephemeral": ("lasting for a very short time", ["fleeting", "transient", "brief"]),
    "ubiquitous": ("present or found everywhere", ["omnipresent", "pervasive", "universal"]),
    "candid": ("truthful and straightforward", ["frank", "honest", "open"]),
    "meticulous": ("showing great attention to detail", ["careful", "precise", "thorough"]),
    "resilient": ("able to recover quickly from difficulty", ["tough", "hardy", "adaptable"]),
}
EVENTS: dict[str, list[dict[str, str]]] = {
    "2025-01-06": [
        {"title": "Team stand-up", "start": "09:30"},
        {"title": "Dentist", "start": "15:00"},
    ],
    "2025-01-07": [{"title": "Project review", "start": "11:00"}],
    "2025-01-10": [{"title": "Dinner with Alex", "start": "19:30"}],
}
FAMILIES: dict[str, tuple[str, ...]] = {
    "get_paper": ("get_paper_details", "get_papers_by_keywords", "get_paper_citations"),
    "get_weather": ("get_weather_current", "get_weather_forecast"),
    "convert": ("convert_currency", "convert_units", "convert_timezone"),
    "search": ("search_flights", "search_hotels", "search_restaurants"),
    "get_stock": ("get_stock_quote", "get_stock_history"),
    "calendar": ("create_calendar_event", "list_calendar_events"),
    "get_word": ("get_word_definition", "get_word_synonyms"),
}


def stable(*parts: object) -> int:
    """A hash that is the same in every process (``hash()`` of a str is not)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def known(value: str, table: dict[str, Any], what: str) -> str:
    for key in table:
        if key.lower() == value.strip().lower():
            return key
    raise ToolFailure(
        f"unknown {what} {value!r}; known: {', '.join(table)}", ToolErrorKind.INVALID_VALUE
    )
