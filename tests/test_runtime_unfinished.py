"""A process that dies after a step's results were saved but before the next checkpoint
leaves a thread that is unfinished though LangGraph reports no next node: the saved step's
writes are pending. The runner (and the service, which asks the same question) must see it
as unfinished and continue it, without running the saved step's tool again."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from hanlin import Agent, Runner, ScriptedModel, tool
from hanlin.llm.scripted import call

CALLS: list[str] = []


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    CALLS.append(key)
    return f"{key}=1"


class DiesBeforeCheckpointAfterTools(InMemorySaver):
    """Refuses the checkpoint that follows the tools step, as a process killed then would."""

    dropped = False

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if metadata.get("step") == 2 and not self.dropped:
            self.dropped = True
            raise RuntimeError("the process died")
        return await super().aput(config, checkpoint, metadata, new_versions)


async def test_a_thread_cut_after_a_saved_step_is_unfinished_and_continues() -> None:
    CALLS.clear()
    saver = DiesBeforeCheckpointAfterTools()
    first = Runner(
        Agent(name="a", model=ScriptedModel([call("lookup", key="k"), "x"]), tools=[lookup]),
        checkpointer=saver,
    )
    cut = await first.run("t", "go")
    assert cut.error is not None and "died" in cut.error and CALLS == ["k"]
    assert await first.is_unfinished("t")

    second = Runner(
        Agent(name="a", model=ScriptedModel(["the answer"]), tools=[lookup]), checkpointer=saver
    )
    assert await second.is_unfinished("t")
    done = await second.resume("t")
    assert done.final_answer == "the answer" and done.error is None
    assert CALLS == ["k"], "the saved tool result is reused, not run again"
    assert not await second.is_unfinished("t")
