"""The public surface: every exported name resolves, the lazy table and the static imports
agree, importing stays light, and ``run_sync`` works in scripts and inside running loops."""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hanlin
from hanlin import Agent, ScriptedModel

ROOT = Path(__file__).resolve().parents[1]
CURATED = ["hanlin", "hanlin.agents", "hanlin.runtime", "hanlin.planner", "hanlin.training"]


def _type_checking_names(package: str) -> set[str]:
    """Names imported under ``if TYPE_CHECKING:`` in the package's ``__init__``."""
    module = importlib.import_module(package)
    tree = ast.parse(Path(module.__file__ or "").read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for item in ast.walk(node):
                if isinstance(item, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in item.names)
    return names


@pytest.mark.parametrize("package", CURATED)
def test_every_exported_name_resolves_and_type_checkers_see_the_same_names(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    assert exported == _type_checking_names(package)
    for name in sorted(exported):
        assert getattr(module, name) is not None, name
    assert exported <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Agnet'"):
        hanlin.Agnet  # noqa: B018
    with pytest.raises(ImportError):
        exec("from hanlin import Agnet", {})


def test_importing_the_core_names_leaves_the_heavy_stacks_unloaded() -> None:
    heavy = ["gradio", "torch", "transformers", "llama_cpp", "matplotlib"]
    code = (
        "import json, sys\n"
        "from hanlin import Agent, Runner, tool, LocalModel, Debate, Supervisor, MemoryStore\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT.parent
    )
    assert json.loads(done.stdout) == []


def test_run_sync_answers_in_a_script() -> None:
    agent = Agent(name="helper", model=ScriptedModel(["Paris."]))
    result = agent.run_sync("Capital of France?")
    assert result.final_answer == "Paris." and result.error is None


async def test_run_sync_also_works_inside_a_running_event_loop() -> None:
    """A notebook cell runs inside a loop; the turn then runs on a loop of its own."""
    agent = Agent(name="helper", model=ScriptedModel(["Rome.", "Oslo."]))
    assert agent.run_sync("Capital of Italy?").final_answer == "Rome."
    assert asyncio.get_running_loop().is_running()
    assert (await agent.run("Capital of Norway?")).final_answer == "Oslo."


def test_a_model_that_is_not_a_chat_model_is_refused_with_what_was_given() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="expected a hanlin ChatModel.*got str"):
        Agent(name="helper", model="gpt-4")
    with pytest.raises(ValidationError, match="name"):
        Agent(name="bad/name", model=ScriptedModel([]))


def test_the_runtime_re_exports_exactly_the_run_contract() -> None:
    """``hanlin.runtime`` lists the contract's names itself, to stay lazy; they must agree."""
    import hanlin.contract
    import hanlin.runtime

    contract_names = set(hanlin.contract.__all__)
    assert set(hanlin.runtime._CONTRACT) == contract_names
    assert contract_names <= set(hanlin.runtime.__all__)
