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
    failed = await runner.run("t", UserMessage(content=[TextPart(text="Read it"), FilePart(path=str(broken))]))
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
