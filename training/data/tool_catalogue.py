"""A catalogue of realistic, offline tools for synthetic tool-use trajectories.

Each tool answers from small fixed tables, so a generated trajectory carries the tool's real
output and is reproducible. Several tools share a name prefix (``get_paper_details`` /
``get_papers_by_keywords`` / ``get_paper_citations``): these families are the ambiguity
that key-token weighting targets, and the synthetic data always offers them together.
"""

from __future__ import annotations

from typing import Any

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.builtin.calculator import calculator
from hanlin.tools.failure import ToolFailure
from hanlin.tools.registry import ToolRegistry
from hanlin.tools.tool import Tool, tool
from hanlin.training.data import catalogue_services as services
from hanlin.training.data.catalogue_data import (
    CITED_BY,
    CITIES,
    FAMILIES,
    PAPERS,
    UNIT_FACTORS,
    USD_RATES,
    Currency,
    Unit,
    Units,
    known,
    stable,
)
from hanlin.training.data.typed_services import SERVICE_TOOLS
from hanlin.training.data.typed_tools import MATH_TOOLS


def _in_units(temp: float, units: str) -> float:
    return round(temp * 9 / 5 + 32, 1) if units == "fahrenheit" else temp


@tool
def get_weather_current(city: str, units: Units = "celsius") -> dict[str, Any]:
    """Current weather conditions in a city.

    Args:
        city: City name, e.g. Paris.
        units: Temperature units.
    """
    name = known(city, CITIES, "city")
    condition, temp, humidity, wind, _ = CITIES[name]
    return {
        "city": name,
        "condition": condition,
        "temperature": _in_units(temp, units),
        "units": units,
        "humidity_percent": humidity,
        "wind_kmh": wind,
    }


@tool
def get_weather_forecast(city: str, days: int, units: Units = "celsius") -> dict[str, Any]:
    """Daily weather forecast for the next few days in a city.

    Args:
        city: City name, e.g. Tokyo.
        days: Number of days to forecast, 1 to 5.
        units: Temperature units.
    """
    name = known(city, CITIES, "city")
    if not 1 <= days <= 5:
        raise ToolFailure(f"days must be between 1 and 5, got {days}", ToolErrorKind.INVALID_VALUE)
    _, temp, *_ = CITIES[name]
    conditions = ["sunny", "cloudy", "rain", "partly cloudy", "windy"]
    daily = [
        {
            "day": d + 1,
            "condition": conditions[(stable(name, d) % 5)],
            "high": _in_units(temp + stable(name, d) % 5, units),
        }
        for d in range(days)
    ]
    return {"city": name, "units": units, "days": daily}


@tool
def convert_currency(
    amount: float, from_currency: Currency, to_currency: Currency
) -> dict[str, Any]:
    """Convert an amount of money between currencies at today's fixed rates.

    Args:
        amount: The amount to convert.
        from_currency: ISO code of the currency the amount is in.
        to_currency: ISO code of the currency wanted.
    """
    converted = round(amount / USD_RATES[from_currency] * USD_RATES[to_currency], 2)
    return {"amount": amount, "from": from_currency, "to": to_currency, "result": converted}


@tool
def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> dict[str, Any]:
    """Convert a measurement between units of length, mass, volume or temperature.

    Args:
        value: The quantity to convert.
        from_unit: Unit of the value.
        to_unit: Unit wanted.
    """
    if {from_unit, to_unit} <= {"celsius", "fahrenheit"}:
        result = (
            value
            if from_unit == to_unit
            else (value * 9 / 5 + 32 if from_unit == "celsius" else (value - 32) * 5 / 9)
        )
    elif (
        from_unit in UNIT_FACTORS
        and to_unit in UNIT_FACTORS
        and UNIT_FACTORS[from_unit][0] == UNIT_FACTORS[to_unit][0]
    ):
        result = value * UNIT_FACTORS[from_unit][1] / UNIT_FACTORS[to_unit][1]
    else:
        raise ToolFailure(f"cannot convert {from_unit} to {to_unit}", ToolErrorKind.INVALID_VALUE)
    return {"value": value, "from": from_unit, "to": to_unit, "result": round(result, 2)}


@tool
def convert_timezone(time: str, from_city: str, to_city: str) -> dict[str, Any]:
    """Convert a clock time in one city to the local time in another city.

    Args:
        time: Time of day as HH:MM (24-hour clock).
        from_city: City whose local time is given.
        to_city: City whose local time is wanted.
    """
    source, target = known(from_city, CITIES, "city"), known(to_city, CITIES, "city")
    try:
        hours, minutes = (int(part) for part in time.split(":"))
    except ValueError:
        raise ToolFailure(
            f"time must look like 14:30, got {time!r}", ToolErrorKind.INVALID_VALUE
        ) from None
    total = (hours * 60 + minutes + round((CITIES[target][4] - CITIES[source][4]) * 60)) % 1440
    return {
        "from": f"{time} in {source}",
        "time": f"{total // 60:02d}:{total % 60:02d}",
        "city": target,
    }


