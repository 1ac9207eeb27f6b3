"""Which proposed calls the call writer keeps, replaces or turns down, with scripted proposals.

The model's side (what it proposes) is scripted here; the real model writes calls in
``test_llm_tool_similarity``. What is tested is the writer's judgement of each proposal.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tool_spec_support import spec

from hanlin.llm.call_proposals import Forbid, Proposal
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_calls import MAX_PROPOSALS, FurtherTool, write_calls
from hanlin.llm.value_copy import Copying

FORECAST = spec(
    "forecast",
    "The weather forecast for a city.",
    optional=("unit",),
    city="string",
    days="integer",
    unit={"type": "string", "enum": ["celsius", "fahrenheit"]},
)
INVEST = spec(
    "future_value",
    "The future value of an investment.",
    optional=("monthly",),
    amount="number",
    rate="number",
    years="integer",
    monthly="boolean",
)


def block(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


class Scripted:
    """Proposes the given calls in order, then repeats the last one. Asked to copy values,
    it writes its last proposal again, or what ``copies`` holds for those parameters (with
    the likelihood ``likelihoods`` gives it)."""

    def __init__(
        self,
        *calls: tuple[str, dict[str, Any]],
        copies: dict[frozenset[str], tuple[str, dict[str, Any]]] | None = None,
        likelihoods: dict[frozenset[str], float] | None = None,
    ) -> None:
        self.calls = [block(name, arguments) for name, arguments in calls]
        self.copies = {keys: block(*call) for keys, call in (copies or {}).items()}
        self.likelihoods = likelihoods or {}
        self.copied: list[Copying] = []
        self.last = ""
        self.cancelled = threading.Event()
        self.sampled = 0
        self.prefixes: list[list[int]] = []

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.prefixes.append(prefix)
        self.sampled += 10
        if copy:
            self.copied.append(copy)
            text = self.copies.get(copy.keys, self.last)
            logprob = self.likelihoods.get(copy.keys, 0.0)
            return Proposal(text, "stop", [1] * 10, [1.0] * 10, None, copy, logprob)
        text = self.calls.pop(0) if len(self.calls) > 1 else self.calls[0]
        self.last = text
        return Proposal(text, "stop", [1] * 10, [1.0] * 10)

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        return []

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: list[int]) -> str:
        return "".join(map(chr, tokens))


def written(proposer: Scripted, question: str, tool: ToolSpec) -> tuple[list[dict], list[str]]:
    shown: list[str] = []
    result = write_calls(proposer, [0], question, tool, 4, 400, shown.append)
    calls = [json.loads(b.split("\n")[1])["arguments"] for b in result.blocks]
    assert "".join(shown) == result.text  # each kept block is shown once, in order
    return calls, shown


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


CONVERT = spec(
    "convert_currency",
    "Convert an amount of money.",
    amount="number",
    source="string",
    target="string",
)


def written_with_others(
    question: str,
    first: Scripted,
    others: list[tuple[ToolSpec, Scripted]],
    words: str = "",
    asked: bool = False,
) -> tuple[list[tuple[str, dict]], list[str]]:
    """The calls written for FORECAST and then ``others``, whose values are checked against
    ``words`` (by default the whole question)."""
    shown: list[str] = []
    more = [FurtherTool(t, p, words or question, asked) for t, p in others]
    result = write_calls(first, [0], question, FORECAST, 4, 400, shown.append, more)
    calls = [json.loads(b.split("\n")[1]) for b in result.blocks]
    assert "".join(shown) == result.text
    assert result.sampled == first.sampled + sum(p.sampled for _t, p in others)
    return [(c["name"], c["arguments"]) for c in calls], shown


def test_a_further_tool_is_called_for_values_no_earlier_call_used() -> None:
    question = "Forecast for Oslo, next 3 days, and convert 100 euros to kroner."
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    convert = Scripted(("convert_currency", {"amount": 100, "source": "euros", "target": "kroner"}))
    calls, shown = written_with_others(question, forecast, [(CONVERT, convert)])
    assert calls == [
        ("forecast", {"city": "Oslo", "days": 3}),
        ("convert_currency", {"amount": 100, "source": "euros", "target": "kroner"}),
    ]
    assert len(shown) == 2 and shown[1].startswith("\n<tool_call>")
    # The further tool's proposals start after the first tool's kept call.
    after = "".join(map(chr, convert.prefixes[0][1:]))
    assert after == block("forecast", {"city": "Oslo", "days": 3}) + "\n"


def test_a_further_tool_that_only_reuses_earlier_values_is_not_called() -> None:
    question = "Forecast for Oslo for the next 3 days."
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    # Grounded (Oslo and 3 are stated) but nothing in it is new to the reply.
    convert = Scripted(("convert_currency", {"amount": 3, "source": "Oslo", "target": "Oslo"}))
    calls, _shown = written_with_others(question, forecast, [(CONVERT, convert)])
    assert calls == [("forecast", {"city": "Oslo", "days": 3})]
    assert len(convert.prefixes) == 1  # tried once, turned down


def test_a_further_tool_never_stands_in_for_a_first_call_that_failed() -> None:
    question = "Convert 100 euros to kroner."
    forecast = Scripted(("forecast", {"city": "Lima", "days": 9}))  # nothing of it is stated
    convert = Scripted(("convert_currency", {"amount": 100, "source": "euros", "target": "kroner"}))
    calls, shown = written_with_others(question, forecast, [(CONVERT, convert)])
    assert calls == [] and shown == []
    assert convert.prefixes == []  # the reply answers in words; no other tool is tried


def test_a_further_tool_asked_for_apart_is_tried_after_a_failed_first_call() -> None:
    question = "Forecast for Lima next week. Also convert 100 euros to kroner."
    forecast = Scripted(("forecast", {"city": "Quito", "days": 9}))  # nothing of it is stated
    fixed = ("convert_currency", {"amount": 100, "source": "euros", "target": "kroner"})
    convert = Scripted(fixed)
    sentence = "Also convert 100 euros to kroner."
    calls, _shown = written_with_others(question, forecast, [(CONVERT, convert)], sentence, True)
    assert calls == [fixed]
    # Its values are still checked against its own sentence, as a first call's are.
    made_up = Scripted(("convert_currency", {"amount": 7, "source": "Lima", "target": "yen"}))
    forecast = Scripted(("forecast", {"city": "Quito", "days": 9}))
    calls, _shown = written_with_others(question, forecast, [(CONVERT, made_up)], sentence, True)
    assert calls == []


def test_a_further_tool_asked_for_apart_may_reuse_values_but_not_its_own() -> None:
    question = "The forecast and the exchange rate for Oslo over 3 days, please."
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    rate = spec("exchange_rate", "Exchange rate in a city.", city="string", days="integer")
    # Both of its proposals reuse the forecast's values; the second repeats its first.
    again = Scripted(("exchange_rate", {"city": "Oslo", "days": 3}))
    calls, _shown = written_with_others(question, forecast, [(rate, again)], "", True)
    assert calls == [
        ("forecast", {"city": "Oslo", "days": 3}),
        ("exchange_rate", {"city": "Oslo", "days": 3}),
    ]
    # Not asked for apart, the same proposal is turned down: nothing in it is new.
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    again = Scripted(("exchange_rate", {"city": "Oslo", "days": 3}))
    calls, _shown = written_with_others(question, forecast, [(rate, again)])
    assert calls == [("forecast", {"city": "Oslo", "days": 3})]


def test_the_proposal_bound_holds_across_tools() -> None:
    question = "Forecast for Oslo, next 3 days, and convert 100 euros to kroner."
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    convert = Scripted(("convert_currency", {"amount": 1, "source": "x", "target": "y"}))
    others = [(CONVERT, convert)] * 20
    written_with_others(question, forecast, others)
    assert len(forecast.prefixes) + len(convert.prefixes) <= MAX_PROPOSALS


def test_a_further_tool_takes_its_values_from_the_sentence_it_fits() -> None:
    question = "Forecast for Oslo, next 3 days. Also convert 100 euros to kroner."
    sentence = "Also convert 100 euros to kroner."
    forecast = Scripted(("forecast", {"city": "Oslo", "days": 3}))
    fixed = ("convert_currency", {"amount": 100, "source": "euros", "target": "kroner"})
    # The model carries "Oslo" over from the call before; the sentence holds no such word.
    convert = Scripted(
        ("convert_currency", {"amount": 100, "source": "Oslo", "target": "kroner"}),
        copies={frozenset({"source"}): fixed},
    )
    calls, _shown = written_with_others(question, forecast, [(CONVERT, convert)], sentence)
    assert calls == [("forecast", {"city": "Oslo", "days": 3}), fixed]
    assert [c.keys for c in convert.copied] == [frozenset({"source"})]


class Barring(Scripted):
    """Writes the sample size it is not barred from: 150, then 25, then 50 (each barred
    token is the first digit of the number it wrote before)."""

    SIZES = (150, 25, 50)

    def __init__(self) -> None:
        super().__init__(("interval", {"size": 150, "mean": 25}))
        self.barred: list[Forbid | None] = []

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.barred.append(forbid)
        size = self.SIZES[0 if forbid is None else len(forbid) - 1]
        text = block("interval", {"size": size, "mean": 25})
        tokens = self.tokenize(text)
        return Proposal(text, "stop", tokens, [1.0] * len(tokens), forbid)

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        at = proposal.text.index('"size": ') + len('"size": ')
        return [(at, proposal.tokens[at])]


INTERVAL = spec("interval", "A confidence interval for a mean.", size="integer", mean="number")


def test_a_further_call_bars_each_used_number_until_it_writes_the_unused_one() -> None:
    question = "An interval for a mean of 25 with a sample of 150, and again with a sample of 50."
    proposer = Barring()
    calls, _ = written(proposer, question, INTERVAL)
    assert calls == [{"size": 150, "mean": 25}, {"size": 50, "mean": 25}]
    at = block("interval", {"size": 150, "mean": 25}).index("150")
    assert (at, ord("1"), ord("2")) in proposer.barred  # 150 barred, then 25 as well


def test_a_further_call_bars_no_more_once_every_stated_number_is_used() -> None:
    proposer = Barring()
    calls, _ = written(proposer, "An interval for a mean of 25 with a sample of 150.", INTERVAL)
    assert calls == [{"size": 150, "mean": 25}]
    assert all(forbid is None or len(forbid) == 2 for forbid in proposer.barred)


def test_a_number_written_as_a_word_is_no_reason_to_bar_more() -> None:
    proposer = Barring()
    question = "An interval for a mean of 25 with a sample of 150, from the two samples."
    calls, _ = written(proposer, question, INTERVAL)
    assert calls == [{"size": 150, "mean": 25}]
    assert all(forbid is None or len(forbid) == 2 for forbid in proposer.barred)


def test_a_writer_other_tools_follow_leaves_the_unused_numbers_to_them() -> None:
    question = "An interval for a mean of 25 with a sample of 150, and the factorial of 50."
    proposer = Barring()
    factorial = spec("factorial", "The factorial of a number.", number="integer")
    then = FurtherTool(factorial, Scripted(("factorial", {"number": 50})), question, True)
    shown: list[str] = []
    result = write_calls(proposer, [0], question, INTERVAL, 4, 400, shown.append, [then])
    calls = [json.loads(b.split("\n")[1]) for b in result.blocks]
    assert [c["name"] for c in calls] == ["interval", "factorial"]
    assert calls[1]["arguments"] == {"number": 50}
    assert all(forbid is None or len(forbid) == 2 for forbid in proposer.barred)


def test_a_first_call_may_take_values_from_another_tools_sentence() -> None:
    question = "Buy 50 shares of Apple. Also give the dividend payout if each share pays $1.30."
    payout = spec("dividend_payout", "Total dividend payout.", shares="integer", per_share="number")
    own = "Also give the dividend payout if each share pays $1.30."
    arguments = {"shares": 50, "per_share": 1.3}

    def calls_with(whole: str | None) -> list[dict]:
        result = write_calls(
            Scripted(("dividend_payout", arguments)),
            [0],
            own,
            payout,
            4,
            400,
            lambda _: None,
            whole_question=whole,
        )
        return [json.loads(b.split("\n")[1])["arguments"] for b in result.blocks]

    # Its own sentence states only the 1.30; the question states the 50 shares as well.
    assert calls_with(None) == []
    assert calls_with(question) == [arguments]
