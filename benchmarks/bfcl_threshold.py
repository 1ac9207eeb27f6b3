"""The similarity decision's threshold swept on BFCL development items, from one run.

Under ``tool_decision="similarity"`` the threshold only decides whether the best-scoring tool
is offered at all; what the model then writes for it does not depend on the threshold. So one
run with every best tool offered, keeping each item's score and outcome, gives the accuracy
at any threshold: below it an item makes no call (right on irrelevance, wrong elsewhere).

Run it on development items only (the first ``--limit`` of each category) and report the
chosen threshold's accuracy on items it never saw (``bfcl.py --offset``). BFCL is for
evaluation only: the sweep picks one number, nothing is trained on it.

    python benchmarks/bfcl_threshold.py --limit 50 --threads 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

from bfcl_data import load_category
from bfcl_score import score_item
from common import RESULTS, machine, print_table

from hanlin import ChatOptions, LocalModel
from hanlin.llm.embeddings import default_embedder
from hanlin.llm.tool_similarity import SCORE_THRESHOLD, ToolSimilarity

CATEGORIES = ("simple", "multiple", "parallel", "irrelevance")
THRESHOLDS = (2.5, 3.0, 3.25, 3.5, 3.75, 4.0, SCORE_THRESHOLD, 4.5, 5.0)
MAX_TOKENS = 160


async def outcomes(
    model: LocalModel, ranker: ToolSimilarity, category: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Per item: the best tool's score and whether the reply is right when it is offered."""
    rows = []
    for item in load_category(category, limit, offset):
        question = str(item.chat_messages()[-1].content)
        best = ranker.rank(question, item.tool_specs())[0].score
        result = await model.chat(
            item.chat_messages(),
            tools=item.tool_specs(),
            options=ChatOptions(max_tokens=MAX_TOKENS, tool_decision="similarity"),
        )
        scored = score_item(item, result)
        rows.append(
            {
                "id": item.id,
                "score": round(best, 3),
                "correct": scored.correct,
                "error": scored.error[:160],
                "calls": scored.calls,
            }
        )
        print(json.dumps({"category": category, **rows[-1]})[:300], flush=True)
    return rows


def accuracy_at(rows: list[dict[str, Any]], threshold: float, no_call_right: bool) -> float:
    right = sum(r["correct"] if r["score"] >= threshold else no_call_right for r in rows)
    return right / len(rows) if rows else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", default=",".join(CATEGORIES))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "bfcl_threshold.json")
    args = parser.parse_args()

    ranker = ToolSimilarity(default_embedder(), threshold=-math.inf)
    model = LocalModel(n_threads=args.threads, tool_similarity=ranker)
    started = time.perf_counter()
    per_category = {
        category: asyncio.run(outcomes(model, ranker, category, args.limit, args.offset))
        for category in args.categories.split(",")
    }
    sweep = {
        str(t): {
            c: round(accuracy_at(rows, t, c.endswith("irrelevance")), 3)
            for c, rows in per_category.items()
        }
        for t in THRESHOLDS
    }
    print_table(
        ["threshold", *per_category],
        [[t, *(f"{v:.0%}" for v in accs.values())] for t, accs in sweep.items()],
    )
    payload = {
        "machine": machine(),
        "benchmark": "bfcl_threshold",
        "items": {"limit": args.limit, "offset": args.offset},
        "seconds": round(time.perf_counter() - started, 1),
        "sweep": sweep,
        "outcomes": per_category,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
