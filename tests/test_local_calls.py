"""Which proposed calls the call writer keeps, replaces or turns down, with scripted proposals.

The model's side (what it proposes) is scripted here (``call_writer_support``); the real
model writes calls in ``test_llm_tool_similarity``. What is tested is the writer's judgement
of each proposal. Calls to further tools are in ``test_local_calls_further``.
"""

from __future__ import annotations

from typing import Any

from call_writer_support import FORECAST, INVEST, Scripted, block, written
from tool_spec_support import spec

from hanlin.llm.call_proposals import Forbid, Proposal
from hanlin.llm.local_calls import MAX_PROPOSALS, write_calls
from hanlin.llm.value_copy import Copying


def test_a_repeat_that_adds_a_stated_value_replaces_the_call() -> None:
    proposer = Scripted(
        ("forecast", {"city": "Oslo", "days": 3}),
        ("forecast", {"city": "Oslo", "days": 3, "unit": "celsius"}),
    )
    calls, shown = written(proposer, "Forecast for Oslo, next 3 days, in celsius.", FORECAST)
    assert calls == [{"city": "Oslo", "days": 3, "unit": "celsius"}]
    assert len(shown) == 1  # the replaced call was never shown
    # Later proposals see the kept calls one per line, with no blank line between them.
    last = "".join(map(chr, proposer.prefixes[-1][1:]))
    assert last == block("forecast", calls[0]) + "\n"


def test_a_call_for_other_stated_values_is_kept_beside_the_first() -> None:
    proposer = Scripted(
        ("forecast", {"city": "Oslo", "days": 3}),
        ("forecast", {"city": "Bergen", "days": 3}),
    )
    calls, shown = written(proposer, "Forecast for Oslo and Bergen, next 3 days.", FORECAST)
    assert calls == [{"city": "Oslo", "days": 3}, {"city": "Bergen", "days": 3}]
    assert shown[1].startswith("\n<tool_call>")


def test_a_call_that_differs_in_an_optional_stated_value_is_kept() -> None:
    proposer = Scripted(
        ("forecast", {"city": "Oslo", "days": 3, "unit": "celsius"}),
        ("forecast", {"city": "Oslo", "days": 3, "unit": "fahrenheit"}),
    )
    question = "Forecast for Oslo, 3 days, in celsius and in fahrenheit."
    calls, _ = written(proposer, question, FORECAST)
    assert [c["unit"] for c in calls] == ["celsius", "fahrenheit"]


def test_a_percent_written_as_a_fraction_is_the_same_call() -> None:
    proposer = Scripted(
        ("future_value", {"amount": 5000, "rate": 5, "years": 3}),
        ("future_value", {"amount": 5000, "rate": 0.05, "years": 3}),
    )
    question = "What will $5000 be worth at 5% a year after 3 years?"
    calls, _ = written(proposer, question, INVEST)
    # One call, its rate read as a fraction (the parameter does not speak of percent).
    assert calls == [{"amount": 5000, "rate": 0.05, "years": 3}]


def test_a_number_short_of_its_zeros_is_put_back() -> None:
    proposer = Scripted(("future_value", {"amount": 1000, "rate": 0.05, "years": 10}))
    question = "What will $10000 be worth at 5% a year after 10 years?"
    calls, _ = written(proposer, question, INVEST)
    assert calls == [{"amount": 10000, "rate": 0.05, "years": 10}]


def test_optional_values_the_question_does_not_state_are_dropped() -> None:
    unasked = {"amount": 2000, "rate": 4, "years": 2, "monthly": False}
    calls, _ = written(Scripted(("future_value", unasked)), "Grow 2000 at 4% for 2 years.", INVEST)
    asked = {"amount": 2000, "rate": 4, "years": 2, "monthly": True}
    question = "Grow 2000 at 4% for 2 years, compounded monthly."
    stated, _ = written(Scripted(("future_value", asked)), question, INVEST)
    assert calls == [{"amount": 2000, "rate": 0.04, "years": 2}]
    assert stated == [{"amount": 2000, "rate": 0.04, "years": 2, "monthly": True}]


def test_the_reply_budget_counts_the_call_kept_not_the_proposal() -> None:
    long_guess = {"city": "Oslo", "days": 3, "note": "x" * 60}
    kept = block("forecast", {"city": "Oslo", "days": 3})
    question = "Forecast for Oslo, next 3 days."
    proposer = Scripted(("forecast", long_guess))
    # Room for the kept call (one token per character here), not for what was proposed.
    result = write_calls(proposer, [0], question, FORECAST, 1, len(kept) + 1, lambda _: None)
    assert result.blocks == [kept] and not result.out_of_tokens


