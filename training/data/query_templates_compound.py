"""Tasks beyond one call: chains (call A, read its result, call B), several calls in one
turn, and requests no offered tool can serve, which the model must answer in words.
"""

from __future__ import annotations

from random import Random
from typing import Any

from hanlin.training.data.catalogue_data import COUNTRIES, STOCKS
from hanlin.training.data.query_templates import (
    CITY,
    CURRENCIES,
    DATES,
    KEYWORDS,
    SINGLE,
    Phrasing,
    Results,
    Slots,
    Step,
    Task,
    pick_two,
    wordings,
)


def _hit(rng: Random) -> Slots:
    return {"keywords": rng.choice(KEYWORDS[:3])}  # always matches a paper in the index


def _quote(rng: Random) -> Slots:
    symbol = rng.choice(list(STOCKS))
    targets = [c for c in CURRENCIES if c != STOCKS[symbol][2]]
    return {"symbol": symbol, "to_currency": rng.choice(targets)}


def _top_paper(slots: Slots, results: Results) -> dict[str, Any]:
    return {"paper_id": results[0]["papers"][0]["paper_id"]}


def _percent_change(slots: Slots, results: Results) -> dict[str, Any]:
    first, last = results[0]["closes"][0], results[0]["closes"][-1]
    return {"expression": f"({last} - {first}) / {first} * 100"}


def _capital(slots: Slots, results: Results) -> dict[str, Any]:
    return {"city": results[0]["capital"]}


CHAINS = [
    Task(
        "chain.papers_then_details",
        "chain",
        wordings(
            "Find a paper about {keywords} and tell me who wrote it.",
            "Search papers on {keywords}, then give me the full details of the first hit.",
            "I want the authors and year of a paper about {keywords}.",
            "Look up {keywords} papers and show details for the top one.",
        ),
        _hit,
        (Step("get_papers_by_keywords"), Step("get_paper_details", _top_paper)),
        '"{r[1][title]}" ({r[1][paper_id]}) is by {r[1][authors]}, published in {r[1][year]}.',
    ),
    Task(
        "chain.papers_then_citations",
        "chain",
        wordings(
            "Find a paper on {keywords} and tell me who cites it.",
            "Which papers cite the top search result for {keywords}?",
            "Search {keywords} papers and count the citations of the first one.",
            "What builds on the leading paper about {keywords}?",
        ),
        _hit,
        (Step("get_papers_by_keywords"), Step("get_paper_citations", _top_paper)),
        lambda s, r: '"{}" is cited by {} paper(s) in the index{}.'.format(
            r[1]["title"],
            r[1]["citation_count"],
            ": " + "; ".join(r[1]["cited_by"]) if r[1]["cited_by"] else "",
        ),
    ),
    Task(
        "chain.quote_then_currency",
        "chain",
        wordings(
            "What is one {symbol} share worth in {to_currency}?",
            "Get the price of {symbol} and convert it to {to_currency}.",
            "How much would a single {symbol} share cost me in {to_currency}?",
            "Quote {symbol} for me in {to_currency}.",
        ),
        _quote,
        (
            Step("get_stock_quote"),
            Step(
                "convert_currency",
                lambda s, r: {
                    "amount": r[0]["price"],
                    "from_currency": r[0]["currency"],
                    "to_currency": s["to_currency"],
                },
            ),
        ),
        "{r[0][symbol]} is at {r[0][price]} {r[0][currency]}, "
        "which is {r[1][result]} {to_currency}.",
    ),
    Task(
        "chain.country_then_weather",
        "chain",
        wordings(
            "What's the weather in the capital of {country}?",
            "How is the weather right now in {country}'s capital city?",
            "Is it raining in the capital of {country} at the moment?",
            "Check the current conditions in the capital of {country}.",
        ),
        lambda rng: {"country": rng.choice(list(COUNTRIES))},
        (Step("get_country_info"), Step("get_weather_current", _capital)),
        "The capital of {country} is {r[0][capital]}; the weather there is {r[1][condition]}, "
        "{r[1][temperature]} degrees {r[1][units]}.",
    ),
    Task(
        "chain.country_then_time",
        "chain",
        wordings(
            "What time is it in the capital of {country}?",
            "Tell me the local time in {country}'s capital.",
            "Is it night yet in the capital of {country}?",
            "What's the clock showing in the capital city of {country}?",
        ),
        lambda rng: {"country": rng.choice(list(COUNTRIES))},
        (Step("get_country_info"), Step("get_local_time", _capital)),
        "The capital of {country} is {r[0][capital]}, where it is {r[1][time]} on {r[1][date]}.",
    ),
    Task(
        "chain.history_then_calculator",
        "chain",
        wordings(
            "By what percentage did {symbol} change over the last {days} days?",
            "Work out {symbol}'s percent change across the past {days} trading days.",
            "How much did {symbol} gain or lose, in percent, over {days} days?",
            "Give me the {days}-day return of {symbol} as a percentage.",
        ),
        lambda rng: {"symbol": rng.choice(list(STOCKS)), "days": rng.randint(3, 10)},
        (Step("get_stock_history"), Step("calculator", _percent_change)),
        lambda s, r: (
            f"{s['symbol']} went from {r[0]['closes'][0]} to {r[0]['closes'][-1]} "
            f"{r[0]['currency']}: a change of {r[1]} percent over {s['days']} days."
        ),
    ),
    Task(
        "chain.flight_then_hotel",
        "chain",
        wordings(
            "Find me a flight from {origin} to {destination} on {date} and then a hotel there.",
            "I'm flying {origin} to {destination} on {date}; "
            "search flights, then hotels for {nights} nights.",
            "Plan my trip: flights {origin} to {destination} on {date}, plus a hotel on arrival.",
            "Look up flights from {origin} to {destination} for {date}, then somewhere to stay.",
        ),
        lambda rng: dict(
            zip(("origin", "destination"), pick_two(rng, CITY), strict=False),
            date=rng.choice(DATES),
            nights=rng.randint(2, 5),
        ),
        (
            Step("search_flights"),
            Step(
                "search_hotels",
                lambda s, r: {
                    "city": s["destination"],
                    "check_in": s["date"],
                    "nights": s["nights"],
                },
            ),
        ),
        lambda s, r: "Flight {} leaves {} at {} (${}); in {} the {} costs ${} a night.".format(
            r[0]["flights"][0]["flight"],
            s["origin"],
            r[0]["flights"][0]["departs"],
            r[0]["flights"][0]["price_usd"],
            s["destination"],
            r[1]["hotels"][0]["hotel"],
            r[1]["hotels"][0]["price_per_night"],
        ),
    ),
]


