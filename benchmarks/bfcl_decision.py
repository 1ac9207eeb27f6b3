"""Does a model decide *whether* to call, or only how often? The call-opening probability on
BFCL items that need a call against items that need none.

For each item the prompt is the backend's own rendering (``prompt_ids``), and the score is
the probability that the reply opens with ``<tool_call>`` (the product of that marker's
token probabilities after the prompt): what greedy ``auto`` decoding acts on. Over call items
(``--calls``, default simple) and no-call items (``--declines``, default irrelevance) it
reports the mean of each and the AUC (the chance that a random call item scores above a
random no-call item). A model that only learned a rate moves both means together and keeps
the AUC near 0.5; one that reads the tool list against the request raises the AUC. Accuracy
on 20 items cannot tell those apart; this can, with one forward pass per item.

    python benchmarks/bfcl_decision.py --model default --model runs/x/sft_mae_pkt/model \
        --limit 40 --output bfcl_decision

BFCL is evaluation data: nothing here feeds training.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from bfcl_data import BfclItem, load_category
from common import machine, print_table, write_results

from hanlin.training.data.encoding import prompt_ids

CALL_OPENING = "<tool_call>"


def auc(positives: list[float], negatives: list[float]) -> float:
    """Mann-Whitney AUC: P(positive > negative), ties counted half."""
    if not positives or not negatives:
        raise ValueError("the AUC needs at least one item of each kind")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def opening_logprob(model: Any, prompt: list[int], opening: list[int]) -> float:
    """log P(the reply starts with ``opening``) after ``prompt``, in one forward pass."""
    import torch

    ids = torch.tensor([prompt + opening])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
    return float(sum(logprobs[i, token] for i, token in enumerate(opening)))


def score_items(model: Any, tokenizer: Any, items: list[BfclItem]) -> list[dict[str, Any]]:
    opening = tokenizer(CALL_OPENING, add_special_tokens=False)["input_ids"]
    scored = []
    for item in items:
        prompt = prompt_ids(tokenizer, item.tool_specs(), item.chat_messages())
        logprob = opening_logprob(model, prompt, opening)
        scored.append({"id": item.id, "p_call": math.exp(logprob)})
    return scored


def measure(spec: str, calls: list[BfclItem], declines: list[BfclItem]) -> dict[str, Any]:
    from hanlin.training.model_io import load_for_training

    model, tokenizer = load_for_training(spec)
    model.eval()
    started = time.perf_counter()
    with_calls = score_items(model, tokenizer, calls)
    without = score_items(model, tokenizer, declines)
    p_yes = [s["p_call"] for s in with_calls]
    p_no = [s["p_call"] for s in without]
    return {
        "model": spec,
        "mean_p_call_on_call_items": sum(p_yes) / len(p_yes),
        "mean_p_call_on_no_call_items": sum(p_no) / len(p_no),
        "auc": auc(p_yes, p_no),
        "opens_a_call_on_call_items": sum(p > 0.5 for p in p_yes),
        "opens_a_call_on_no_call_items": sum(p > 0.5 for p in p_no),
        "seconds_per_item": (time.perf_counter() - started) / (len(p_yes) + len(p_no)),
        "items": {"calls": with_calls, "no_calls": without},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", action="append", required=True, help='A model folder or "default".'
    )
    parser.add_argument("--calls", default="simple", help="A BFCL category that needs calls.")
    parser.add_argument("--declines", default="irrelevance", help="One that needs none.")
    parser.add_argument("--limit", type=int, default=40, help="First N items of each.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads.")
    parser.add_argument("--output", default="bfcl_decision")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    calls = load_category(args.calls, args.limit)
    declines = load_category(args.declines, args.limit)
    runs = [measure(spec, calls, declines) for spec in args.model]
    print_table(
        ["model", "AUC", "mean P(call): call items", "no-call items", "calls opened", "s/item"],
        [
            [
                Path(r["model"]).parent.name if r["model"] != "default" else "base",
                f"{r['auc']:.3f}",
                f"{r['mean_p_call_on_call_items']:.3f}",
                f"{r['mean_p_call_on_no_call_items']:.3f}",
                f"{r['opens_a_call_on_call_items']}/{len(calls)} vs "
                f"{r['opens_a_call_on_no_call_items']}/{len(declines)}",
                f"{r['seconds_per_item']:.2f}",
            ]
            for r in runs
        ],
    )
    path = write_results(
        args.output,
        {
            "benchmark": "bfcl_decision",
            "machine": machine(),
            "calls": args.calls,
            "declines": args.declines,
            "limit": args.limit,
            "runs": runs,
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
