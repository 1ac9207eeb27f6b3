"""An agent with long-term memory: recall into the prompt before the model, remember after.
Real Redis store, scripted model, deterministic embedder."""

from __future__ import annotations

import uuid

from memory_support import HashedBagOfWords

from hanlin.agents.agent import Agent
from hanlin.agents.memory import AgentMemory
from hanlin.contract.events import MemoryRecallEvent
from hanlin.llm.scripted import ScriptedModel
from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.runtime.runner import Runner


async def test_memories_are_recalled_per_user_and_turns_are_stored(redis_url: str) -> None:
    config = MemoryStoreConfig(prefix=f"agentmem-{uuid.uuid4().hex[:8]}")
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config) as store:
        await store.add("ann", "helper", "User: my cat is called Miso\nAI: Nice name!")
        await store.add("bob", "helper", "User: I live in Lyon\nAI: Lovely city.")
        model = ScriptedModel(["Your cat is Miso.", "Noted."])
        runner = Runner(Agent(name="helper", model=model, memory=AgentMemory(store, k=2)))

        result = await runner.run("t-ann", "what is my cat called?", user_id="ann")
        assert result.final_answer == "Your cat is Miso."
        system = model.calls[0][0].content
        assert "my cat is called Miso" in system and "Lyon" not in system
        recalls = [e for e in result.events if isinstance(e, MemoryRecallEvent)]
        assert recalls and any("Miso" in m for m in recalls[0].memories)

        stored = [v.record.text for v in await store.list("ann")]
        assert "User: what is my cat called?\nAI: Your cat is Miso." in stored
        await runner.run("t-bob", "hello", user_id="bob")
        assert "Miso" not in model.calls[1][0].content


async def test_short_term_window_folds_old_turns_and_keeps_the_history() -> None:
    from hanlin.llm.messages import Message, SystemMessage

    def reply(messages: list[Message]) -> str:
        last = messages[-1].text() if hasattr(messages[-1], "text") else ""
        if "summar" in last.lower() or "summar" in str(messages[0].content).lower():
            return "SUMMARY: the user talked about gardens."
        return "Noted. " + "words " * 20

    model = ScriptedModel([reply] * 40)
    runner = Runner(Agent(name="a", model=model, short_term_tokens=200))
    for index in range(6):
        await runner.run("long", f"Message {index}: " + "tomatoes and basil " * 12)

    history = await runner.messages("long")
    assert len(history) == 12, "the checkpointed thread keeps every message"
    last_prompt = model.calls[-1]
    systems = [m for m in last_prompt if isinstance(m, SystemMessage)]
    assert any("SUMMARY: the user talked about gardens." in m.content for m in systems)
    shown = [m for m in last_prompt if not isinstance(m, SystemMessage)]
    assert 0 < len(shown) < len(history)
    assert shown[-1].text().startswith("Message 5:")


async def test_a_turn_longer_than_a_memory_is_cut_to_fit_not_refused(redis_url: str) -> None:
    """A pasted document longer than the store's text limit still gets an answer; the turn
    is remembered cut to the limit, and the recall query is cut the same way."""
    config = MemoryStoreConfig(prefix=f"agentmem-{uuid.uuid4().hex[:8]}", max_text_chars=500)
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config) as store:
        model = ScriptedModel(["Read it."])
        runner = Runner(Agent(name="helper", model=model, memory=AgentMemory(store, k=2)))
        result = await runner.run("t", "lorem ipsum " * 400, user_id="ann")
        assert result.error is None and result.final_answer == "Read it."
        [stored] = [v.record.text for v in await store.list("ann")]
        assert len(stored) <= 500 and stored.startswith("User: lorem ipsum")
