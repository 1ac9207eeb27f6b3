"""Requests for the structured service tools in ``typed_services``: a recipient as an
object, ingredients as a list of objects, stops and items as lists, enums and flags."""

from __future__ import annotations

from random import Random
from typing import Any

from hanlin.training.data.query_templates import DATES, Results, Slots, Step, Task, wordings
from hanlin.training.data.typed_templates import MATH, MATH_PARALLEL, spoken

PEOPLE = [
    ("Nora", "Berg", "nora.berg@example.com"),
    ("Tomás", "Ruiz", "t.ruiz@example.org"),
    ("Aiko", "Sato", "aiko.sato@example.jp"),
    ("Samuel", "Okafor", "sam.okafor@example.com"),
    ("Lena", "Fischer", "lena.f@example.de"),
]
ADDRESSES = [
    ("14 Harbour Lane", "Bristol", "BS1 4QA"),
    ("Calle Mayor 22", "Valencia", "46001"),
    ("3-5-1 Kita", "Sapporo", "060-0808"),
    ("88 Elm Street", "Portland", "97205"),
    ("Lindenweg 7", "Leipzig", "04109"),
]
RESTAURANTS = ["Casa Lumo", "The Copper Pot", "Sakura Table", "Le Petit Four", "Green Fig"]
PLACES = [
    "the station",
    "the museum",
    "the old harbour",
    "the university",
    "the market",
    "the airport",
    "the stadium",
    "the castle",
]
GROCERIES = ["milk", "eggs", "rice", "tomatoes", "bread", "coffee", "apples", "cheese", "onions"]
INGREDIENTS = ["flour", "sugar", "butter", "oats", "rice", "lentils", "spinach", "cocoa"]
DIETS = ["vegetarian", "vegan", "gluten-free", "no nuts", "halal", "lactose-free"]
BRANDS = ["Arlo", "Brisk", "Corvo", "Delta", "Ember"]


def _recipient(rng: Random) -> Slots:
    (first, last, _), (street, city, postcode) = rng.choice(PEOPLE), rng.choice(ADDRESSES)
    name = f"{first} {last}"
    return {
        "recipient": {"name": name, "street": street, "city": city, "postcode": postcode},
        "name": name,
        "street": street,
        "city": city,
        "postcode": postcode,
        "weight_kg": rng.choice([0.4, 1, 2.5, 6, 12.5]),
    }


def _attendee(rng: Random) -> Slots:
    first, last, email = rng.choice(PEOPLE)
    diets = rng.sample(DIETS, rng.randint(1, 2))
    return {
        "attendee": {"first_name": first, "last_name": last, "email": email},
        "first_name": first,
        "last_name": last,
        "email": email,
        "event_code": rng.choice(["CONF-2025", "DEVDAY-7", "SUMMIT-B", "EXPO-12"]),
        "dietary_needs": diets,
        "dietary_needs_text": spoken(diets),
    }


def _recipe(rng: Random) -> Slots:
    ingredients = [
        {"name": name, "grams": float(rng.choice([50, 120, 200, 250, 400]))}
        for name in rng.sample(INGREDIENTS, rng.randint(2, 3))
    ]
    servings = rng.sample([2, 4, 6, 8, 10], 2)
    return {
        "ingredients": ingredients,
        "ingredients_text": spoken([f"{i['grams']:g} g of {i['name']}" for i in ingredients]),
        "servings_from": servings[0],
        "servings_to": servings[1],
    }


def _table(rng: Random) -> Slots:
    return {
        "restaurant": rng.choice(RESTAURANTS),
        "date": rng.choice(DATES),
        "time": rng.choice(["12:30", "13:00", "19:00", "19:45", "20:30"]),
        "guests": rng.randint(1, 10),
        "seating": rng.choice(["outdoor", "bar"]),
    }


def _route(rng: Random) -> Slots:
    stops = rng.sample(PLACES, rng.randint(2, 4))
    return {
        "stops": stops,
        "stops_text": spoken(stops),
        "mode": rng.choice(["walking", "cycling", "transit"]),
    }


def _expense(rng: Random) -> Slots:
    category, note = rng.choice(
        [
            ("food", "lunch with the team"),
            ("transport", "taxi to the airport"),
            ("housing", "plumber"),
            ("leisure", "concert tickets"),
            ("health", "pharmacy"),
        ]
    )
    return {
        "amount": rng.choice([6.5, 14, 32.8, 75, 120.4]),
        "category": category,
        "note": note,
        "date": rng.choice(DATES),
    }


def _products(rng: Random) -> Slots:
    brands = rng.sample(BRANDS, 2)
    return {
        "category": rng.choice(["laptops", "phones", "headphones", "cameras"]),
        "max_price": rng.choice([150, 300, 500, 800]),
        "brands": brands,
        "brands_text": spoken(brands).replace(" and ", " or "),
    }


def _shopping(rng: Random) -> Slots:
    items = rng.sample(GROCERIES, rng.randint(2, 5))
    return {
        "title": rng.choice(["Weekend", "Party", "Groceries", "Camping trip"]),
        "items": items,
        "items_text": spoken(items),
    }


def _arrived(slots: Slots, results: Results) -> str:
    return "Booked: tracking number {tracking}, to {to}, {price} to pay, {days} day(s).".format(
        **results[0]
    )


def _scaled(slots: Slots, results: Results) -> str:
    parts = [f"{i['grams']:g} g of {i['name']}" for i in results[0]["ingredients"]]
    return f"For {results[0]['servings']} servings use " + spoken(parts) + "."


