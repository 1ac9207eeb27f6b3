"""Wall time of one debate round over real HTTP: concurrent agents against sequential ones.

A scripted model with a fixed delay is served by hanlin's OpenAI-compatible server on
loopback; each agent talks to it through its own ``OpenAICompatibleModel``. The goal is a
3-agent round within 1.3x the latency of a single call.

Run: python benchmarks/debate_round.py [--agents 3] [--delay 0.5] [--trials 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from common import percentiles, print_table, write_results

from hanlin.agents.debate import Debate, DebateAgent
from hanlin.llm.messages import UserMessage
from hanlin.llm.openai_http import OpenAICompatibleModel
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.runner import Runner
from hanlin.serving.server import BackgroundServer, create_app

QUESTION = "What is the result of 3+4*5+6-7*8?"


async def timed(trials: int, action: Callable[[int], Awaitable[Any]]) -> list[float]:
    samples = []
    for trial in range(trials):
        started = time.perf_counter()
        await action(trial)
        samples.append(time.perf_counter() - started)
    return samples


async def measure(url: str, agents: int, trials: int) -> dict[str, dict[str, float]]:
    models = [
        OpenAICompatibleModel(f"{url}/v1", "scripted", name=f"agent-{i}") for i in range(agents)
    ]
    team = [DebateAgent(name=f"agent-{i}", model=m) for i, m in enumerate(models)]
    runners = {
        "concurrent round": Runner(Debate(agents=team, rounds=1)),
        "sequential round": Runner(Debate(agents=team, rounds=1, concurrent=False)),
        "concurrent 2-round debate": Runner(Debate(agents=team, rounds=2)),
    }
    await models[0].chat([UserMessage(content="warm up")])  # connection set-up is not measured
    results = {
        "single call": percentiles(
            await timed(trials, lambda _: models[0].chat([UserMessage(content=QUESTION)]))
        )
    }
    for label, runner in runners.items():
        results[label] = percentiles(
            await timed(trials, lambda t, r=runner, name=label: r.run(f"{name}-{t}", QUESTION))
        )
    for model in models:
        await model.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()

    reply = "Multiply first: 4*5=20 and 7*8=56, so 3+20+6-56 = \\boxed{-27}"
    scripted = ScriptedModel([reply] * (args.trials * args.agents * 10 + 10), delay=args.delay)
    with BackgroundServer(create_app({"scripted": scripted})) as server:
        results = asyncio.run(measure(server.url, args.agents, args.trials))

    one_call = results["single call"]["p50"]
    rows = [[label, r["p50"], r["p95"], r["p50"] / one_call] for label, r in results.items()]
    print_table(["measure", "p50 s", "p95 s", "x one call"], rows)
    ratio = results["concurrent round"]["p50"] / one_call
    print(
        f"\n{args.agents}-agent concurrent round = {ratio:.2f}x one call (goal <= 1.3x): "
        f"{'met' if ratio <= 1.3 else 'NOT met'}"
    )
    path = write_results(
        "debate_round",
        {
            "agents": args.agents,
            "delay_s": args.delay,
            "trials": args.trials,
            "results": results,
            "concurrent_round_over_one_call": ratio,
            "goal": 1.3,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
