"""Run a CAMEL role-play and save its transcript as JSON and Markdown.

Uses an OpenAI-compatible server (``--base-url`` and ``--model``: vLLM, llama.cpp, Ollama)
or, without ``--base-url``, the embedded local model. Example::

    python scripts/role_play_run.py --turns 2 --max-tokens 96 --out runs/role_play
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from hanlin.agents.role_play import RoleCritic, RolePlay
from hanlin.contract.events import ErrorEvent, MessageEvent, PlanEvent
from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.runtime.runner import Runner


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assistant-role", default="Python Programmer")
    parser.add_argument("--user-role", default="Stock Trader")
    parser.add_argument("--task", default="Develop a trading bot for the stock market")
    parser.add_argument("--turns", type=int, default=4, help="turn limit (instruction + solution)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--word-limit", type=int, default=50)
    parser.add_argument("--no-specify", action="store_true", help="skip the task specifier")
    parser.add_argument("--planner", action="store_true", help="add the task planner")
    parser.add_argument(
        "--critic",
        type=int,
        default=0,
        metavar="K",
        help="critic in the loop choosing among K candidates (0: off)",
    )
    parser.add_argument(
        "--keep-going-on-flip",
        action="store_true",
        help="continue after an uncorrected role flip instead of stopping",
    )
    parser.add_argument(
        "--base-url", help="OpenAI-compatible API root, e.g. http://localhost:8000/v1"
    )
    parser.add_argument("--model", help="model name on the server")
    parser.add_argument("--api-key")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the local model")
    parser.add_argument("--out", type=Path, default=Path("role_play_run"))
    return parser.parse_args(argv)


def make_model(args: argparse.Namespace) -> ChatModel:
    if args.base_url:
        if not args.model:
            raise SystemExit("--model is required with --base-url")
        from hanlin.llm.openai_http import OpenAICompatibleModel

        return OpenAICompatibleModel(args.base_url, args.model, api_key=args.api_key)
    from hanlin.llm.local_model import LocalModel

    return LocalModel(n_threads=args.threads)


def event_record(event: Any) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_defaults=False)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Role-play: {report['user_role']} instructs {report['assistant_role']}",
        "",
        f"- model: `{report['model']}`",
        f"- task: {report['task']}",
        f"- stop reason: {report['stop_reason']}",
        f"- seconds: {report['seconds']:.1f}",
        "",
    ]
    if report["specified_task"]:
        lines += ["## Specified task", "", report["specified_task"], ""]
    if report["plan"]:
        lines += ["## Plan", "", *[f"- {step}" for step in report["plan"]], ""]
    lines += ["## Transcript", ""]
    for turn in report["transcript"]:
        lines += [f"### {turn['role']}", "", turn["content"], ""]
    for error in report["errors"]:
        lines += [f"> **{error['category']}** ({error['agent']}): {error['message']}", ""]
    lines += ["## Final answer", "", report["final_answer"] or "(none)", ""]
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    model = make_model(args)
    team = RolePlay(
        assistant_role=args.assistant_role,
        user_role=args.user_role,
        task=args.task,
        model=model,
        with_task_specify=not args.no_specify,
        word_limit=args.word_limit,
        with_task_planner=args.planner,
        max_turns=args.turns,
        options=ChatOptions(max_tokens=args.max_tokens, temperature=args.temperature),
        critic=RoleCritic(model=model, candidates=args.critic) if args.critic else None,
        stop_on_role_flip=not args.keep_going_on_flip,
    )
    runner = Runner(team)
    started = time.monotonic()
    result = await runner.run("role-play", args.task)
    seconds = time.monotonic() - started
    state = (await runner.graph.aget_state({"configurable": {"thread_id": "role-play"}})).values
    messages = [e for e in result.events if isinstance(e, MessageEvent)]
    roles = {args.user_role, args.assistant_role}
    report = {
        "model": model.name,
        "assistant_role": args.assistant_role,
        "user_role": args.user_role,
        "task": args.task,
        "specified_task": next((m.content for m in messages if m.agent == "Task Specifier"), None),
        "plan": next((e.steps for e in result.events if isinstance(e, PlanEvent)), None),
        "final_task": state.get("task"),
        "stop_reason": state.get("stop_reason"),
        "turns": state.get("turn"),
        "seconds": seconds,
        "transcript": [
            {"role": m.agent, "content": m.content} for m in messages if m.agent in roles
        ],
        "errors": [event_record(e) for e in result.events if isinstance(e, ErrorEvent)],
        "final_answer": result.final_answer,
        "run_error": result.error,
        "events": [event_record(e) for e in result.events],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "transcript.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.out / "transcript.md").write_text(markdown(report))
    print(markdown(report))
    print(f"saved {args.out / 'transcript.json'} and {args.out / 'transcript.md'}")
    return report


if __name__ == "__main__":
    asyncio.run(main())
