"""Deciding whether a small local model should call a tool, before it writes anything.

Left free, SmolLM2-135M almost never opens a ``<tool_call>``; forced, it calls even when no
offered function fits. The decision is therefore taken apart from the writing, then the
writing is constrained: a schema-exact call, or a plain answer. The ways of deciding
(``ToolDecision``) are measured against each other on BFCL (``benchmarks/bfcl.py``):

* ``grammar``: one grammar that admits either calls or an answer; the model's first token
  decides.
* ``few_shot``: the same grammar after two worked examples, one call and one answer.
* ``yes_no``: the model is asked whether a tool fits and the likelier of "yes" / "no" wins.
* ``likelihood``: how much more likely the model is to open a call
  (``<tool_call>\\n{"name": "``, token by token) after this question than after a neutral
  greeting with the same tools. The raw likelihood rises with the length of the tool
  descriptions for any question; the contrast with the greeting cancels that out.

* ``relevance``: how much more likely the question itself becomes when the model has read
  the tools' names and descriptions than after a plain system prompt: the pointwise mutual
  information between tools and question. A question a tool is for is predicted by its
  description; one it merely shares a domain with much less so.

The default way, ``similarity``, decides with a sentence embedding model instead of the
chat model (``hanlin.llm.tool_similarity``) and is measured beside these.

The thresholds were set on hanlin's own hand-written call / no-call cases
(``benchmarks/bfcl_calibration.py``), never on BFCL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_grammar import CALL_OPENING

# log P(CALL_OPENING | question) - log P(CALL_OPENING | NEUTRAL_QUESTION) above which the
# model calls. On the calibration cases the calls scored 1.8 to 8.3 and the answers -8.2
# to 5.2 (two near misses above 4): the midpoint between the lowest call and the highest
# answer below it (0.3).
OPENING_THRESHOLD = 1.0
NEUTRAL_QUESTION = "Hello! How are you today?"
# log P(question | tools described) - log P(question | PLAIN_SYSTEM) above which the model
# calls. First measured on the calibration cases with a plain ChatML probe (calls 1.13 to
# 13.3, answers -3.5 to 2.9, one near miss above the lowest call); as LocalModel renders the
# probe, 14 of the 16 cases agree at this threshold (two near-miss answers would call).
RELEVANCE_THRESHOLD = 1.0
PLAIN_SYSTEM = "You are a helpful assistant."
RELEVANCE_MAX_TOKENS = 64  # longer questions are judged on their first 64 tokens
YES_NO_QUESTION = "Can one of the tools above do what I asked? Answer yes or no."

FEW_SHOT_TURNS: list[dict[str, str]] = [
    {"role": "user", "content": "(Example, with a get_weather tool) How warm is it in Madrid?"},
    {
        "role": "assistant",
        "content": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Madrid"}}\n'
        "</tool_call>",
    },
    {"role": "user", "content": "(Example, with a get_weather tool) Who discovered penicillin?"},
    {"role": "assistant", "content": "Alexander Fleming discovered penicillin in 1928."},
]


def log_softmax(logits: Any) -> Any:
    import numpy as np  # comes with llama-cpp-python; loaded only when a decision is taken

    values = np.asarray(logits, dtype=np.float64)
    top = float(values.max())
    return values - top - math.log(float(np.exp(values - top).sum()))


def continuation_logprob(llama: Any, prompt: list[int], continuation: list[int]) -> float:
    """log P(continuation | prompt) under the model, read while forcing those tokens.

    The logits processor sees each step's unconstrained logits, records the log-probability
    of the wanted token and leaves only that token possible. The prompt's cache is kept, so
    the generation that follows the decision does not evaluate the prompt again.
    """
    import numpy as np
    from llama_cpp import LogitsProcessorList

    total = [0.0]
    step = [0]

    def force(_ids: Any, logits: Any) -> Any:
        wanted = continuation[min(step[0], len(continuation) - 1)]
        total[0] += float(log_softmax(logits)[wanted])
        step[0] += 1
        forced = np.full_like(logits, -np.inf)
        forced[wanted] = 0.0
        return forced

    llama.create_completion(
        prompt,
        max_tokens=len(continuation),
        temperature=0.0,
        logits_processor=LogitsProcessorList([force]),
    )
    return total[0]


def opening_logprob(llama: Any, prompt: list[int]) -> float:
    opening = llama.tokenize(CALL_OPENING.encode("utf-8"), add_bos=False, special=True)
    return continuation_logprob(llama, prompt, opening)


def says_yes(llama: Any, prompt: list[int]) -> bool:
    """Whether "yes" is likelier than "no" as the first word of the reply to ``prompt``."""
    from llama_cpp import LogitsProcessorList

    seen: list[Any] = []

    def record(_ids: Any, logits: Any) -> Any:
        if not seen:
            seen.append(log_softmax(logits))
        return logits

    llama.create_completion(
        prompt, max_tokens=1, temperature=0.0, logits_processor=LogitsProcessorList([record])
    )

    def best(*words: str) -> float:
        ids = [llama.tokenize(w.encode("utf-8"), add_bos=False, special=True)[0] for w in words]
        return max(float(seen[0][i]) for i in ids)

    return best("yes", "Yes") > best("no", "No")


def tools_summary(tools: Sequence[ToolSpec]) -> str:
    """The tools as the relevance probe shows them: one line of name and description each."""
    return "Tools:\n" + "\n".join(f"{t.name}: {t.description}" for t in tools)
