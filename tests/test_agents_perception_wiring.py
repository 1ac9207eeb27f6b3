"""An agent reads attachments through perception before its model sees the message."""

from __future__ import annotations

from pathlib import Path

from hanlin.agents.agent import Agent
from hanlin.llm.messages import FilePart, TextPart, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.runner import Runner


async def test_a_csv_attachment_reaches_the_model_as_a_table(tmp_path: Path) -> None:
    table = tmp_path / "prices.csv"
    table.write_text("item,price\napple,3\npear,5\n")
    model = ScriptedModel(["Pears cost 5."])
    runner = Runner(Agent(name="reader", model=model))
    message = UserMessage(content=[TextPart(text="What do pears cost?"), FilePart(path=str(table))])
    result = await runner.run("t", message)
    assert result.final_answer == "Pears cost 5."
    seen = model.calls[0][-1]
    assert isinstance(seen, UserMessage) and isinstance(seen.content, list)
    text = seen.text()
    assert "[Document: prices.csv" in text and "| pear | 5 |" in text
    assert all(isinstance(part, TextPart) for part in seen.content)


async def test_a_corrupt_attachment_is_a_clear_error_and_the_thread_goes_on(tmp_path: Path) -> None:
    broken = tmp_path / "report.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    model = ScriptedModel(["fine"])
    runner = Runner(Agent(name="reader", model=model))
    failed = await runner.run(
        "t", UserMessage(content=[TextPart(text="Read it"), FilePart(path=str(broken))])
    )
    assert failed.error is not None and "report.pdf" in failed.error
    assert model.calls == [] and await runner.messages("t") == []
    ok = await runner.run("t", "hello")
    assert ok.final_answer == "fine"


async def test_runner_state_exposes_the_thread_state() -> None:
    runner = Runner(Agent(name="a", model=ScriptedModel(["hi"])))
    await runner.run("s", "hello")
    state = await runner.state("s")
    assert state["final_answer"] == "hi" and len(state["messages"]) == 2
    assert await runner.state("unknown") == {}


async def test_an_attachment_reaches_every_debater_through_the_runner(tmp_path: Path) -> None:
    """Teams perceive like agents: the runner turns the file into text before round one."""
    from hanlin import Debate, DebateAgent

    table = tmp_path / "scores.csv"
    table.write_text("team,score\nred,41\nblue,17\n")
    models = [ScriptedModel(["\\boxed{58}", "\\boxed{58}"]) for _ in range(2)]
    debate = Debate(
        agents=[DebateAgent(name=f"d{i}", model=m) for i, m in enumerate(models)], rounds=2
    )
    message = UserMessage(
        content=[TextPart(text="What is the sum of the scores?"), FilePart(path=str(table))]
    )
    result = await Runner(debate).run("t", message)
    assert result.error is None and result.final_answer is not None and "58" in result.final_answer
    for model in models:
        first_prompt = model.calls[0][-1].text()
        assert "[Document: scores.csv" in first_prompt and "| red | 41 |" in first_prompt


async def test_a_corrupt_attachment_fails_a_team_turn_before_any_model_call(tmp_path: Path) -> None:
    from hanlin import Debate, DebateAgent

    broken = tmp_path / "notes.docx"
    broken.write_bytes(b"PK\x03\x04 not a real docx")
    model = ScriptedModel(["\\boxed{1}"])
    runner = Runner(Debate(agents=[DebateAgent(name="solo", model=model)], rounds=1))
    failed = await runner.run(
        "t", UserMessage(content=[TextPart(text="Read"), FilePart(path=str(broken))])
    )
    assert failed.error is not None and "notes.docx" in failed.error
    assert model.calls == []
