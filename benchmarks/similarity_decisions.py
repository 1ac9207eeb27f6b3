"""The whole ``similarity`` decision on hanlin's hand-written call / no-call cases.

``tool_similarity_calibration.py`` sets the score threshold from a raw forced call per case;
the product decides with more than that: the gate at that threshold, then the call writer
(``hanlin.llm.local_calls``), which changes, copies and checks values before it keeps a call
and may end with none. This runs each case of ``bfcl_calibration`` (never BFCL) through
``LocalModel.chat`` under the ``similarity`` decision, as a user's request would go, and
counts the cases whose reply calls exactly when the case should.

    python benchmarks/similarity_decisions.py [--label NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bfcl_calibration import CASES
from common import RESULTS, machine, print_table

from hanlin import ChatOptions, LocalModel, UserMessage

OPTIONS = ChatOptions(tool_decision="similarity", max_tokens=160)


async def decide(model: LocalModel) -> list[dict[str, object]]:
    """Each case with whether its reply called, and which tools with which arguments."""
    rows = []
    for question, tools, call in CASES:
        result = await model.chat([UserMessage(content=question)], tools=tools, options=OPTIONS)
        calls = [{c.name: c.arguments} for c in result.message.tool_calls]
        rows.append({"question": question, "call": call, "called": bool(calls), "calls": calls})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="this version")
    args = parser.parse_args()
    model = LocalModel(n_threads=1)
    started = time.perf_counter()
    rows = asyncio.run(decide(model))
    elapsed = time.perf_counter() - started
    right = sum(r["called"] == r["call"] for r in rows)
    calls_made = sum(bool(r["called"]) for r in rows if r["call"])
    declined = sum(not r["called"] for r in rows if not r["call"])
    should_call = sum(bool(r["call"]) for r in rows)
    print_table(
        ["right reply", "replied", "question"],
        [
            ["call" if r["call"] else "answer", "call" if r["called"] else "answer", r["question"]]
            for r in rows
            if r["called"] != r["call"]
        ],
    )
    print(
        f"{right}/{len(rows)} right: called {calls_made}/{should_call}, "
        f"declined {declined}/{len(rows) - should_call}"
    )
    out = RESULTS / "similarity_decisions.json"
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    runs = [r for r in runs if r["label"] != args.label]
    runs.append(
        {
            "label": args.label,
            "machine": machine(),
            "model": model.name,
            "right": right,
            "n": len(rows),
            "called_when_asked": calls_made,
            "declined_when_not": declined,
            "seconds_per_case": round(elapsed / len(rows), 2),
            "cases": rows,
        }
    )
    out.write_text(json.dumps({"benchmark": "similarity_decisions", "runs": runs}, indent=2) + "\n")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