def _pair(rng: Random, key: str, values: list[str]) -> Slots:
    first, second = pick_two(rng, values)
    return {key: first, key + "2": second}


PARALLEL = [
    Task(
        "parallel.weather",
        "parallel",
        wordings(
            "Compare the weather in {city} and {city2} right now.",
            "What's the weather in {city} and in {city2}?",
            "Is it warmer in {city} or in {city2} at the moment?",
            "Current conditions for both {city} and {city2}, please.",
        ),
        lambda rng: _pair(rng, "city", CITY),
        (Step("get_weather_current", lambda s, r: [{"city": s["city"]}, {"city": s["city2"]}]),),
        lambda s, r: " ".join(
            f"{w['city']}: {w['condition']}, {w['temperature']} degrees {w['units']}." for w in r[0]
        ),
    ),
    Task(
        "parallel.quotes",
        "parallel",
        wordings(
            "Get me quotes for {symbol} and {symbol2}.",
            "What are {symbol} and {symbol2} trading at?",
            "Which is pricier per share right now, {symbol} or {symbol2}?",
            "Share prices of {symbol} and {symbol2}, please.",
        ),
        lambda rng: _pair(rng, "symbol", list(STOCKS)),
        (
            Step(
                "get_stock_quote", lambda s, r: [{"symbol": s["symbol"]}, {"symbol": s["symbol2"]}]
            ),
        ),
        lambda s, r: " ".join(f"{q['symbol']} is at {q['price']} {q['currency']}." for q in r[0]),
    ),
    Task(
        "parallel.local_time",
        "parallel",
        wordings(
            "What time is it in {city} and in {city2}?",
            "Tell me the local times in {city} and {city2}.",
            "Is it later in {city} or in {city2} right now?",
            "Current time in both {city} and {city2}?",
        ),
        lambda rng: _pair(rng, "city", CITY),
        (Step("get_local_time", lambda s, r: [{"city": s["city"]}, {"city": s["city2"]}]),),
        lambda s, r: " ".join(f"In {t['city']} it is {t['time']} on {t['date']}." for t in r[0]),
    ),
]


def _replies(key: str, answer: str, *texts: str) -> Task:
    return Task(key, "no_tool", tuple(Phrasing(text, answer=answer) for text in texts))


NO_TOOL = [
    _replies(
        "no_tool.order_food",
        "I can't do that: none of the tools available to me can order "
        "food or arrange a delivery. A delivery app or the restaurant itself can.",
        "Order a large pepperoni pizza to my flat.",
        "Can you get a pizza delivered to me tonight?",
        "Please order sushi for two to my office.",
        "Get me some takeaway noodles delivered.",
    ),
    _replies(
        "no_tool.payments",
        "I can't move money: none of my tools can make payments or "
        "transfers. Please use your bank's app or website for that.",
        "Send 50 dollars to my brother.",
        "Transfer 200 EUR to Anna's account.",
        "Pay my electricity bill.",
        "Wire 1000 USD to my landlord.",
    ),
    _replies(
        "no_tool.devices",
        "I can't control devices: none of the tools I have can reach your home appliances.",
        "Turn on the living room lights.",
        "Set the thermostat to 21 degrees.",
        "Lock the front door.",
        "Start the washing machine.",
    ),
    _replies(
        "no_tool.thanks",
        "You're welcome! Let me know if you need anything else.",
        "Thanks, that's all I needed!",
        "Great, thank you so much.",
        "Perfect, cheers!",
        "Thanks for the help.",
    ),
    _replies(
        "no_tool.hello",
        "Hello! I can answer questions and use the tools I have been given, "
        "such as lookups and conversions. What would you like to do?",
        "Hi! What can you do?",
        "Hello, who am I talking to?",
        "What kind of things can you help with?",
        "Hey there, are you a bot?",
    ),
    _replies(
        "no_tool.opinion",
        "That's a matter of taste, so no tool can settle it: I'd say pick the one you enjoy most.",
        "Which is better, cats or dogs?",
        "Is summer nicer than winter?",
        "Tea or coffee, which should I prefer?",
        "What's the best colour for a bedroom?",
    ),
]

TASKS: list[Task] = [*SINGLE, *CHAINS, *PARALLEL, *NO_TOOL]