@tool
def get_local_time(city: str) -> dict[str, Any]:
    """The current local date and time in a city.

    Args:
        city: City name, e.g. Sydney.
    """
    name = known(city, CITIES, "city")
    minutes = 12 * 60 + round(CITIES[name][4] * 60)  # the reference clock reads 12:00 UTC
    day = 6 + minutes // 1440
    minutes %= 1440
    return {
        "city": name,
        "date": f"2025-01-{day:02d}",
        "time": f"{minutes // 60:02d}:{minutes % 60:02d}",
        "utc_offset": CITIES[name][4],
    }


def _paper(paper_id: str) -> dict[str, Any]:
    if paper_id.strip() not in PAPERS:
        raise ToolFailure(
            f"no paper with id {paper_id!r}; ids look like 2210.03629", ToolErrorKind.INVALID_VALUE
        )
    return {"paper_id": paper_id.strip(), **PAPERS[paper_id.strip()]}


@tool
def get_paper_details(paper_id: str) -> dict[str, Any]:
    """Title, authors, year and keywords of one paper, by its arXiv id.

    Args:
        paper_id: The arXiv identifier, e.g. 2210.03629.
    """
    return _paper(paper_id)


@tool
def get_papers_by_keywords(
    keywords: str, limit: int = 3, year_from: int | None = None
) -> dict[str, Any]:
    """Search papers whose title or keywords match the given words.

    Args:
        keywords: Words to search for, e.g. tool use.
        limit: Largest number of papers to return.
        year_from: Only papers published in or after this year.
    """
    words = keywords.lower().split()
    found = [
        {"paper_id": pid, "title": p["title"], "year": p["year"]}
        for pid, p in PAPERS.items()
        if any(w in (p["title"] + " " + " ".join(p["keywords"])).lower() for w in words)
        and (year_from is None or p["year"] >= year_from)
    ]
    return {"query": keywords, "papers": found[: max(limit, 0)]}


@tool
def get_paper_citations(paper_id: str, limit: int = 5) -> dict[str, Any]:
    """Papers that cite a given paper, by its arXiv id.

    Args:
        paper_id: The arXiv identifier of the cited paper.
        limit: Largest number of citing papers to list.
    """
    cited = _paper(paper_id)
    citing = [PAPERS[pid]["title"] for pid in CITED_BY[cited["paper_id"]]]
    return {
        "paper_id": cited["paper_id"],
        "title": cited["title"],
        "citation_count": len(citing),
        "cited_by": citing[: max(limit, 0)],
    }


CATALOGUE: tuple[Tool, ...] = (
    get_weather_current,
    get_weather_forecast,
    get_local_time,
    convert_currency,
    convert_units,
    convert_timezone,
    get_paper_details,
    get_papers_by_keywords,
    get_paper_citations,
    services.search_flights,
    services.search_hotels,
    services.search_restaurants,
    services.get_stock_quote,
    services.get_stock_history,
    services.list_calendar_events,
    services.create_calendar_event,
    services.draft_email,
    services.set_reminder,
    services.translate_text,
    services.detect_language,
    services.get_word_definition,
    services.get_word_synonyms,
    services.get_country_info,
    calculator,
)
# Tools with typed, nested and list parameters; offered only among themselves, so the
# service catalogue's "no tool can do that" answers never meet a tool that can.
TYPED_CATALOGUE: tuple[Tool, ...] = (*MATH_TOOLS, *SERVICE_TOOLS)
_BY_NAME: dict[str, Tool] = {t.name: t for t in (*CATALOGUE, *TYPED_CATALOGUE)}


def catalogue_tool(name: str) -> Tool:
    """One catalogue tool by name; an unknown name lists the known ones."""
    if name not in _BY_NAME:
        raise KeyError(f"no catalogue tool {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def catalogue_registry(names: list[str] | None = None) -> ToolRegistry:
    """A registry of the whole catalogue, or of the named tools only (what a run offers)."""
    return ToolRegistry([catalogue_tool(n) for n in names] if names is not None else CATALOGUE)


def family_of(name: str) -> str | None:
    """The family (shared name prefix) a tool belongs to, if any."""
    return next((family for family, members in FAMILIES.items() if name in members), None)


def siblings(name: str) -> list[str]:
    """The other tools of ``name``'s family: the names a model most easily confuses with it."""
    family = family_of(name)
    return [n for n in FAMILIES[family] if n != name] if family else []
