"""The score threshold of the ``similarity`` tool decision, set on hanlin's own cases.

The decision calls when the best tool's score (``hanlin.llm.tool_similarity``: similarity
to the question in standard deviations above the tool's background) reaches the threshold
and the model's first call to it is grounded in the question (``hanlin.llm.call_grounding``).
For each hand-written call / no-call case of ``bfcl_calibration`` (never BFCL) this scores
the best tool, has the embedded model write its forced call to that tool and checks the
call's grounding; the threshold is the one under which the whole decision gets the most
cases right (the middle one of equally good cut points). The score alone and
grounding alone are reported beside it.

    python benchmarks/tool_similarity_calibration.py
"""

from __future__ import annotations

import asyncio
import json

from bfcl_calibration import CASES
from common import RESULTS, machine, print_table

from hanlin import ChatOptions, LocalModel, UserMessage
from hanlin.llm.call_grounding import Grounding
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.tool_similarity import shared_tool_similarity


def best_threshold(scored: list[tuple[float, bool, bool]]) -> tuple[float, int]:
    """(threshold, cases right) for (score, grounded, call) triples: the decision calls
    at or above the threshold when the call is grounded."""
    values = sorted({s for s, _, _ in scored})
    cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in zip(values[:-1], values[1:], strict=True)]
    cuts.append(values[-1] + 0.01)

    def right(cut: float) -> int:
        return sum((s >= cut and grounded) == call for s, grounded, call in scored)

    best = max(right(c) for c in cuts)
    winners = [c for c in cuts if right(c) == best]
    # Among equally good cuts, the middle one.
    return winners[len(winners) // 2], best


async def forced_call_grounded(model: LocalModel, question: str, tool: ToolSpec) -> bool:
    """Whether the model's first call to ``tool``, forced, takes its values from ``question``."""
    result = await model.chat(
        [UserMessage(content=question)],
        tools=[tool],
        options=ChatOptions(tool_choice="required", max_tokens=120),
    )
    if not result.message.tool_calls:
        return False
    call = result.message.tool_calls[0]
    return Grounding(question).is_grounded(call.arguments, tool.parameters)


def main() -> None:
    ranker = shared_tool_similarity()
    model = LocalModel(n_threads=1)
    scored = []
    for question, tools, call in CASES:
        top = ranker.rank(question, tools)[0]
        grounded = asyncio.run(forced_call_grounded(model, question, top.tool))
        scored.append((round(top.score, 3), grounded, call, question, top.tool.name))
    threshold, right = best_threshold([(s, g, c) for s, g, c, _, _ in scored])
    alone, right_alone = best_threshold([(s, True, c) for s, _, c, _, _ in scored])
    grounding_only = sum(g == c for _, g, c, _, _ in scored)
    rows = [
        [f"{s:.3f}", "yes" if g else "no", "call" if c else "answer", q[:56]]
        for s, g, c, q, _ in sorted(scored)
    ]
    print_table(["score", "grounded", "right reply", "question"], rows)
    print(f"score and grounding, threshold {threshold:.3f}: {right}/{len(scored)} right")
    print(f"score alone, threshold {alone:.3f}: {right_alone}/{len(scored)} right")
    print(f"grounding alone: {grounding_only}/{len(scored)} right")
    out = RESULTS / "tool_similarity_calibration.json"
    payload = {
        "machine": machine(),
        "embedder": ranker.embedder.name,
        "model": model.name,
        "threshold": round(threshold, 3),
        "right": right,
        "n": len(scored),
        "score_alone": {"threshold": round(alone, 3), "right": right_alone},
        "grounding_alone": {"right": grounding_only},
        "cases": [
            {"score": s, "grounded": g, "call": c, "question": q, "best_tool": t}
            for s, g, c, q, t in scored
        ],
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
