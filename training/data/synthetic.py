"""Synthetic tool-use trajectories whose tool feedback is real.

Queries come from the task phrasings in ``query_templates``; every call, right or wrong, is
executed by a real ``ToolRegistry`` over the offline catalogue, so an erroneous step is
followed by exactly the error text hanlin would produce, as in data collected from real
runs (where a share of the steps fail). The offered tools always include the gold tool's
look-alike siblings, the confusion key-token weighting addresses.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Sequence
from functools import partial
from random import Random
from typing import Any, Literal

from pydantic import BaseModel

from hanlin.agents.agent import Agent
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, ToolCall, UserMessage
from hanlin.tools.registry import ToolRegistry
from hanlin.training.data.error_steps import without_erroneous_steps
from hanlin.training.data.near_misses import near_miss_offer
from hanlin.training.data.query_templates import Phrasing, Task
from hanlin.training.data.query_templates_compound import TASKS
from hanlin.training.data.tool_catalogue import (
    CATALOGUE,
    TYPED_CATALOGUE,
    catalogue_registry,
    catalogue_tool,
    siblings,
)
from hanlin.training.data.trajectory import Trajectory
from hanlin.training.data.typed_templates_services import TYPED_TASKS

ErrorType = Literal[
    "wrong_sibling",
    "hallucinated_tool",
    "missing_parameter",
    "hallucinated_parameter",
    "wrong_type",
]
ERROR_TYPES: tuple[ErrorType, ...] = (
    "wrong_sibling",
    "hallucinated_tool",
    "missing_parameter",
    "hallucinated_parameter",
    "wrong_type",
)
SYSTEM_PROMPT: str = Agent.model_fields["instructions"].default  # what a default agent sends
_ALL_NAMES = {tool.name for tool in CATALOGUE}
_TYPED_NAMES = {tool.name for tool in TYPED_CATALOGUE}
# Needs a model can meet from what it knows: never used as "no offered tool fits" cases,
# where the gold reply is that no tool can help (live data and actions only).
KNOWABLE = frozenset(
    {
        "calculator",
        "convert_units",
        "convert_timezone",
        "translate_text",
        "detect_language",
        "get_word_definition",
        "get_word_synonyms",
        "get_country_info",
    }
)
_BOGUS_ARGUMENTS: dict[str, Any] = {
    "api_key": "YOUR_API_KEY",
    "format": "json",
    "language": "en",
    "verbose": True,
    "region": "EU",
    "max_results_count": 5,
}
_NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}


class SyntheticExample(BaseModel):
    """A trajectory plus what generating it decided, which the trajectory alone cannot say."""

    trajectory: Trajectory
    template: str  # "<task key>#<phrasing index>"
    kind: Literal["single", "chain", "parallel", "no_tool", "withheld"]
    injected: dict[int, ErrorType]  # message index of each erroneous turn -> its error


def template_of(trajectory: Trajectory) -> str | None:
    """The phrasing a synthetic trajectory was made from (kept in its id), else ``None``."""
    parts = trajectory.id.split("|")
    return parts[1] if trajectory.source == "synthetic" and len(parts) == 2 else None


# ---------------------------------------------------------------------------- errors


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _wrong_value(value: Any, schema: dict[str, Any]) -> Any:
    """A value of the wrong JSON type, of a kind models really produce."""
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    if "integer" in kinds and isinstance(value, int):
        return _NUMBER_WORDS.get(value, f"{value} or so")
    if "number" in kinds:
        return f"about {value}"
    if "boolean" in kinds:
        return "if possible"
    options = [s["enum"] for s in schema.get("anyOf", []) if "enum" in s]
    enum = schema.get("enum") or next(iter(options), None)
    if enum:
        return str(value).swapcase() if str(value).swapcase() != value else f"{value} please"
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)  # an id like 2210.03629 sent as a number
    return str(value).split()


def corrupt_call(
    call: ToolCall, error: ErrorType, registry: ToolRegistry, rng: Random
) -> ToolCall | None:
    """``call`` with ``error`` injected, or ``None`` when that error cannot apply to it.

    Only versions the registry really rejects are returned, so each one gets error feedback.
    """
    spec = catalogue_tool(call.name).spec
    props: dict[str, Any] = spec.parameters.get("properties", {})
    candidates: list[ToolCall] = []
    if error == "wrong_sibling":
        candidates = [
            call.model_copy(update={"name": s}) for s in siblings(call.name) if s in registry
        ]
    elif error == "hallucinated_tool":
        names = {
            _camel(call.name),
            call.name + "_api",
            re.sub(r"^get_", "fetch_", call.name),
            call.name.rsplit("_", 1)[0] + "_info",
            call.name.replace("s_by_", "_by_"),
        }
        candidates = [call.model_copy(update={"name": n}) for n in sorted(names - _ALL_NAMES)]
    elif error == "missing_parameter":
        candidates = [
            call.model_copy(
                update={"arguments": {k: v for k, v in call.arguments.items() if k != key}}
            )
            for key in spec.parameters.get("required", [])
            if key in call.arguments
        ]
    elif error == "hallucinated_parameter":
        candidates = [
            call.model_copy(update={"arguments": {**call.arguments, key: value}})
            for key, value in _BOGUS_ARGUMENTS.items()
            if key not in props
        ]
        candidates += [
            call.model_copy(
                update={
                    "arguments": {  # a real parameter, misspelt
                        (_camel(k) if k == key else k): v for k, v in call.arguments.items()
                    }
                }
            )
            for key in call.arguments
            if _camel(key) not in props
        ]
    elif error == "wrong_type":
        candidates = [
            call.model_copy(
                update={
                    "arguments": {**call.arguments, key: _wrong_value(value, props.get(key, {}))}
                }
            )
            for key, value in call.arguments.items()
        ]
    rejected = [c for c in candidates if registry.validate(c) is not None]
    return rng.choice(rejected) if rejected else None


# ---------------------------------------------------------------------------- building


class _Builder:
    """Grows one trajectory: every call goes through the registry, ids are sequential."""

    def __init__(self, registry: ToolRegistry, messages: list[Message]) -> None:
        self.registry, self.messages, self.calls = registry, messages, 0
        self.injected: dict[int, ErrorType] = {}

    def new_id(self) -> str:
        self.calls += 1
        return f"call_{self.calls}"

    async def turn(self, calls: list[ToolCall]) -> list[Any]:
        self.messages.append(AssistantMessage(tool_calls=calls))
        results = await self.registry.execute_many(calls)
        self.messages.extend(result.to_message() for result in results)
        return [_parsed(r.content) for r in results]

    async def step(
        self, name: str, arguments: list[dict[str, Any]], rng: Random, error_rate: float
    ) -> list[Any]:
        calls = [ToolCall(id=self.new_id(), name=name, arguments=a) for a in arguments]
        if rng.random() < error_rate:
            target = rng.randrange(len(calls))
            for error in rng.sample(ERROR_TYPES, len(ERROR_TYPES)):
                bad = corrupt_call(calls[target], error, self.registry, rng)
                if bad is not None:
                    self.injected[len(self.messages)] = error
                    await self.turn([*calls[:target], bad, *calls[target + 1 :]])
                    calls = [c.model_copy(update={"id": self.new_id()}) for c in calls]  # the retry
                    break
        results = await self.turn(calls)
        failed = [m for m in self.messages[-len(calls) :] if getattr(m, "is_error", False)]
        if failed:
            raise RuntimeError(f"a gold call failed, the task's slots are wrong: {failed[0]}")
        return results


def _parsed(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content


def _arguments(phrasing: Phrasing, slots: dict[str, Any], tool: str) -> dict[str, Any]:
    """Required parameters, plus optional ones the wording mentions (as ``{key}``, or as
    ``{key_text}`` for a value written out in words) or implies."""
    spec = catalogue_tool(tool).spec
    mentioned = {m.removesuffix("_text") for m in re.findall(r"{(\w+)}", phrasing.text)}
    required = set(spec.parameters.get("required", []))
    args = {
        k: slots[k]
        for k in spec.parameters["properties"]
        if k in slots and (k in required or k in mentioned)
    }
    return {**args, **phrasing.fixed}


def _offer(gold: list[str], rng: Random, sizes: tuple[int, int], banned: set[str]) -> list[str]:
    """Gold tools, their siblings, then random distractors, shuffled."""
    chosen = list(dict.fromkeys([*gold, *(s for g in gold for s in siblings(g))]))
    others = sorted(_ALL_NAMES - set(chosen) - banned)
    wanted = max(rng.randint(*sizes) - len(chosen), 0)
    chosen += rng.sample(others, min(wanted, len(others)))
    rng.shuffle(chosen)
    return chosen


def _pick_typed(
    rng: Random,
    sizes: tuple[int, int],
    no_tool_rate: float,
    multi_tool_rate: float,
    near_miss_rate: float = 0.0,
) -> tuple[Task, list[str], bool, bool]:
    """A task for the typed tools, the tools offered, whether the fitting tool is withheld
    (then a request of either catalogue meets typed tools that cannot serve it, or with
    ``near_miss_rate``, tools of its own subject that cannot) and whether those are near
    misses."""
    draw = rng.random()
    withheld = draw < no_tool_rate
    kind = "parallel" if not withheld and draw < no_tool_rate + multi_tool_rate else "single"
    pool = [t for t in TYPED_TASKS if t.kind == kind]
    if withheld:
        pool += [t for t in TASKS if t.kind == "single" and t.key not in KNOWABLE]
    task = rng.choice(pool)
    gold = [] if withheld else [task.steps[0].tool]
    others = sorted(_TYPED_NAMES - {task.steps[0].tool})
    wanted = max(rng.randint(*sizes) - len(gold), 1 if withheld else 0)
    offered = gold + rng.sample(others, min(wanted, len(others)))
    near = _near_miss(rng, task.steps[0].tool, sizes, near_miss_rate) if withheld else []
    offered = near or offered
    rng.shuffle(offered)
    return task, offered, withheld, bool(near)


def _near_miss(rng: Random, tool: str, sizes: tuple[int, int], rate: float) -> list[str]:
    """With chance ``rate``, tools on ``tool``'s subject offered in its place (empty
    otherwise, or when it has none); no draw at all when ``rate`` is 0, so the data without
    near misses stays what it was."""
    if rate <= 0 or rng.random() >= rate:
        return []
    return near_miss_offer(rng, tool, sizes[1])


def _withheld_answer(tool: str) -> str:
    need = catalogue_tool(tool).spec.description.rstrip(".")
    return (
        "I can't do that with the tools available here: none of them fits this request. "
        f"It would need a tool for this: {need[0].lower() + need[1:]}."
    )


async def _example(
    index: int,
    seed: int,
    sizes: tuple[int, int],
    error_rate: float,
    no_tool_rate: float,
    multi_tool_rate: float,
    typed_rate: float = 0.0,
    typed_sizes: tuple[int, int] = (1, 3),
    near_miss_rate: float = 0.0,
    twin: bool = False,
) -> SyntheticExample | None:
    """Example ``index``; with ``twin``, the same request with its fitting tool put among
    the near misses it was offered instead, answered by calls (None when example ``index``
    is no near miss)."""
    rng = Random(f"{seed}:{index}")
    typed = typed_rate > 0 and rng.random() < typed_rate  # no draw at all when off
    if typed:
        task, offered, withheld, near = _pick_typed(
            rng, typed_sizes, no_tool_rate, multi_tool_rate, near_miss_rate
        )
        number = rng.randrange(len(task.phrasings))
        phrasing, slots = task.phrasings[number], task.slots(rng)
    else:
        draw = rng.random()
        kind = (
            "no_tool"
            if draw < no_tool_rate
            else "multi"
            if draw < no_tool_rate + multi_tool_rate
            else "single"
        )
        withheld = kind == "no_tool" and rng.random() < 0.5
        kinds = {"no_tool": {"no_tool"}, "multi": {"chain", "parallel"}, "single": {"single"}}
        pool = (
            [t for t in TASKS if t.kind == "single" and t.key not in KNOWABLE]
            if withheld
            else [t for t in TASKS if t.kind in kinds[kind]]
        )
        task = rng.choice(pool)
        number = rng.randrange(len(task.phrasings))
        phrasing, slots = task.phrasings[number], task.slots(rng)
        gold = [step.tool for step in task.steps]
        banned = {m for g in gold for m in [g, *siblings(g)]} if withheld else set()
        offered = _offer([] if withheld else gold, rng, sizes, banned)
        around = _near_miss(rng, task.steps[0].tool, sizes, near_miss_rate) if withheld else []
        offered, near = around or offered, bool(around)
    if twin:
        if not near:
            return None
        # The fitting tool joins the same near misses at a place of its own draw, so the
        # request, its values and everything drawn before stay those of example ``index``.
        place = Random(f"{seed}:{index}:twin").randrange(len(offered) + 1)
        offered = [*offered[:place], task.steps[0].tool, *offered[place:]]
        withheld = False
    # Half the typed requests come without the agent's instructions, as a bare API call
    # with tools has only the tool list for a system prompt.
    system = [] if typed and rng.random() < 0.5 else [SystemMessage(content=SYSTEM_PROMPT)]
    builder = _Builder(
        catalogue_registry(offered),
        [*system, UserMessage(content=phrasing.text.format(**slots))],
    )
    if withheld or task.kind == "no_tool":
        answer = _withheld_answer(task.steps[0].tool) if withheld else phrasing.answer or ""
    else:
        results: list[Any] = []
        for step in task.steps:
            made = (
                step.arguments(slots, results)
                if step.arguments
                else _arguments(phrasing, slots, step.tool)
            )
            batch = made if isinstance(made, list) else [made]
            outputs = await builder.step(step.tool, batch, rng, error_rate)
            results.append(outputs if isinstance(made, list) else outputs[0])
        answer = (
            task.answer(slots, results)
            if callable(task.answer)
            else task.answer.format(**slots, r=results)
        )
    builder.messages.append(AssistantMessage(content=answer))
    template = f"{task.key}#{number}"
    trajectory = Trajectory(
        id=f"syn{seed}-{index:05d}{'t' if twin else ''}|{template}",
        source="synthetic",
        tools=builder.registry.specs(),
        messages=builder.messages,
    )
    shown = "withheld" if withheld else task.kind
    return SyntheticExample(
        trajectory=trajectory, template=template, kind=shown, injected=builder.injected
    )


async def generate_examples_async(
    count: int,
    seed: int,
    *,
    tools_per_query: tuple[int, int] = (3, 6),
    error_rate: float = 0.2,
    no_tool_rate: float = 0.1,
    multi_tool_rate: float = 0.25,
    typed_rate: float = 0.0,
    typed_tools_per_query: tuple[int, int] = (1, 3),
    near_miss_rate: float = 0.0,
    near_miss_pairs: bool = False,
) -> list[SyntheticExample]:
    """Like ``generate_trajectories``, keeping each example's template, kind and injected errors."""
    for sizes in (tools_per_query, typed_tools_per_query):
        if count < 0 or not 1 <= sizes[0] <= sizes[1]:
            raise ValueError(f"need count >= 0 and 1 <= low <= high, got {count} and {sizes}")
    for label, rate in (
        ("error_rate", error_rate),
        ("no_tool_rate", no_tool_rate),
        ("multi_tool_rate", multi_tool_rate),
        ("typed_rate", typed_rate),
        ("near_miss_rate", near_miss_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{label} must be within [0, 1], got {rate}")
    if no_tool_rate + multi_tool_rate > 1.0:
        raise ValueError("no_tool_rate + multi_tool_rate must not exceed 1")
    make = partial(
        _example,
        seed=seed,
        sizes=tools_per_query,
        error_rate=error_rate,
        no_tool_rate=no_tool_rate,
        multi_tool_rate=multi_tool_rate,
        typed_rate=typed_rate,
        typed_sizes=typed_tools_per_query,
        near_miss_rate=near_miss_rate,
    )
    examples: list[SyntheticExample] = []
    for i in range(count):
        drawn = [await make(i), await make(i, twin=True) if near_miss_pairs else None]
        examples += [example for example in drawn if example is not None]
    return examples


def generate_examples(count: int, seed: int, **options: Any) -> list[SyntheticExample]:
    """Synchronous ``generate_examples_async``; from async code, await that one instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(generate_examples_async(count, seed, **options))
    raise RuntimeError(
        "generate_examples was called inside an event loop; "
        "await generate_examples_async(...) there instead"
    )


def generate_trajectories(
    count: int,
    seed: int,
    *,
    tools_per_query: tuple[int, int] = (3, 6),
    error_rate: float = 0.2,
    no_tool_rate: float = 0.1,
    multi_tool_rate: float = 0.25,
    typed_rate: float = 0.0,
    typed_tools_per_query: tuple[int, int] = (1, 3),
    near_miss_rate: float = 0.0,
    near_miss_pairs: bool = False,
) -> list[Trajectory]:
    """``count`` trajectories, the same for the same ``seed`` (trajectory i does not depend
    on ``count``). ``error_rate`` is the chance that a call step is first tried wrongly.
    ``typed_rate`` is the share drawn from the typed catalogue (numbers, flags, lists,
    nested objects; ``typed_tools_per_query`` tools offered); at 0 the data is exactly
    what it was before that catalogue existed. ``near_miss_rate`` is the share of "no tool
    fits" requests offered tools of their own subject (``near_misses``) rather than
    unrelated ones; at 0 nothing changes either. With ``near_miss_pairs`` each of those is
    followed by its twin: the same request with the fitting tool among the same near
    misses, answered by calls, so that only the tool list tells declining from calling."""
    return [
        e.trajectory
        for e in generate_examples(
            count,
            seed,
            tools_per_query=tools_per_query,
            error_rate=error_rate,
            no_tool_rate=no_tool_rate,
            multi_tool_rate=multi_tool_rate,
            typed_rate=typed_rate,
            typed_tools_per_query=typed_tools_per_query,
            near_miss_rate=near_miss_rate,
            near_miss_pairs=near_miss_pairs,
        )
    ]


def heldout_phrasings(
    trajectories: Sequence[Trajectory], heldout_fraction: float, seed: int
) -> set[str]:
    """The phrasings (template keys, or ``*#query``) held out of training: per task a
    ``heldout_fraction`` share of those drawn, always leaving the task one in training."""
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be within [0, 1), got {heldout_fraction}")
    by_task: dict[str, list[str]] = {}
    for key in sorted({phrasing_of(t) for t in trajectories}):
        by_task.setdefault(key.split("#", 1)[0], []).append(key)
    rng, held = Random(seed), set()
    for task in sorted(by_task):
        keys = by_task[task]
        rng.shuffle(keys)
        take = min(len(keys) - 1, math.floor(len(keys) * heldout_fraction + rng.random()))
        held.update(keys[: max(take, 0)])
    return held


def phrasing_of(trajectory: Trajectory) -> str:
    return template_of(trajectory) or f"*#{trajectory.query}"


def split_train_heldout(
    trajectories: list[Trajectory],
    heldout_fraction: float,
    seed: int,
    *,
    extra_heldout: Sequence[Trajectory] = (),
) -> tuple[list[Trajectory], list[Trajectory]]:
    """Split so that no phrasing is in both parts, and each task keeps at least one phrasing
    in training. Trajectories without a template are grouped by their query text. Held-out
    trajectories are returned without their erroneous steps: evaluation gold is clean.

    ``extra_heldout`` enlarges the held-out side without touching training: those whose
    phrasing is held out join it, the rest are dropped (the split is decided on
    ``trajectories`` alone)."""
    held = heldout_phrasings(trajectories, heldout_fraction, seed)
    train = [t for t in trajectories if phrasing_of(t) not in held]
    heldout = [
        without_erroneous_steps(t)
        for t in [*trajectories, *extra_heldout]
        if phrasing_of(t) in held
    ]
    return train, heldout
