"""Tool calling on the Berkeley Function Calling Leaderboard (BFCL), through hanlin's models.

Single-turn AST categories, scored with the ``bfcl-eval`` package's own checker (see
``bfcl_score``), per category: accuracy with a Wilson 95 % interval, the mean TL-Training
reward and seconds per item. BFCL is for evaluation only, never for training.

    python benchmarks/bfcl.py --model local --policy similarity --limit 15
    python benchmarks/bfcl.py --policy similarity --offset 50 --limit 100 --categories simple
    python benchmarks/bfcl.py --model local --compare auto,required,grammar --limit 15
    python benchmarks/bfcl.py --model-dir runs/sft/final --policy auto --limit 50 --out f.json
    python benchmarks/bfcl.py --base-url http://localhost:8000/v1 --model-name Qwen --policy auto

Policies: ``auto`` (the model writes what it likes), ``required`` (a schema-exact call is
forced; ``call_once`` and ``call_first`` force the same on a one-turn item), ``default`` (the
backend's own choice) and the decision policies of local models (``grammar``, ``yes_no``,
``likelihood``, ``few_shot``, ``relevance`` in ``hanlin.llm.local_decision``; ``similarity``,
the default, in ``hanlin.llm.tool_similarity`` and ``hanlin.llm.local_calls``). Results go to
``benchmarks/results/bfcl.json`` unless ``--out`` says otherwise; with ``--merge`` the
policies run are added to what that file already holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any, get_args

from bfcl_data import DEFAULT_CATEGORIES, available_categories, load_category
from bfcl_score import ItemScore, score_item
from common import RESULTS, machine, print_table

from hanlin.llm.chat_model import ChatModel, ChatOptions, ModelError, ToolDecision
from hanlin.training.evaluation.significance import wilson_interval

DECISIONS: tuple[str, ...] = get_args(ToolDecision)
POLICIES: tuple[str, ...] = ("auto", "required", "call_once", "call_first", "default", *DECISIONS)
MAX_TOKENS = 160


def policy_options(policy: str, max_tokens: int = MAX_TOKENS) -> ChatOptions:
    """The request options a policy stands for on a one-turn item."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    options = ChatOptions(max_tokens=max_tokens)
    if policy in {"required", "call_once", "call_first"}:
        return options.model_copy(update={"tool_choice": "required"})
    if policy == "auto":
        return options.model_copy(update={"tool_decision": "free"})
    if policy in DECISIONS:
        return options.model_copy(update={"tool_decision": policy})
    return options


async def evaluate_async(
    model: ChatModel,
    *,
    policy: str,
    categories: list[str],
    limit: int | None,
    max_tokens: int = MAX_TOKENS,
    offset: int = 0,
) -> dict[str, Any]:
    """Run ``model`` under ``policy`` on ``limit`` items of each category, from ``offset``."""
    options = policy_options(policy, max_tokens)
    report: dict[str, Any] = {"model": model.name, "policy": policy, "limit": limit}
    if offset:
        report["offset"] = offset
    per_category: dict[str, Any] = {}
    for category in categories:
        items = load_category(category, limit, offset)
        scores: list[ItemScore] = []
        started = time.perf_counter()
        for item in items:
            try:
                result = await model.chat(
                    item.chat_messages(), tools=item.tool_specs(), options=options
                )
            except ModelError as exc:
                # A miss, not a stop (a prompt over the context window), and never a right
                # decline: an irrelevance item the model failed on was not decided.
                scores.append(
                    ItemScore(id=item.id, correct=False, error=f"model error: {exc}"[:300])
                )
                continue
            scores.append(score_item(item, result))
        elapsed = time.perf_counter() - started
        per_category[category] = summarise(scores, elapsed)
    report["categories"] = per_category
    return report


def evaluate(
    model: ChatModel, *, policy: str, categories: list[str], limit: int | None
) -> dict[str, Any]:
    """BFCL accuracy of ``model`` under ``policy``: ``{"model", "policy", "limit",
    "categories": {name: {"n", "correct", "accuracy", "wilson95", "mean_reward",
    "seconds_per_item", "items"}}}``. Blocks; from async code use ``evaluate_async``."""
    return asyncio.run(evaluate_async(model, policy=policy, categories=categories, limit=limit))