def test_a_first_call_longer_than_the_reply_is_shown_cut_and_ends_on_length() -> None:
    proposer = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    shown: list[str] = []
    result = write_calls(proposer, [0], "Oslo, 3 days.", FORECAST, 4, 20, shown.append)
    assert result.blocks == [] and result.out_of_tokens
    assert result.cut_off == block("forecast", {"city": "Oslo", "days": 3})[:20]


class Retried(Scripted):
    """Proposes its first call, then, once told where to change it, the second."""

    def __init__(self, *calls: tuple[str, dict[str, Any]]) -> None:
        super().__init__(*calls)
        self.asked_at: list[list[int] | None] = []

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        self.asked_at.append(starts)
        return [(0, 0)]


def test_a_first_call_with_an_invented_value_is_tried_again_from_that_value() -> None:
    invented = {"city": "Paris", "days": 7, "unit": "celsius"}
    proposer = Retried(("forecast", invented), ("forecast", {"city": "Oslo", "days": 3}))
    calls, _ = written(proposer, "Forecast for Oslo, next 3 days.", FORECAST)
    assert calls == [{"city": "Oslo", "days": 3}]
    # The places to change are the invented values, not the enum choice.
    text = block("forecast", invented)
    assert proposer.asked_at[0] == [text.index("Paris"), text.index("7")]


def test_a_looping_value_is_cut_back_and_a_flag_the_question_names_is_set() -> None:
    tool = spec(
        "forecast",
        "The weather forecast for a city.",
        optional=("detailed",),
        city="string",
        days="integer",
        detailed="boolean",
    )
    proposer = Scripted(("forecast", {"city": "Oslo_3_3_3", "days": 3, "detailed": False}))
    calls, _ = written(proposer, "A detailed forecast for Oslo, next 3 days.", tool)
    assert calls == [{"city": "Oslo_3", "days": 3, "detailed": True}]


def test_a_call_that_puts_a_misread_value_right_replaces_the_last() -> None:
    proposer = Scripted(
        ("future_value", {"amount": 10, "rate": 5, "years": 10}),
        ("future_value", {"amount": 5000, "rate": 5, "years": 10}),
    )
    question = "What will $5000 be worth at 5% a year after 10 years?"
    calls, shown = written(proposer, question, INVEST)
    assert calls == [{"amount": 5000, "rate": 0.05, "years": 10}]
    assert len(shown) == 1  # the misread call was never shown


QUADRATIC = spec("find_roots", "Roots of ax^2 + bx + c = 0.", a="number", b="number", c="number")


def test_a_first_call_mostly_made_up_declines_the_reply() -> None:
    proposer = Scripted(("find_roots", {"a": 1, "b": 1, "c": 0}))
    calls, shown = written(
        proposer, "What are the roots of the linear equation bx + c = 0?", QUADRATIC
    )
    assert calls == [] and shown == []


def test_a_first_call_is_judged_once_no_proposal_can_replace_it() -> None:
    # Kept with one value of two stated, then put right by the next proposal: the final
    # call is what counts, so the reply calls.
    proposer = Scripted(
        ("forecast", {"city": "Bear Lake", "days": 3}),
        ("forecast", {"city": "Yellowstone", "days": 3}),
    )
    calls, shown = written(proposer, "Forecast for Yellowstone, next 3 days.", FORECAST)
    assert calls == [{"city": "Yellowstone", "days": 3}] and len(shown) == 1
    # Mostly stated, a further call with a made-up value beside it does not undo the first.
    forecast = Scripted(
        ("forecast", {"city": "Oslo", "days": 3}), ("forecast", {"city": "Bergen", "days": 3})
    )
    calls, shown = written(forecast, "Forecast for Oslo and Bergen, next 3 days.", FORECAST)
    assert calls == [{"city": "Oslo", "days": 3}, {"city": "Bergen", "days": 3}] and len(shown) == 2


class Cycling(Scripted):
    """Proposes its calls round and round, for as long as it is asked."""

    def __init__(self, *calls: tuple[str, dict[str, Any]]) -> None:
        super().__init__(*calls)
        self.asked = 0
        self.turn = 0

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.asked += 1
        if copy:
            return Proposal(self.last, "stop", [1] * 10, [1.0] * 10)
        self.last = self.calls[self.turn % len(self.calls)]
        self.turn += 1
        return Proposal(self.last, "stop", [1] * 10, [1.0] * 10)

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        return [(0, 0), (1, 0)]


def test_proposals_that_keep_replacing_each_other_end_the_reply() -> None:
    tool = spec(
        "find_instrument",
        "Find a musical instrument within a budget.",
        optional=("make",),
        budget="number",
        kind="string",
        make="string",
    )
    proposer = Cycling(
        ("find_instrument", {"budget": 1000, "kind": "object", "make": "A-1000"}),
        ("find_instrument", {"budget": 1000, "kind": "acoustic", "make": "Maker of it"}),
        ("find_instrument", {"budget": 1000, "kind": "object", "make": "instrument"}),
    )
    question = "Find an acoustic instrument within my budget of $1000."
    calls, _ = written(proposer, question, tool)
    # The acoustic call takes up more of the question than the first and replaces it; the
    # third only rewrites values and adds nothing stated, so it is no correction.
    assert calls == [{"budget": 1000, "kind": "acoustic"}]
    assert proposer.asked <= MAX_PROPOSALS


