"""Chain of thought with a scripted model: zero-shot and few-shot prompts, answer extraction."""

from __future__ import annotations

from hanlin.agents.planners import ChainOfThoughtAgent
from hanlin.llm.messages import AssistantMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.planner.chain_of_thought import CoTExemplar, extract_answer
from hanlin.runtime.runner import Runner


async def test_zero_shot_prompt_and_extraction_after_the_marker() -> None:
    model = ScriptedModel(["There are 3 boxes of 4 apples. 3*4 = 12. The answer is 12.\n"])
    result = await Runner(ChainOfThoughtAgent(name="cot", model=model)).run(
        "t", "3 boxes of 4 apples: how many?"
    )
    assert model.calls[0][-1] == UserMessage(
        content="Q: 3 boxes of 4 apples: how many?\nA: Let's think step by step."
    )
    assert "The answer is <answer>" in model.calls[0][0].content
    assert result.final_answer == "12" and model.served == 1


async def test_few_shot_exemplars_precede_the_question() -> None:
    model = ScriptedModel(["Roger has 5 + 6 = 11. So the answer is: 11"])
    exemplar = CoTExemplar(
        question="Roger has 5 balls and buys 6. How many?", reasoning="5 + 6 = 11.", answer="11"
    )
    agent = ChainOfThoughtAgent(
        name="cot", model=model, exemplars=[exemplar, exemplar.model_copy()]
    )
    result = await Runner(agent).run("t", "Jo has 2 and buys 3. How many?")
    shot = "Q: Roger has 5 balls and buys 6. How many?\nA: 5 + 6 = 11. The answer is 11.\n\n"
    assert model.calls[0][-1].content == f"{shot}{shot}Q: Jo has 2 and buys 3. How many?\nA:"
    assert result.final_answer == "11"


async def test_missing_marker_asks_for_the_answer_in_a_second_stage() -> None:
    model = ScriptedModel(["Two and three make five.", "5."])
    result = await Runner(ChainOfThoughtAgent(name="cot", model=model, marker="Final answer:")).run(
        "t", "2+3?"
    )
    follow_up = model.calls[1]
    assert follow_up[-2] == AssistantMessage(content="Two and three make five.")
    assert follow_up[-1] == UserMessage(content="Therefore, final answer:")
    assert result.final_answer == "5"


def test_extract_answer_uses_the_last_marker_line() -> None:
    assert extract_answer("The answer is 3? No. The answer is 4.\nThanks") == "4"
    assert extract_answer("final answer: Paris", "Final answer:") == "Paris"
    assert extract_answer("no marker here") is None
    assert extract_answer("The answer is") is None
