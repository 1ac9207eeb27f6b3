"""Per-step overhead of hanlin's runtime over raw LangGraph, on the same 3-node graph.

Two peers in raw LangGraph: ``graph.ainvoke`` with no events, and ``graph.astream`` in
``custom`` mode with the same per-node events hanlin emits (what a LangGraph user who wants a
live event stream writes). hanlin: ``Runner.run`` (typed events plus interrupt detection,
run result collected). Same checkpointer on both sides: none, in-memory, Redis
(hanlin's plain-Redis saver). The Redis row also times langgraph-checkpoint-redis, the
usual LangGraph choice, when it is installed and the server has its modules.

Run: python benchmarks/runtime_overhead.py [--runs N] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from common import percentiles, print_table, write_results
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from hanlin.contract.events import MessageEvent, emit
from hanlin.contract.state import AgentState
from hanlin.runtime.redis_checkpointer import RedisCheckpointSaver
from hanlin.runtime.runner import Runner

STEPS = 3


def three_node_graph(with_events: bool) -> StateGraph:
    def node(name: str):  # type: ignore[no-untyped-def]
        async def run(state: AgentState) -> dict[str, Any]:
            if with_events:
                emit(MessageEvent(agent=name, content=name))
            return {
                "messages": [{"role": "assistant", "content": name}],
                "steps": state.get("steps", 0) + 1,
            }

        return run

    graph = StateGraph(AgentState)
    for name in ("a", "b", "c"):
        graph.add_node(name, node(name))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", "c")
    graph.add_edge("c", END)
    return graph


class ThreeNodes:
    def graph(self, *, journal: Any = None) -> StateGraph:
        return three_node_graph(with_events=True)


async def time_raw(checkpointer: Any, runs: int, *, streaming: bool = False) -> list[float]:
    graph = three_node_graph(with_events=streaming).compile(checkpointer=checkpointer)
    start = {"messages": [{"role": "user", "content": "x"}], "steps": 0}
    samples = []
    for _ in range(runs):
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        started = time.perf_counter()
        if streaming:
            events = [e async for e in graph.astream(start, config, stream_mode="custom")]
            assert len(events) == STEPS
        else:
            await graph.ainvoke(start, config)
        samples.append((time.perf_counter() - started) / STEPS * 1000)
    return samples


async def time_hanlin(checkpointer: Any, runs: int) -> list[float]:
    runner = Runner(ThreeNodes(), checkpointer=checkpointer)
    if checkpointer is None:  # Runner defaults to in-memory; compile without one for this row
        runner.graph = ThreeNodes().graph().compile()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await runner.run(uuid.uuid4().hex, "x")
        samples.append((time.perf_counter() - started) / STEPS * 1000)
        assert len(result.events) == STEPS, result
    return samples


async def peer_redis_saver(url: str) -> Any | None:
    try:
        from langgraph.checkpoint.redis.aio import AsyncRedisSaver
    except ImportError:
        return None
    saver = AsyncRedisSaver(url)
    try:
        await saver.asetup()
    except Exception:
        return None
    return saver


async def main(runs: int, redis_url: str | None) -> None:
    rows: list[dict[str, Any]] = []
    setups: list[tuple[str, Any, Any]] = [
        ("none", None, None),
        ("in-memory", InMemorySaver(), InMemorySaver()),
    ]
    if redis_url:
        setups.append(("redis", RedisCheckpointSaver(redis_url), RedisCheckpointSaver(redis_url)))
    for label, raw_saver, hanlin_saver in setups:
        await time_raw(raw_saver, 20)  # warm up every path
        await time_raw(raw_saver, 20, streaming=True)
        await time_hanlin(hanlin_saver, 20)
        raw = percentiles(await time_raw(raw_saver, runs))
        streamed = percentiles(await time_raw(raw_saver, runs, streaming=True))
        ours = percentiles(await time_hanlin(hanlin_saver, runs))
        rows.append(
            {
                "checkpointer": label,
                "raw_langgraph_ms_per_step": raw,
                "raw_langgraph_streaming_ms_per_step": streamed,
                "hanlin_ms_per_step": ours,
                "ratio_p50": ours["p50"] / streamed["p50"],
                "ratio_p50_vs_ainvoke": ours["p50"] / raw["p50"],
            }
        )
    peer = None
    if redis_url and (saver := await peer_redis_saver(redis_url)) is not None:
        await time_raw(saver, 20)
        peer = percentiles(await time_raw(saver, runs))
        ours_redis = rows[-1]["hanlin_ms_per_step"]["p50"]
        streamed = percentiles(await time_raw(saver, runs, streaming=True))
        rows.append(
            {
                "checkpointer": "redis: raw uses langgraph-checkpoint-redis",
                "raw_langgraph_ms_per_step": peer,
                "raw_langgraph_streaming_ms_per_step": streamed,
                "hanlin_ms_per_step": rows[-1]["hanlin_ms_per_step"],
                "ratio_p50": ours_redis / streamed["p50"],
                "ratio_p50_vs_ainvoke": ours_redis / peer["p50"],
            }
        )
    write_results(
        "runtime_overhead",
        {
            "runs": runs,
            "steps_per_run": STEPS,
            "rows": rows,
            "goal": "hanlin <= 1.2x raw LangGraph streaming the same events, same checkpointer",
        },
    )
    print_table(
        [
            "checkpointer",
            "raw ainvoke p50",
            "raw astream p50",
            "hanlin p50",
            "hanlin p95",
            "hanlin/astream",
            "hanlin/ainvoke",
        ],
        [
            [
                r["checkpointer"],
                r["raw_langgraph_ms_per_step"]["p50"],
                r["raw_langgraph_streaming_ms_per_step"]["p50"],
                r["hanlin_ms_per_step"]["p50"],
                r["hanlin_ms_per_step"]["p95"],
                r["ratio_p50"],
                r["ratio_p50_vs_ainvoke"],
            ]
            for r in rows
        ],
    )
    print("(milliseconds per graph step)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--redis-url", default=None, help="Default: start hanlin's managed Redis.")
    args = parser.parse_args()
    url = args.redis_url
    if url is None:
        from hanlin.redis_stack.connection import resolve_redis_url

        url = resolve_redis_url()
    asyncio.run(main(args.runs, url))
