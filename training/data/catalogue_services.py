"""Catalogue tools that act for a person: travel search, stocks, calendar, mail, language.

Like the lookups in ``tool_catalogue``, they answer from fixed tables (``catalogue_data``) so
every result is reproducible; actions (an event, a draft, a reminder) return what they would
have created, with an id derived from the input.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import tool
from hanlin.training.data.catalogue_data import (
    CITIES,
    COUNTRIES,
    EVENTS,
    PHRASES,
    STOCKS,
    WORDS,
    Language,
    known,
    stable,
)

PriceLevel = Literal["cheap", "moderate", "expensive"]


@tool
def search_flights(
    origin: str,
    destination: str,
    date: str,
    nonstop_only: bool = False,
    max_price: float | None = None,
) -> dict[str, Any]:
    """Search flights between two cities on a date.

    Args:
        origin: Departure city.
        destination: Arrival city.
        date: Travel date as YYYY-MM-DD.
        nonstop_only: Only list flights without stops.
        max_price: Highest acceptable price in USD.
    """
    start, end = known(origin, CITIES, "city"), known(destination, CITIES, "city")
    flights = []
    for n in range(3):
        code = stable(start, end, date, n)
        flights.append(
            {
                "flight": f"HL{100 + code % 900}",
                "departs": f"{6 + 5 * n:02d}:{code % 4 * 15:02d}",
                "stops": 0 if n != 2 else 1,
                "price_usd": 180 + code % 600,
            }
        )
    flights = [
        f
        for f in flights
        if (not nonstop_only or f["stops"] == 0)
        and (max_price is None or f["price_usd"] <= max_price)
    ]
    return {"origin": start, "destination": end, "date": date, "flights": flights}


@tool
def search_hotels(
    city: str, check_in: str, nights: int = 1, max_price_per_night: float | None = None
) -> dict[str, Any]:
    """Search hotels in a city for a stay starting on a date.

    Args:
        city: City to stay in.
        check_in: Arrival date as YYYY-MM-DD.
        nights: Number of nights.
        max_price_per_night: Highest acceptable nightly price in USD.
    """
    name = known(city, CITIES, "city")
    hotels = [
        {
            "hotel": f"{name} {kind}",
            "stars": 3 + n,
            "price_per_night": 90 + 70 * n + stable(name, n) % 40,
        }
        for n, kind in enumerate(["Central Inn", "Grand Hotel", "Palace"])
    ]
    hotels = [
        h
        for h in hotels
        if max_price_per_night is None or h["price_per_night"] <= max_price_per_night
    ]
    return {"city": name, "check_in": check_in, "nights": nights, "hotels": hotels}


@tool
def search_restaurants(
    city: str, cuisine: str | None = None, price_level: PriceLevel | None = None
) -> dict[str, Any]:
    """Search restaurants in a city, optionally by cuisine and price level.

    Args:
        city: City to search in.
        cuisine: Kind of food, e.g. italian.
        price_level: How expensive the restaurant may be.
    """
    name = known(city, CITIES, "city")
    food = (cuisine or "local").lower()
    level = price_level or "moderate"
    return {
        "city": name,
        "restaurants": [
            {
                "name": f"{label} {food.title()} {name}",
                "cuisine": food,
                "price_level": level,
                "rating": round(3.9 + (stable(name, food, label) % 10) / 10, 1),
            }
            for label in ("Chez", "Casa")
        ],
    }


@tool
def get_stock_quote(symbol: str) -> dict[str, Any]:
    """The latest price of a stock, by its ticker symbol.

    Args:
        symbol: Ticker symbol, e.g. AAPL.
    """
    ticker = known(symbol, STOCKS, "ticker symbol")
    name, price, currency = STOCKS[ticker]
    return {"symbol": ticker, "name": name, "price": price, "currency": currency}


@tool
def get_stock_history(symbol: str, days: int) -> dict[str, Any]:
    """Daily closing prices of a stock over the last few days, oldest first.

    Args:
        symbol: Ticker symbol, e.g. MSFT.
        days: Number of trading days, 2 to 30.
    """
    ticker = known(symbol, STOCKS, "ticker symbol")
    if not 2 <= days <= 30:
        raise ToolFailure(f"days must be between 2 and 30, got {days}", ToolErrorKind.INVALID_VALUE)
    _, price, currency = STOCKS[ticker]
    closes = [
        round(price * (1 + ((stable(ticker, d) % 81) - 40) / 1000), 2) for d in range(days - 1)
    ]
    return {"symbol": ticker, "currency": currency, "closes": [*closes, price]}


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check(value: str, pattern: re.Pattern[str], what: str, example: str) -> str:
    if not pattern.match(value.strip()):
        raise ToolFailure(
            f"{what} must look like {example}, got {value!r}", ToolErrorKind.INVALID_VALUE
        )
    return value.strip()


@tool
def list_calendar_events(date: str) -> dict[str, Any]:
    """The events in the user's calendar on one day.

    Args:
        date: The day as YYYY-MM-DD.
    """
    day = _check(date, _DATE, "date", "2025-01-06")
    return {"date": day, "events": EVENTS.get(day, [])}


@tool
def create_calendar_event(
    title: str, date: str, start_time: str, duration_minutes: int = 60, location: str | None = None
) -> dict[str, Any]:
    """Add an event to the user's calendar.

    Args:
        title: What the event is.
        date: The day as YYYY-MM-DD.
        start_time: Start as HH:MM (24-hour clock).
        duration_minutes: Length of the event in minutes.
        location: Where it takes place.
    """
    day = _check(date, _DATE, "date", "2025-01-06")
    start = _check(start_time, _TIME, "start_time", "14:30")
    return {
        "event_id": f"evt-{stable(title, day, start) % 100000:05d}",
        "title": title,
        "date": day,
        "start_time": start,
        "duration_minutes": duration_minutes,
        "location": location,
        "status": "created",
    }


@tool
def draft_email(to: str, subject: str, body: str, urgent: bool = False) -> dict[str, Any]:
    """Write an email draft for the user to review; nothing is sent.

    Args:
        to: Recipient address.
        subject: Subject line.
        body: Text of the message.
        urgent: Mark the draft as urgent.
    """
    if "@" not in to:
        raise ToolFailure(f"{to!r} is not an email address", ToolErrorKind.INVALID_VALUE)
    return {
        "draft_id": f"draft-{stable(to, subject) % 100000:05d}",
        "to": to,
        "subject": subject,
        "urgent": urgent,
        "words": len(body.split()),
        "status": "saved as draft",
    }


@tool
def set_reminder(
    text: str, minutes_from_now: int, repeat: Literal["never", "daily", "weekly"] = "never"
) -> dict[str, Any]:
    """Remind the user of something after a number of minutes.

    Args:
        text: What to be reminded of.
        minutes_from_now: Minutes until the reminder fires.
        repeat: Whether the reminder repeats.
    """
    if minutes_from_now < 1:
        raise ToolFailure("minutes_from_now must be at least 1", ToolErrorKind.INVALID_VALUE)
    return {
        "reminder_id": f"rem-{stable(text, minutes_from_now) % 100000:05d}",
        "text": text,
        "due_in_minutes": minutes_from_now,
        "repeat": repeat,
    }


def _phrase(text: str) -> tuple[str, str]:
    """The meaning (English row key) and language of a known phrase."""
    wanted = text.strip().lower().rstrip("?.!")
    for english, versions in PHRASES.items():
        for language, phrase in [("english", english), *versions.items()]:
            if phrase.lower() == wanted:
                return english, language
    raise ToolFailure(
        f"the phrase {text!r} is not in the offline dictionary", ToolErrorKind.INVALID_VALUE
    )


@tool
def translate_text(text: str, target_language: Language) -> dict[str, Any]:
    """Translate a short phrase into another language.

    Args:
        text: The phrase to translate.
        target_language: Language to translate into.
    """
    english, source = _phrase(text)
    result = english if target_language == "english" else PHRASES[english][target_language]
    return {
        "text": text,
        "source_language": source,
        "target_language": target_language,
        "translation": result,
    }


@tool
def detect_language(text: str) -> dict[str, Any]:
    """Tell which language a short phrase is written in.

    Args:
        text: The phrase to identify.
    """
    _, language = _phrase(text)
    return {"text": text, "language": language}


@tool
def get_word_definition(word: str) -> dict[str, Any]:
    """The dictionary definition of an English word.

    Args:
        word: The word to define.
    """
    key = known(word, WORDS, "word")
    return {"word": key, "definition": WORDS[key][0]}


@tool
def get_word_synonyms(word: str, max_results: int = 3) -> dict[str, Any]:
    """Synonyms of an English word.

    Args:
        word: The word to find synonyms for.
        max_results: Largest number of synonyms to return.
    """
    key = known(word, WORDS, "word")
    return {"word": key, "synonyms": WORDS[key][1][: max(max_results, 0)]}


@tool
def get_country_info(country: str) -> dict[str, Any]:
    """Capital, population and currency of a country.

    Args:
        country: Country name in English, e.g. Japan.
    """
    key = known(country, COUNTRIES, "country")
    return {"country": key, **COUNTRIES[key]}
