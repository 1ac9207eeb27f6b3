"""How often a ReAct agent with a calculator gets arithmetic right on the embedded model.

20 generated questions (seeded) in the style of Du et al.'s arithmetic task. For each: did the
model call the tool, was the call read and executed, did the final answer contain the right
number. Three tool policies: the model chooses freely (``auto``); the first step is constrained
to a tool call by a grammar, then the model chooses (``call_first``); one constrained tool
step, then the model must answer (``call_once``).

Run: python benchmarks/react_arithmetic.py [--questions 20] [--threads 2] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from typing import Any

from common import print_table, write_results

from hanlin.agents.agent import Agent
from hanlin.contract.events import ToolCallEvent, ToolResultEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_model import LocalModel
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator

INSTRUCTIONS = (
    "You are a careful assistant. For any arithmetic, call the calculator tool, then give the "
    "final answer in one short sentence."
)


def questions(count: int, seed: int = 0) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 99)
        items.append((f"What is {a}+{b}*{c}?", a + b * c))
    return items


def numbers_in(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"-?\d[\d,]*", text) if n.strip("-,")]


async def run_policy(
    model: LocalModel, policy: str, items: list[tuple[str, int]]
) -> dict[str, Any]:
    agent = Agent(
        name="solver",
        model=model,
        instructions=INSTRUCTIONS,
        tools=[calculator],
        max_steps=4,
        tool_policy=policy,
        options=ChatOptions(max_tokens=160),
    )
    runner = Runner(agent)
    rows = []
    for index, (question, expected) in enumerate(items):
        started = time.perf_counter()
        result = await runner.run(f"{policy}-{index}", question)
        calls = [e for e in result.events if isinstance(e, ToolCallEvent)]
        results = [e for e in result.events if isinstance(e, ToolResultEvent)]
        answer = result.final_answer or ""
        rows.append(
            {
                "question": question,
                "expected": expected,
                "answer": answer,
                "tool_called": bool(calls),
                "tool_ok": any(not r.is_error for r in results),
                "correct": expected in numbers_in(answer),
                "seconds": time.perf_counter() - started,
            }
        )
        print(f"[{policy} {index + 1}/{len(items)}] {question} -> {answer[:60]!r}", flush=True)
    n = len(rows)
    return {
        "policy": policy,
        "questions": n,
        "tool_call_rate": sum(r["tool_called"] for r in rows) / n,
        "tool_success_rate": sum(r["tool_ok"] for r in rows) / n,
        "answer_accuracy": sum(r["correct"] for r in rows) / n,
        "mean_seconds": sum(r["seconds"] for r in rows) / n,
        "rows": rows,
    }


async def main(count: int, threads: int, path: str | None) -> None:
    model = LocalModel(path, n_threads=threads)
    items = questions(count)
    summaries = [
        await run_policy(model, policy, items) for policy in ("auto", "call_first", "call_once")
    ]
    write_results(
        "react_arithmetic", {"model": str(model.path), "threads": threads, "results": summaries}
    )
    print_table(
        ["tool policy", "questions", "tool called", "tool ok", "answer correct", "s/question"],
        [
            [
                s["policy"],
                s["questions"],
                s["tool_call_rate"],
                s["tool_success_rate"],
                s["answer_accuracy"],
                s["mean_seconds"],
            ]
            for s in summaries
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.questions, args.threads, args.model))
