"""Tools on the same subject as a request that still cannot serve it: "no tool fits" cases
that look like calls.

Withholding the fitting tool and offering unrelated ones teaches a model to decline when
the subject is foreign, which it learns easily. The hard case is the one a function-calling
benchmark's irrelevance items pose: the one function offered shares the request's subject
(a triangle's perimeter asked, a circle's area offered). Each group below holds tools of one
subject none of which can do another's job, so withholding one and offering the rest makes
such a case. Tools that can stand in for each other (a forecast for the current weather, a
summary's mean for an average) are kept out of each other's groups.
"""

from __future__ import annotations

from random import Random

SUBJECTS: tuple[tuple[str, ...], ...] = (
    ("search_flights", "search_hotels", "search_restaurants"),
    ("create_calendar_event", "list_calendar_events"),
    ("get_paper_details", "get_papers_by_keywords", "get_paper_citations"),
    ("calculate_loan_payment", "calculate_compound_interest", "split_bill"),
    ("check_prime", "greatest_common_divisor", "sort_numbers"),
    ("describe_numbers", "check_prime", "greatest_common_divisor"),
    ("solve_quadratic", "shape_area", "kinetic_energy"),
    ("ship_parcel", "register_attendee", "reserve_table"),
    ("filter_products", "create_shopping_list", "scale_recipe"),
)


def neighbours(tool: str) -> list[str]:
    """The tools sharing a subject with ``tool`` that cannot do what it does, in a fixed
    order (empty when it has none)."""
    found = {name for group in SUBJECTS if tool in group for name in group}
    found.discard(tool)
    return sorted(found)


def near_miss_offer(rng: Random, tool: str, most: int) -> list[str]:
    """One to ``most`` of ``tool``'s neighbours, offered in its place; empty when it has
    none."""
    around = neighbours(tool)
    if not around:
        return []
    return rng.sample(around, rng.randint(1, min(most, len(around))))
