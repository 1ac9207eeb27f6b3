"""What users ask of the catalogue tools: tasks, their phrasings, slot values and answers.

A task is one need (check the weather; find a paper, then its details) with several
phrasings. Held-out data uses phrasings never trained on, so it measures whether a model
understood the need rather than memorised a sentence. Slot names are parameter names: a
call's arguments are the tool's required parameters plus the optional ones its phrasing
mentions or fixes, so the query always states every argument the gold call uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any, Literal

from hanlin.training.data.catalogue_data import CITIES, COUNTRIES, PAPERS, PHRASES, STOCKS, WORDS

Slots = dict[str, Any]
Results = list[Any]  # one parsed result per step (a list of them for a parallel step)
Kind = Literal["single", "chain", "parallel", "no_tool"]


@dataclass(frozen=True)
class Phrasing:
    text: str
    fixed: dict[str, Any] = field(default_factory=dict)  # arguments the wording implies
    answer: str | None = None  # for no-tool tasks: the direct reply to this wording


@dataclass(frozen=True)
class Step:
    tool: str
    # None: arguments from the slots; else a function of the slots and earlier results,
    # returning one argument dict, or a list of them for calls made together in one turn.
    arguments: Callable[[Slots, Results], dict[str, Any] | list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class Task:
    key: str
    kind: Kind
    phrasings: tuple[Phrasing, ...]
    slots: Callable[[Random], Slots] = lambda rng: {}
    steps: tuple[Step, ...] = ()
    answer: str | Callable[[Slots, Results], str] = ""  # str.format(**slots, r=results)


def wordings(*texts: str | tuple[str, dict[str, Any]]) -> tuple[Phrasing, ...]:
    return tuple(Phrasing(t) if isinstance(t, str) else Phrasing(t[0], t[1]) for t in texts)


def pick_two(rng: Random, items: list[Any]) -> tuple[Any, Any]:
    first, second = rng.sample(items, 2)
    return first, second


CITY = list(CITIES)
DATES = [f"2025-01-{day:02d}" for day in range(6, 29)]
KEYWORDS = ["tool use", "agents", "reasoning", "transformer", "few-shot", "reinforcement learning"]
LANGUAGES = ["french", "spanish", "german", "chinese", "japanese"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "CHF"]
UNIT_PAIRS = [
    ("km", "mi"),
    ("mi", "km"),
    ("kg", "lb"),
    ("lb", "kg"),
    ("celsius", "fahrenheit"),
    ("fahrenheit", "celsius"),
    ("l", "gal"),
    ("ft", "m"),
    ("m", "ft"),
]
EMAILS = [
    ("alex@example.com", "Project update", "the report will be ready on Friday."),
    ("maria@example.org", "Dinner on Saturday", "shall we meet at eight?"),
    ("team@example.com", "Stand-up moved", "tomorrow's stand-up starts at 10:00."),
    ("li.wei@example.cn", "Slides", "thanks for the slides, they look great."),
]


def _city(rng: Random) -> Slots:
    return {
        "city": rng.choice(CITY),
        "units": rng.choice(["celsius", "fahrenheit"]),
        "days": rng.randint(1, 5),
    }


def _list(items: list[str], empty: str) -> str:
    return "; ".join(items) if items else empty


SINGLE = [
    Task(
        "get_weather_current",
        "single",
        wordings(
            "What's the weather like in {city} right now?",
            "Current conditions in {city}, please.",
            "How warm is it in {city} at the moment, in {units}?",
            "Tell me today's weather in {city} with the temperature in {units}.",
        ),
        _city,
        (Step("get_weather_current"),),
        "Right now in {r[0][city]}: {r[0][condition]}, {r[0][temperature]} degrees {r[0][units]}, "
        "{r[0][humidity_percent]}% humidity and wind at {r[0][wind_kmh]} km/h.",
    ),
    Task(
        "get_weather_forecast",
        "single",
        wordings(
            "What will the weather be in {city} over the next {days} days?",
            "Give me a {days}-day forecast for {city}.",
            "I'm going to {city}; what's the forecast for the coming {days} days in {units}?",
            "Will it rain in {city} during the next {days} days?",
        ),
        _city,
        (Step("get_weather_forecast"),),
        lambda s, r: (
            f"Forecast for {r[0]['city']}: "
            + "; ".join(
                f"day {d['day']} {d['condition']}, high {d['high']} {r[0]['units']}"
                for d in r[0]["days"]
            )
            + "."
        ),
    ),
    Task(
        "get_local_time",
        "single",
        wordings(
            "What time is it in {city} now?",
            "Tell me the current local time in {city}.",
            "Is it still morning in {city}?",
            "What's the date and time in {city} at the moment?",
        ),
        _city,
        (Step("get_local_time"),),
        "In {r[0][city]} it is {r[0][time]} on {r[0][date]}.",
    ),
    Task(
        "convert_currency",
        "single",
        wordings(
            "How much is {amount} {from_currency} in {to_currency}?",
            "Convert {amount} {from_currency} to {to_currency}.",
            "I have {amount} {from_currency}; what is that worth in {to_currency}?",
            "Exchange {amount} {from_currency} into {to_currency} for me.",
        ),
        lambda rng: dict(
            zip(("from_currency", "to_currency"), pick_two(rng, CURRENCIES), strict=False),
            amount=rng.choice([20, 50, 100, 250, 1200, 75.5]),
        ),
        (Step("convert_currency"),),
        "{amount} {from_currency} is {r[0][result]} {to_currency}.",
    ),
    Task(
        "convert_units",
        "single",
        wordings(
            "Convert {value} {from_unit} to {to_unit}.",
            "How many {to_unit} is {value} {from_unit}?",
            "{value} {from_unit} in {to_unit}, please.",
            "What is {value} {from_unit} expressed in {to_unit}?",
        ),
        lambda rng: dict(
            zip(("from_unit", "to_unit"), rng.choice(UNIT_PAIRS), strict=False),
            value=rng.choice([3, 10, 26.2, 100, 180, 5.5]),
        ),
        (Step("convert_units"),),
        "{value} {from_unit} is {r[0][result]} {to_unit}.",
    ),
    Task(
        "convert_timezone",
        "single",
        wordings(
            "If it's {time} in {from_city}, what time is it in {to_city}?",
            "Convert {time} {from_city} time to {to_city} time.",
            "My call is at {time} in {from_city}. What's that in {to_city}?",
            "When the clock shows {time} in {from_city}, what does it show in {to_city}?",
        ),
        lambda rng: dict(
            zip(("from_city", "to_city"), pick_two(rng, CITY), strict=False),
            time=f"{rng.randint(6, 21):02d}:{rng.choice(['00', '15', '30', '45'])}",
        ),
        (Step("convert_timezone"),),
        "When it is {time} in {from_city}, it is {r[0][time]} in {r[0][city]}.",
    ),
    Task(
        "get_paper_details",
        "single",
        wordings(
            "Give me the details of paper {paper_id}.",
            "Who wrote arXiv {paper_id}, and when?",
            "What's the title of the paper with id {paper_id}?",
            "Look up paper {paper_id} for me.",
        ),
        lambda rng: {"paper_id": rng.choice(list(PAPERS))},
        (Step("get_paper_details"),),
        '{paper_id} is "{r[0][title]}" by {r[0][authors]} ({r[0][year]}).',
    ),
    Task(
        "get_papers_by_keywords",
        "single",
        wordings(
            "Find papers about {keywords}.",
            "Search for research on {keywords} published since {year_from}.",
            "List up to {limit} papers on {keywords}.",
            "Which papers discuss {keywords}?",
        ),
        lambda rng: {
            "keywords": rng.choice(KEYWORDS),
            "limit": rng.randint(1, 3),
            "year_from": rng.choice([2018, 2021, 2023]),
        },
        (Step("get_papers_by_keywords"),),
        lambda s, r: "Papers on {}: {}.".format(
            s["keywords"],
            _list(
                [f'"{p["title"]}" ({p["year"]}, {p["paper_id"]})' for p in r[0]["papers"]],
                "none found",
            ),
        ),
    ),
    Task(
        "get_paper_citations",
        "single",
        wordings(
            "Who cites paper {paper_id}?",
            "How many citations does {paper_id} have?",
            "List up to {limit} papers citing {paper_id}.",
            "Show me the papers that cite arXiv {paper_id}.",
        ),
        lambda rng: {"paper_id": rng.choice(list(PAPERS)), "limit": rng.randint(1, 3)},
        (Step("get_paper_citations"),),
        lambda s, r: '"{}" has {} citing papers in the index: {}.'.format(
            r[0]["title"], r[0]["citation_count"], _list(r[0]["cited_by"], "none yet")
        ),
    ),
]
SINGLE += [
    Task(
        "search_flights",
        "single",
        wordings(
            "Find flights from {origin} to {destination} on {date}.",
            (
                "Are there nonstop flights from {origin} to {destination} on {date}?",
                {"nonstop_only": True},
            ),
            "I need to fly from {origin} to {destination} on {date} for under {max_price} dollars.",
            "Search flights {origin} to {destination}, departing {date}.",
        ),
        lambda rng: dict(
            zip(("origin", "destination"), pick_two(rng, CITY), strict=False),
            date=rng.choice(DATES),
            max_price=rng.choice([400, 600, 800]),
        ),
        (Step("search_flights"),),
        lambda s, r: (
            f"Flights from {r[0]['origin']} to {r[0]['destination']} on {r[0]['date']}: "
            + _list(
                [
                    f"{f['flight']} at {f['departs']}, {f['stops']} stop(s), ${f['price_usd']}"
                    for f in r[0]["flights"]
                ],
                "none match",
            )
            + "."
        ),
    ),
    Task(
        "search_hotels",
        "single",
        wordings(
            "Find a hotel in {city} from {check_in} for {nights} nights.",
            "I need somewhere to stay in {city}, checking in on {check_in}.",
            "Hotels in {city} on {check_in} under {max_price_per_night} dollars a night?",
            "Look for hotels in {city} for {nights} nights starting {check_in}.",
        ),
        lambda rng: {
            "city": rng.choice(CITY),
            "check_in": rng.choice(DATES),
            "nights": rng.randint(1, 6),
            "max_price_per_night": rng.choice([120, 200, 300]),
        },
        (Step("search_hotels"),),
        lambda s, r: (
            f"Hotels in {r[0]['city']} from {r[0]['check_in']}: "
            + _list(
                [
                    f"{h['hotel']} ({h['stars']} stars, ${h['price_per_night']}/night)"
                    for h in r[0]["hotels"]
                ],
                "none within budget",
            )
            + "."
        ),
    ),
    Task(
        "search_restaurants",
        "single",
        wordings(
            "Where can I eat {cuisine} food in {city}?",
            "Find me a {price_level} restaurant in {city}.",
            "Restaurant suggestions in {city}, please.",
            "Any good {cuisine} places in {city} that are {price_level}?",
        ),
        lambda rng: {
            "city": rng.choice(CITY),
            "cuisine": rng.choice(["italian", "thai", "vegan", "sushi"]),
            "price_level": rng.choice(["cheap", "moderate", "expensive"]),
        },
        (Step("search_restaurants"),),
        lambda s, r: (
            f"In {r[0]['city']} you could try "
            + " or ".join(f"{x['name']} (rated {x['rating']})" for x in r[0]["restaurants"])
            + "."
        ),
    ),
    Task(
        "get_stock_quote",
        "single",
        wordings(
            "What's {symbol} trading at?",
            "Current share price of {symbol}?",
            "Get me a quote for {symbol}.",
            "How much is one {symbol} share right now?",
        ),
        lambda rng: {"symbol": rng.choice(list(STOCKS))},
        (Step("get_stock_quote"),),
        "{r[0][name]} ({r[0][symbol]}) is at {r[0][price]} {r[0][currency]}.",
    ),
    Task(
        "get_stock_history",
        "single",
        wordings(
            "Show {symbol}'s closing prices for the last {days} days.",
            "How has {symbol} moved over the past {days} trading days?",
            "Price history of {symbol}, last {days} days.",
            "Give me {days} days of closing prices for {symbol}.",
        ),
        lambda rng: {"symbol": rng.choice(list(STOCKS)), "days": rng.randint(3, 8)},
        (Step("get_stock_history"),),
        lambda s, r: (
            f"{r[0]['symbol']} closed at "
            + ", ".join(map(str, r[0]["closes"]))
            + f" {r[0]['currency']} over the last {s['days']} days, oldest first."
        ),
    ),
    Task(
        "list_calendar_events",
        "single",
        wordings(
            "What's on my calendar on {date}?",
            "Do I have anything scheduled for {date}?",
            "List my events for {date}.",
            "Am I free on {date}?",
        ),
        lambda rng: {"date": rng.choice(["2025-01-06", "2025-01-07", "2025-01-10", *DATES[5:9]])},
        (Step("list_calendar_events"),),
        lambda s, r: (
            f"On {r[0]['date']} you have: "
            + _list([f"{e['title']} at {e['start']}" for e in r[0]["events"]], "nothing scheduled")
            + "."
        ),
    ),
    Task(
        "create_calendar_event",
        "single",
        wordings(
            "Add '{title}' to my calendar on {date} at {start_time}.",
            "Schedule {title} for {date} at {start_time}, lasting {duration_minutes} minutes.",
            "Put {title} in my calendar: {date}, {start_time}, at {location}.",
            "Create an event called {title} on {date} starting at {start_time}.",
        ),
        lambda rng: {
            "title": rng.choice(["Budget meeting", "Yoga class", "Call with Sam"]),
            "date": rng.choice(DATES),
            "start_time": rng.choice(["09:00", "13:30", "16:45"]),
            "duration_minutes": rng.choice([30, 45, 90]),
            "location": rng.choice(["Room 4B", "the gym", "the cafe"]),
        },
        (Step("create_calendar_event"),),
        "Done: {r[0][title]} is in your calendar on {r[0][date]} at {r[0][start_time]} "
        "(id {r[0][event_id]}).",
    ),
    Task(
        "draft_email",
        "single",
        wordings(
            "Draft an email to {to} with the subject '{subject}' saying: {body}",
            ("Write an urgent email to {to}, subject '{subject}': {body}", {"urgent": True}),
            "Prepare a message for {to} titled '{subject}'. Body: {body}",
            "Email {to} about '{subject}' and tell them {body}",
        ),
        lambda rng: dict(zip(("to", "subject", "body"), rng.choice(EMAILS), strict=False)),
        (Step("draft_email"),),
        "I saved a draft to {r[0][to]} with the subject '{r[0][subject]}' (id {r[0][draft_id]}); "
        "it has not been sent.",
    ),
    Task(
        "set_reminder",
        "single",
        wordings(
            "Remind me to {text} in {minutes_from_now} minutes.",
            "Set a reminder in {minutes_from_now} minutes: {text}.",
            "In {minutes_from_now} minutes, remind me to {text}, and repeat it {repeat}.",
            "Ping me in {minutes_from_now} minutes to {text}.",
        ),
        lambda rng: {
            "text": rng.choice(["call mum", "take the laundry out", "check the oven"]),
            "minutes_from_now": rng.choice([5, 15, 30, 90]),
            "repeat": rng.choice(["daily", "weekly"]),
        },
        (Step("set_reminder"),),
        "Reminder set: '{r[0][text]}' in {r[0][due_in_minutes]} minutes.",
    ),
    Task(
        "translate_text",
        "single",
        wordings(
            "Translate '{text}' into {target_language}.",
            "How do you say '{text}' in {target_language}?",
            "What is '{text}' in {target_language}?",
            "Please put '{text}' into {target_language}.",
        ),
        lambda rng: {"text": rng.choice(list(PHRASES)), "target_language": rng.choice(LANGUAGES)},
        (Step("translate_text"),),
        "In {target_language}, '{text}' is '{r[0][translation]}'.",
    ),
    Task(
        "detect_language",
        "single",
        wordings(
            "What language is '{text}'?",
            "Which language is this: {text}",
            "Identify the language of '{text}'.",
            "I saw '{text}' on a sign. What language is that?",
        ),
        lambda rng: {"text": rng.choice([v for row in PHRASES.values() for v in row.values()])},
        (Step("detect_language"),),
        "'{text}' is {r[0][language]}.",
    ),
    Task(
        "get_word_definition",
        "single",
        wordings(
            "What does '{word}' mean?",
            "Define {word}.",
            "Give me the definition of the word {word}.",
            "Meaning of {word}?",
        ),
        lambda rng: {"word": rng.choice(list(WORDS))},
        (Step("get_word_definition"),),
        "'{r[0][word]}' means {r[0][definition]}.",
    ),
    Task(
        "get_word_synonyms",
        "single",
        wordings(
            "What's another word for {word}?",
            "Give me {max_results} synonyms of {word}.",
            "Synonyms for '{word}', please.",
            "Which words mean the same as {word}?",
        ),
        lambda rng: {"word": rng.choice(list(WORDS)), "max_results": rng.randint(1, 3)},
        (Step("get_word_synonyms"),),
        lambda s, r: f"Synonyms of {r[0]['word']}: {', '.join(r[0]['synonyms'])}.",
    ),
    Task(
        "get_country_info",
        "single",
        wordings(
            "What's the capital of {country}?",
            "How many people live in {country}?",
            "Which currency does {country} use?",
            "Tell me the basics about {country}.",
        ),
        lambda rng: {"country": rng.choice(list(COUNTRIES))},
        (Step("get_country_info"),),
        "{r[0][country]}: capital {r[0][capital]}, about {r[0][population_millions]} million "
        "people, currency {r[0][currency]}.",
    ),
    Task(
        "calculator",
        "single",
        wordings(
            "What is {expression}?",
            "Calculate {expression}.",
            "Compute {expression} exactly.",
            "Can you work out {expression} for me?",
        ),
        lambda rng: {
            "expression": f"{rng.randint(12, 999)} {rng.choice(['*', '+', '-'])} "
            f"{rng.randint(3, 97)}"
        },
        (Step("calculator"),),
        "{expression} = {r[0]}.",
    ),
]
