"""Calls to further tools after the first, and what each may take from the question, with
scripted proposals (``call_writer_support``)."""

from __future__ import annotations

import json

from call_writer_support import FORECAST, Scripted, block, written
from tool_spec_support import spec

from hanlin.llm.call_proposals import Forbid, Proposal
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_calls import MAX_PROPOSALS, FurtherTool, write_calls
from hanlin.llm.value_copy import Copying

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
