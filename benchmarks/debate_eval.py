"""Accuracy of debate against its baselines, in the setting of Du et al. (2023).

Tasks: generated arithmetic ``a+b*c+d-e*f`` (integers in [0, 30), seeded) or a GSM8K-format
JSONL file (``{"question": ..., "answer": "... #### 42"}``, shuffled with the seed). Methods:
single agent, self-reflection, majority vote of independent agents (as many samples as debate
makes calls), and debate. Each is reported with its accuracy and the tokens it spent.

Model: any OpenAI-compatible server (``--base-url http://host:port/v1 --model NAME``) or, by
default, the embedded ``LocalModel``.

Run: python benchmarks/debate_eval.py [--task arithmetic|gsm8k] [--data FILE.jsonl]
       [--questions 5] [--agents 2] [--rounds 2] [--max-tokens 160] [--base-url URL --model M]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from common import print_table, write_results

from hanlin.agents import debate_baselines
from hanlin.agents.answer_parsing import normalize_reference
from hanlin.agents.debate import ARITHMETIC_PROMPTS, MATH_PROMPTS, Debate, DebateAgent
from hanlin.llm.chat_model import ChatModel, ChatOptions


def arithmetic_questions(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        a, b, c, d, e, f = (rng.randrange(30) for _ in range(6))
        items.append(
            (f"What is the result of {a}+{b}*{c}+{d}-{e}*{f}?", str(a + b * c + d - e * f))
        )
    return items


def gsm8k_questions(path: Path, count: int, seed: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for number, row in enumerate(rows, 1):
        if not {"question", "answer"} <= set(row):
            raise ValueError(f"{path}:{number}: a GSM8K row needs 'question' and 'answer'")
    random.Random(seed).shuffle(rows)
    items = []
    for row in rows[:count]:
        gold = normalize_reference(row["answer"])
        if gold is None:
            raise ValueError(f"{path}: no number after '####' in {row['answer']!r}")
        items.append((row["question"], gold))
    return items


def make_model(args: argparse.Namespace) -> ChatModel:
    if args.base_url:
        from hanlin.llm.openai_http import OpenAICompatibleModel

        return OpenAICompatibleModel(args.base_url, args.model or "default", api_key=args.api_key)
    from hanlin.llm.local_model import LocalModel

    return LocalModel(path=args.model, n_threads=args.threads)


async def evaluate(method: Debate, items: list[tuple[str, str]]) -> dict[str, Any]:
    correct, tokens, calls, started = 0, 0, 0, time.perf_counter()
    rows = []
    for question, gold in items:
        outcome = await method.solve(question)
        hit = outcome.answer is not None and outcome.answer == gold
        correct += hit
        tokens += outcome.total_tokens
        calls += sum(u["calls"] for u in outcome.usage.values())
        rows.append(
            {
                "question": question,
                "gold": gold,
                "answer": outcome.answer,
                "votes": outcome.votes,
                "correct": hit,
            }
        )
    return {
        "accuracy": correct / len(items),
        "correct": correct,
        "questions": len(items),
        "tokens": tokens,
        "calls": calls,
        "seconds": time.perf_counter() - started,
        "items": rows,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.task == "arithmetic":
        items, prompts = arithmetic_questions(args.questions, args.seed), ARITHMETIC_PROMPTS
    else:
        if args.data is None:
            raise SystemExit("--task gsm8k needs --data FILE.jsonl")
        items, prompts = gsm8k_questions(args.data, args.questions, args.seed), MATH_PROMPTS
    model = make_model(args)
    agents = [
        DebateAgent(
            name=f"agent-{i + 1}",
            model=model,
            options=ChatOptions(
                max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed + i
            ),
        )
        for i in range(args.agents)
    ]
    debate = Debate(agents=agents, rounds=args.rounds, prompts=prompts)
    methods = {**debate_baselines(debate), "debate": debate}
    results = {}
    for name, method in methods.items():
        results[name] = await evaluate(method, items)
        done = results[name]
        print(
            f"{name}: {done['correct']}/{done['questions']} correct, {done['tokens']} tokens, "
            f"{done['seconds']:.0f}s",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["arithmetic", "gsm8k"], default="arithmetic")
    parser.add_argument("--data", type=Path, help="GSM8K-format JSONL (for --task gsm8k)")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--base-url", help="an OpenAI-compatible API root, e.g. http://localhost:8000/v1"
    )
    parser.add_argument(
        "--model", help="model name on the server, or a GGUF path for the local model"
    )
    parser.add_argument("--api-key")
    args = parser.parse_args()

    results = asyncio.run(run(args))
    rows = [
        [
            name,
            f"{r['correct']}/{r['questions']}",
            r["accuracy"],
            r["calls"],
            r["tokens"],
            r["seconds"],
        ]
        for name, r in results.items()
    ]
    print_table(["method", "correct", "accuracy", "calls", "tokens", "seconds"], rows)
    settings = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "api_key"
    }
    path = write_results(f"debate_eval_{args.task}", {"settings": settings, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
