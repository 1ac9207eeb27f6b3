"""The ``similarity`` decision in front of a backend that has none of its own.

A model fine-tuned to call tools calls whenever a tool is offered: on BFCL's irrelevance items
(a function of the question's subject that does not answer it) the trained SmolLM2 models
call every time. The embedding score that decides for the embedded model
(``hanlin.llm.tool_similarity``) needs no logits from the chat model, so it can decide for
any backend: the model is offered the one tool the question is about, or none and answers in
words. Only a fresh user question is decided; after tool results every tool stays offered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from hanlin.llm.chat_model import ChatOptions, ToolDecision, ToolSpec
from hanlin.llm.embeddings import EmbeddingBackendMissing
from hanlin.llm.messages import Message, UserMessage
from hanlin.llm.tool_similarity import ToolSimilarity

log = logging.getLogger(__name__)


class SimilarityGate:
    """Which of the offered tools a request passes on to the model."""

    def __init__(self, default: ToolDecision, ranker: Callable[[], ToolSimilarity]) -> None:
        self.default = default
        self._ranker_factory = ranker
        self._ranker: ToolSimilarity | None = None
        self._missing = threading.Event()

    def offered(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: ChatOptions
    ) -> list[ToolSpec]:
        """``tools`` narrowed to the best fitting one, or to none, when the request asks
        for the ``similarity`` decision; otherwise ``tools`` as given."""
        decision = options.tool_decision or self.default
        last = messages[-1] if messages else None
        if (
            decision != "similarity"
            or not tools
            or options.tool_choice != "auto"
            or options.json_schema is not None
            or not isinstance(last, UserMessage)
        ):
            return list(tools)
        ranker = self._ranker_or_none()
        if ranker is None:
            return list(tools)
        fitting = ranker.fitting(last.text(), tools)
        return [fitting[0].tool] if fitting else []

    def _ranker_or_none(self) -> ToolSimilarity | None:
        if self._ranker is None and not self._missing.is_set():
            try:
                self._ranker = self._ranker_factory()
            except EmbeddingBackendMissing as exc:
                self._missing.set()
                log.warning("tool_decision='similarity' needs %s; every tool stays offered", exc)
        return self._ranker