def summarise(scores: list[ItemScore], elapsed: float) -> dict[str, Any]:
    n = len(scores)
    correct = sum(s.correct for s in scores)
    rewards = [s.reward for s in scores if s.reward is not None]
    low, high = wilson_interval(correct, n) if n else (0.0, 0.0)
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "wilson95": [round(low, 3), round(high, 3)],
        "mean_reward": sum(rewards) / len(rewards) if rewards else None,
        "model_errors": sum(s.error.startswith("model error:") for s in scores),
        "seconds_per_item": elapsed / n if n else 0.0,
        "items": [s.model_dump(exclude_defaults=True) for s in scores],
    }


def build_model(args: argparse.Namespace) -> ChatModel:
    if args.model_dir:
        from hanlin.llm.transformers_model import TransformersModel

        return TransformersModel(args.model_dir, n_threads=args.threads)
    if args.base_url:
        from hanlin.llm.openai_http import OpenAICompatibleModel

        return OpenAICompatibleModel(args.base_url, args.model_name, api_key=args.api_key)
    from hanlin.llm.local_model import LocalModel

    return LocalModel(args.model_path, n_threads=args.threads)


def print_report(runs: list[dict[str, Any]]) -> None:
    rows = []
    for run in runs:
        for category, c in run["categories"].items():
            reward = c["mean_reward"]
            rows.append(
                [
                    run["policy"],
                    category,
                    f"{c['correct']}/{c['n']}",
                    f"{c['accuracy']:.0%}",
                    f"{c['wilson95'][0]:.2f}-{c['wilson95'][1]:.2f}",
                    "-" if reward is None else f"{reward:+.2f}",
                    f"{c['seconds_per_item']:.2f}",
                    c.get("model_errors", 0),
                ]
            )
    headers = ["policy", "category", "right", "acc", "wilson95", "reward", "s/item", "errors"]
    print_table(headers, rows)


def _run_key(run: dict[str, Any]) -> tuple[Any, ...]:
    return (run["model"], run["policy"], run.get("limit"), run.get("offset", 0))


def write(path: Path, runs: list[dict[str, Any]], merge: bool, notes: dict[str, Any]) -> None:
    kept: list[dict[str, Any]] = []
    if merge and path.exists():
        previous = json.loads(path.read_text()).get("runs", [])
        replaced = {_run_key(r) for r in runs}
        kept = [r for r in previous if _run_key(r) not in replaced]
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **notes, "runs": kept + runs}
    path.write_text(json.dumps(payload, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["local"], default="local")
    parser.add_argument("--model-path", help="A GGUF file for --model local (default: embedded).")
    parser.add_argument("--model-dir", help="A trained model folder (transformers backend).")
    parser.add_argument("--base-url", help="An OpenAI-compatible server, e.g. .../v1.")
    parser.add_argument("--model-name", default="default", help="Model name on that server.")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--policy", default="auto", choices=POLICIES)
    parser.add_argument("--compare", help="Several policies, comma-separated (overrides --policy).")
    parser.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES))
    parser.add_argument("--limit", type=int, default=15, help="N items per category.")
    parser.add_argument("--offset", type=int, default=0, help="Skip the first N items.")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--out", type=Path, default=RESULTS / "bfcl.json")
    parser.add_argument("--merge", action="store_true", help="Keep other runs already in --out.")
    args = parser.parse_args()

    wanted = [c.strip() for c in args.categories.split(",") if c.strip()]
    present = available_categories()
    categories = [c for c in wanted if c in present]
    skipped = [c for c in wanted if c not in present]
    if skipped:
        print(f"not in the installed bfcl-eval, skipped: {', '.join(skipped)}")
    policies = [p.strip() for p in args.compare.split(",")] if args.compare else [args.policy]
    model = build_model(args)
    runs = []
    for policy in policies:
        run = asyncio.run(
            evaluate_async(
                model,
                policy=policy,
                categories=categories,
                limit=args.limit,
                max_tokens=args.max_tokens,
                offset=args.offset,
            )
        )
        runs.append(run)
        print_report([run])
        write(args.out, runs, args.merge, {"benchmark": "bfcl"})
    print_report(runs)
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