def test_a_reply_samples_at_most_so_many_proposals() -> None:
    colours = "red green blue yellow orange purple pink brown black white grey gold silver"
    words = (colours + " teal navy olive maroon coral ivory amber").split()
    tool = spec("paint", "Paint a car in some colours.", colours="string")
    # Each proposal names one colour more, so each puts the last right and replaces it.
    proposer = Cycling(*[("paint", {"colours": " ".join(words[:n])}) for n in range(1, 21)])
    calls, _ = written(proposer, f"Paint my car {' '.join(words)}.", tool)
    assert proposer.asked == MAX_PROPOSALS
    assert calls == [{"colours": " ".join(words[:MAX_PROPOSALS])}]


RESTAURANTS = spec(
    "find_restaurant",
    "Find a restaurant.",
    optional=("date",),
    location="string",
    cuisine="string",
    date="string",
)


def test_a_made_up_string_is_written_again_as_a_copy_from_the_question() -> None:
    made_up = {"location": "Manchester", "cuisine": "Thai", "date": "someday"}
    copied = {"location": "Manhattan", "cuisine": "Thai", "date": "someday"}
    proposer = Scripted(
        ("find_restaurant", made_up),
        copies={frozenset({"location"}): ("find_restaurant", copied)},
    )
    question = "Find a Thai restaurant in Manhattan."
    calls, _ = written(proposer, question, RESTAURANTS)
    assert calls == [{"location": "Manhattan", "cuisine": "Thai"}]
    # Only the required made-up name was copied: Thai is stated, and the optional date is
    # dropped unstated (a copy of it would be kept instead of the tool's default).
    assert [c.keys for c in proposer.copied] == [frozenset({"location"})]


def test_a_copy_that_makes_something_else_up_is_not_kept() -> None:
    made_up = {"location": "Manchester", "cuisine": "Thai"}
    drifted = {"location": "Manhattan", "cuisine": "Italian"}
    proposer = Scripted(
        ("find_restaurant", made_up),
        copies={frozenset({"location"}): ("find_restaurant", drifted)},
    )
    calls, _ = written(proposer, "Find a Thai restaurant in Manhattan.", RESTAURANTS)
    # The value that drifted was copied too in a second try, which gave the first writing
    # back; neither try left fewer values made up, so the first writing stands, and with
    # half its values made up the reply declines.
    assert calls == []
    assert [c.keys for c in proposer.copied] == [
        frozenset({"location"}),
        frozenset({"location", "cuisine"}),
    ]


def test_a_text_held_twice_is_left_to_the_likelier_argument() -> None:
    doubled = {"location": "Boston", "cuisine": "Boston", "date": "Sunday"}
    proposer = Scripted(
        ("find_restaurant", doubled),
        copies={
            frozenset({"location"}): ("find_restaurant", {**doubled, "location": "sushi"}),
            frozenset({"cuisine"}): ("find_restaurant", {**doubled, "cuisine": "sushi"}),
        },
        likelihoods={frozenset({"location"}): -9.0, frozenset({"cuisine"}): -4.0},
    )
    question = "Find a sushi restaurant in Boston open on Sunday."
    calls, _ = written(proposer, question, RESTAURANTS)
    assert calls == [{"location": "Boston", "cuisine": "sushi", "date": "Sunday"}]
    assert {c.avoid for c in proposer.copied} == {
        (("location", "boston"),),
        (("cuisine", "boston"),),
    }
    # A text the question states twice may be held twice.
    again = Scripted(("find_restaurant", {"location": "Boston", "cuisine": "Boston"}))
    written(again, "Boston-style food in Boston, please.", RESTAURANTS)
    assert again.copied == []


def test_a_text_set_apart_must_take_up_more_of_the_question() -> None:
    movies = spec("find_movies", "Find movies.", director="string", cast="string")
    doubled = {"director": "Tim Burton", "cast": "Tim Burton"}
    proposer = Scripted(
        ("find_movies", doubled),
        copies={
            frozenset({"director"}): ("find_movies", {**doubled, "director": "Tim"}),
            frozenset({"cast"}): ("find_movies", {**doubled, "cast": "Burton in it"}),
        },
    )
    calls, _ = written(proposer, "Find me a movie by Tim Burton with my family in it.", movies)
    # Neither variant brings a word of the question the call did not hold.
    assert calls == [doubled]
    assert len(proposer.copied) == 2
