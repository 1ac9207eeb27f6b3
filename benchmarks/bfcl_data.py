"""BFCL's single-turn categories, read from the ``bfcl-eval`` package, as hanlin inputs.

The Berkeley Function Calling Leaderboard (Patil et al., "The Berkeley Function Calling
Leaderboard", ICML 2025) ships its questions, function documents and possible answers in
``bfcl_eval/data/``, one JSON object per line. Function documents use BFCL's own type names
(``dict``, ``float``, ``tuple``, ``any``); they become JSON schema with the mapping the package
itself uses for OpenAI-style models (``GORILLA_TO_OPENAPI``). Names with a dot become
underscores, as BFCL does for every function-calling API that forbids dots; the checker is
told so and converts the expected names the same way.

Evaluation only: nothing here may feed a training set.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage

# Short names used on the command line -> the package's file stem after ``BFCL_v4_``.
CATEGORIES: dict[str, str] = {
    "simple": "simple_python",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
    "live_simple": "live_simple",
    "live_irrelevance": "live_irrelevance",
}
DEFAULT_CATEGORIES = list(CATEGORIES)
INSTALL_HINT = "BFCL data needs the bfcl-eval package: pip install --no-deps bfcl-eval==2026.3.23"


class BfclItem(BaseModel):
    """One question: the conversation, the functions offered, and the possible answers
    (``None`` for irrelevance, where the right answer is no call at all)."""

    id: str
    category: str
    messages: list[dict[str, str]]
    functions: list[dict[str, Any]]
    possible_answer: list[dict[str, Any]] | None = None

    @property
    def expects_no_call(self) -> bool:
        return "irrelevance" in self.category

    def chat_messages(self) -> list[Message]:
        out: list[Message] = []
        for turn in self.messages:
            role, content = turn.get("role"), str(turn.get("content", ""))
            if role == "system":
                out.append(SystemMessage(content=content))
            elif role == "assistant":
                out.append(AssistantMessage(content=content))
            else:
                out.append(UserMessage(content=content))
        return out

    def tool_specs(self) -> list[ToolSpec]:
        return [function_spec(f) for f in self.functions]


def data_dir() -> Path:
    try:
        import bfcl_eval
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    return Path(bfcl_eval.__file__).parent / "data"


def available_categories() -> list[str]:
    """The short category names whose question file the installed package has."""
    root = data_dir()
    return [c for c, stem in CATEGORIES.items() if (root / f"BFCL_v4_{stem}.json").exists()]


@cache
def _lines(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in path.read_text().splitlines() if line.strip())


def load_category(category: str, limit: int | None = None, offset: int = 0) -> list[BfclItem]:
    """``limit`` items of ``category`` from ``offset`` on, in the package's own order."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown BFCL category {category!r}; known: {', '.join(CATEGORIES)}")
    root = data_dir()
    stem = f"BFCL_v4_{CATEGORIES[category]}.json"
    questions = _lines(root / stem)
    answers_file = root / "possible_answer" / stem
    answers = (
        {a["id"]: a["ground_truth"] for a in _lines(answers_file)} if answers_file.exists() else {}
    )
    items: list[BfclItem] = []
    for entry in questions[offset : offset + limit if limit is not None else None]:
        first_turn = entry["question"][0]
        items.append(
            BfclItem(
                id=entry["id"],
                category=category,
                messages=list(first_turn),
                functions=list(entry["function"]),
                possible_answer=answers.get(entry["id"]),
            )
        )
    return items


def tool_name(name: str) -> str:
    """The name a model is offered: dots become underscores (see the module notes)."""
    return re.sub(r"\.", "_", name)


def function_spec(function: dict[str, Any]) -> ToolSpec:
    """A BFCL function document as a hanlin tool (JSON-schema parameters)."""
    parameters = copy.deepcopy(function.get("parameters") or {})
    parameters["type"] = "object"
    parameters["properties"] = {
        key: json_schema(value) for key, value in (parameters.get("properties") or {}).items()
    }
    return ToolSpec(
        name=tool_name(function["name"]),
        description=function.get("description", ""),
        parameters=parameters,
    )


def json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """One parameter with BFCL's type names mapped to JSON schema, recursively."""
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

    out = dict(node)
    given = out.get("type")
    out["type"] = GORILLA_TO_OPENAPI.get(given, "string") if isinstance(given, str) else "string"
    if given == "float":
        out["description"] = (out.get("description") or "") + " This is a float type value."
    if "properties" in out and isinstance(out["properties"], dict):
        out["properties"] = {k: json_schema(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = json_schema(out["items"])
    for key in ("optional", "format"):
        out.pop(key, None)
    return out