def _products_found(slots: Slots, results: Results) -> str:
    found: list[dict[str, Any]] = results[0]["products"]
    if not found:
        return f"No {slots['category']} match under {slots['max_price']} USD."
    return "Found: " + "; ".join(f"{p['product']} at {p['price']} USD" for p in found) + "."


SERVICES = [
    Task(
        "typed.ship_parcel",
        "single",
        wordings(
            "Ship a {weight_kg} kg parcel to {name}, {street}, {postcode} {city}.",
            (
                "Send a package of {weight_kg} kg by express to {name} at {street}, {city}, "
                "postcode {postcode}.",
                {"express": True},
            ),
            "Please book delivery of {weight_kg} kg to {name}; address {street}, {city} "
            "{postcode}.",
            (
                "I need next-day shipping for {weight_kg} kg to {name}, {street}, {city} "
                "({postcode}).",
                {"express": True},
            ),
        ),
        _recipient,
        (Step("ship_parcel"),),
        _arrived,
    ),
    Task(
        "typed.register_attendee",
        "single",
        wordings(
            "Register {first_name} {last_name} ({email}) for {event_code}.",
            "Sign up {first_name} {last_name}, e-mail {email}, for event {event_code}; "
            "dietary needs: {dietary_needs_text}.",
            "Add {first_name} {last_name} with address {email} to the {event_code} attendees.",
            "Please enrol {first_name} {last_name} <{email}> in {event_code}, catering "
            "{dietary_needs_text}.",
        ),
        _attendee,
        (Step("register_attendee"),),
        "Registered {r[0][name]}: registration {r[0][registration]}.",
    ),
    Task(
        "typed.scale_recipe",
        "single",
        wordings(
            "My recipe for {servings_from} uses {ingredients_text}. Scale it to "
            "{servings_to} servings.",
            "Adjust {ingredients_text} (serves {servings_from}) to serve {servings_to}.",
            "How much of each do I need for {servings_to} people if {servings_from} need "
            "{ingredients_text}?",
            "Convert a {servings_from}-serving recipe with {ingredients_text} to "
            "{servings_to} servings.",
        ),
        _recipe,
        (Step("scale_recipe"),),
        _scaled,
    ),
    Task(
        "typed.reserve_table",
        "single",
        wordings(
            "Book a table for {guests} at {restaurant} on {date} at {time}.",
            "Reserve {restaurant} for {guests} people, {date}, {time}, {seating} seating.",
            "Can you get us a table at {restaurant} at {time} on {date}? We are {guests}.",
            "I'd like a {seating} table for {guests} at {restaurant}, {date} {time}.",
        ),
        _table,
        (Step("reserve_table"),),
        "Reserved {r[0][restaurant]} for {r[0][guests]} on {r[0][when]} ({r[0][seating]}); "
        "confirmation {r[0][confirmation]}.",
    ),
    Task(
        "typed.plan_route",
        "single",
        wordings(
            "Plan a route from {stops_text}.",
            "Give me a {mode} route visiting {stops_text} in that order.",
            ("Route me through {stops_text} by car, avoiding toll roads.", {"avoid_tolls": True}),
            "How far is it going {stops_text} by {mode}?",
        ),
        _route,
        (Step("plan_route"),),
        "The route is {r[0][total_km]} km, about {r[0][hours]} hours by {r[0][mode]}.",
    ),
    Task(
        "typed.log_expense",
        "single",
        wordings(
            "Log an expense of {amount} for {category} on {date}.",
            "Record {amount} spent on {category} on {date}, note: {note}.",
            "Add {amount} to my {category} budget for {date}.",
            "I paid {amount} on {date} for {note}; file it under {category}.",
        ),
        _expense,
        (Step("log_expense"),),
        "Logged {r[0][amount]} under {r[0][category]} on {r[0][date]} (entry {r[0][entry]}).",
    ),
    Task(
        "typed.filter_products",
        "single",
        wordings(
            "Show me {category} under {max_price} dollars.",
            (
                "Which {category} under ${max_price} are in stock right now?",
                {"in_stock_only": True},
            ),
            "Find {category} from {brands_text} that cost at most {max_price} USD.",
            "List {category} below {max_price} USD, brands {brands_text} only.",
        ),
        _products,
        (Step("filter_products"),),
        _products_found,
    ),
    Task(
        "typed.shopping_list",
        "single",
        wordings(
            "Make a shopping list called {title} with {items_text}.",
            ("Create a shared list '{title}' for the household: {items_text}.", {"shared": True}),
            "Start a list named {title}: {items_text}.",
            "New shopping list {title}, items {items_text}.",
        ),
        _shopping,
        (Step("create_shopping_list"),),
        "Created the list {r[0][title]} with {r[0][items]} items.",
    ),
]

SERVICES_PARALLEL = [
    Task(
        "typed.parallel.expenses",
        "parallel",
        wordings(
            "Log {amount} for {category} and {amount2} for transport, both on {date}.",
            "Record two expenses on {date}: {amount} ({category}) and {amount2} (transport).",
            "On {date} I spent {amount} on {category} and {amount2} on transport; log both.",
            "Add {amount} under {category} and {amount2} under transport for {date}.",
        ),
        lambda rng: {**_expense(rng), "amount2": rng.choice([3.2, 18, 42.5])},
        (
            Step(
                "log_expense",
                lambda s, r: [
                    {"amount": s["amount"], "category": s["category"], "date": s["date"]},
                    {"amount": s["amount2"], "category": "transport", "date": s["date"]},
                ],
            ),
        ),
        lambda s, r: (
            "Logged both: " + " and ".join(f"{e['amount']} ({e['category']})" for e in r[0]) + "."
        ),
    ),
]

TYPED_TASKS: list[Task] = [*MATH, *MATH_PARALLEL, *SERVICES, *SERVICES_PARALLEL]
