"""Action tools that take structured input: nested objects, lists of objects, lists of
strings, enums and optional flags.

Real service APIs describe a parcel's recipient or a recipe's ingredients as objects, not
as loose strings; a model that only ever filled flat string slots has never written one.
Each tool returns what it would have done, with an id derived from its input, so the
results are reproducible.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import tool
from hanlin.training.data.catalogue_data import stable

Seating = Literal["indoor", "outdoor", "bar"]
TravelMode = Literal["driving", "walking", "cycling", "transit"]
ExpenseCategory = Literal["food", "transport", "housing", "leisure", "health"]
ProductCategory = Literal["laptops", "phones", "headphones", "cameras"]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Full name of the person.")
    street: str = Field(description="Street and house number.")
    city: str = Field(description="City.")
    postcode: str = Field(description="Postal code.")


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(description="Given name.")
    last_name: str = Field(description="Family name.")
    email: str = Field(description="E-mail address.")


class Ingredient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="What the ingredient is.")
    grams: float = Field(description="Quantity in grams.")


@tool
def ship_parcel(recipient: Address, weight_kg: float, express: bool = False) -> dict[str, Any]:
    """Book the shipping of a parcel to an address.

    Args:
        recipient: Who receives the parcel, and where.
        weight_kg: Weight of the parcel in kilograms.
        express: Next-day delivery instead of standard.
    """
    if weight_kg <= 0 or weight_kg > 30:
        raise ToolFailure("weight_kg must be above 0 and at most 30", ToolErrorKind.INVALID_VALUE)
    price = round(4.5 + weight_kg * 1.2 + (9.0 if express else 0.0), 2)
    return {
        "tracking": f"PX{stable(recipient.name, recipient.postcode, weight_kg) % 10**8:08d}",
        "to": f"{recipient.name}, {recipient.city}",
        "price": price,
        "days": 1 if express else 3,
    }


@tool
def register_attendee(
    attendee: Person, event_code: str, dietary_needs: list[str] | None = None
) -> dict[str, Any]:
    """Register a person for an event.

    Args:
        attendee: The person to register.
        event_code: Code of the event, e.g. CONF-2025.
        dietary_needs: Dietary requirements for the catering, if any.
    """
    return {
        "registration": f"{event_code}-{stable(attendee.email, event_code) % 10000:04d}",
        "name": f"{attendee.first_name} {attendee.last_name}",
        "dietary_needs": dietary_needs or [],
    }


@tool
def scale_recipe(ingredients: list[Ingredient], servings_from: int, servings_to: int) -> dict:
    """Scale a recipe's ingredient quantities to another number of servings.

    Args:
        ingredients: The recipe's ingredients with their quantities.
        servings_from: Servings the quantities are for.
        servings_to: Servings wanted.
    """
    if servings_from < 1 or servings_to < 1:
        raise ToolFailure("servings must be at least 1", ToolErrorKind.INVALID_VALUE)
    factor = servings_to / servings_from
    return {
        "servings": servings_to,
        "ingredients": [{"name": i.name, "grams": round(i.grams * factor, 1)} for i in ingredients],
    }


@tool
def reserve_table(
    restaurant: str, date: str, time: str, guests: int, seating: Seating = "indoor"
) -> dict[str, Any]:
    """Reserve a table at a restaurant.

    Args:
        restaurant: Name of the restaurant.
        date: Date as YYYY-MM-DD.
        time: Time as HH:MM (24-hour clock).
        guests: Number of people.
        seating: Where to sit.
    """
    if not 1 <= guests <= 20:
        raise ToolFailure(f"guests must be 1 to 20, got {guests}", ToolErrorKind.INVALID_VALUE)
    return {
        "confirmation": f"R{stable(restaurant, date, time, guests) % 10**6:06d}",
        "restaurant": restaurant,
        "when": f"{date} {time}",
        "guests": guests,
        "seating": seating,
    }


@tool
def plan_route(
    stops: list[str], mode: TravelMode = "driving", avoid_tolls: bool = False
) -> dict[str, Any]:
    """Plan a route through several places in order.

    Args:
        stops: Places to visit, in order; at least two.
        mode: How to travel.
        avoid_tolls: Avoid toll roads.
    """
    if len(stops) < 2:
        raise ToolFailure("give at least two stops", ToolErrorKind.INVALID_VALUE)
    speed = {"driving": 60, "walking": 5, "cycling": 18, "transit": 35}[mode]
    legs = [
        {"from": a, "to": b, "km": 3 + stable(a, b) % 80}
        for a, b in zip(stops, stops[1:], strict=False)
    ]
    km = sum(leg["km"] for leg in legs) * (1.1 if avoid_tolls else 1.0)
    return {"legs": legs, "total_km": round(km, 1), "hours": round(km / speed, 1), "mode": mode}


@tool
def log_expense(
    amount: float, category: ExpenseCategory, date: str, note: str | None = None
) -> dict[str, Any]:
    """Record an expense in the personal budget.

    Args:
        amount: Amount spent.
        category: Budget category.
        date: Date of the expense as YYYY-MM-DD.
        note: A short note.
    """
    return {
        "entry": f"E{stable(amount, category, date) % 10**5:05d}",
        "amount": amount,
        "category": category,
        "date": date,
        "note": note,
    }


@tool
def filter_products(
    category: ProductCategory,
    max_price: float,
    in_stock_only: bool = False,
    brands: list[str] | None = None,
) -> dict[str, Any]:
    """Find products of a category under a price.

    Args:
        category: Product category.
        max_price: Highest price in USD.
        in_stock_only: Only products that can ship now.
        brands: Only these brands.
    """
    makers = brands or ["Arlo", "Brisk", "Corvo"]
    found = [
        {
            "product": f"{maker} {category[:-1]} {n + 1}",
            "price": 50 + stable(maker, category, n) % 900,
            "in_stock": stable(maker, n) % 3 != 0,
        }
        for maker in makers
        for n in range(2)
    ]
    found = [p for p in found if p["price"] <= max_price and (p["in_stock"] or not in_stock_only)]
    return {"category": category, "products": found}


@tool
def create_shopping_list(title: str, items: list[str], shared: bool = False) -> dict[str, Any]:
    """Create a shopping list.

    Args:
        title: Name of the list.
        items: Things to buy.
        shared: Share the list with the household.
    """
    return {
        "list_id": f"L{stable(title, *items) % 10**5:05d}",
        "title": title,
        "items": len(items),
        "shared": shared,
    }


SERVICE_TOOLS = (
    ship_parcel,
    register_attendee,
    scale_recipe,
    reserve_table,
    plan_route,
    log_expense,
    filter_products,
    create_shopping_list,
)
