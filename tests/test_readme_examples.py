"""The README's and docs' Python examples use public names only, and they run as written.

The static test reads every ```python block (and every `hanlin.x.y` mentioned in prose) and
fails on a path that is not public: users import from ``hanlin`` or a curated subpackage
(``hanlin.agents``, ``hanlin.runtime``, ``hanlin.planner``, ``hanlin.training``), and only
the names those export.

The run test executes the README's blocks in order in one namespace, like a notebook. The
services the README points at exist for real on loopback: a Redis server, an
OpenAI-compatible server (``hanlin serve``'s app, with a fixed-reply model behind it, in
place of the README's vLLM), a REST service with an OpenAPI document, an MCP server
script, and the embedded local model for the blocks that name it.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CURATED = {"hanlin", "hanlin.agents", "hanlin.runtime", "hanlin.planner", "hanlin.training"}
FENCE = re.compile(r"```python\n(.*?)```", re.S)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in FENCE.finditer(text)]


def parse(source: str, name: str) -> ast.Module:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, name, "exec", flags=flags)  # type: ignore[no-any-return]


def public_names(package: str) -> set[str]:
    return set(importlib.import_module(package).__all__)


def private_uses(tree: ast.Module) -> list[str]:
    """Every hanlin import in ``tree`` that is not a curated package's exported name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("hanlin.")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hanlin"):
            module = node.module or ""
            if module not in CURATED:
                found.append(module)
                continue
            exported = public_names(module)
            found += [f"{module}.{a.name}" for a in node.names if a.name not in exported]
    return found


def is_package(dotted: str) -> bool:
    try:
        return hasattr(importlib.import_module(dotted), "__path__")
    except ImportError:
        return False


def prose_paths(path: Path) -> list[str]:
    """Dotted ``hanlin.a.b`` paths quoted in the prose (outside code blocks)."""
    prose = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return re.findall(r"`(hanlin(?:\.[A-Za-z_]\w*)+)", prose)


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_examples_use_public_names_only(path: Path) -> None:
    offenders = []
    for line, source in python_blocks(path):
        offenders += [f"line {line}: {use}" for use in private_uses(parse(source, path.name))]
    for dotted in prose_paths(path):
        package, _, name = dotted.rpartition(".")
        if is_package(dotted):  # naming a room of the house, not reaching into it
            continue
        if package not in CURATED or name not in public_names(package):
            offenders.append(f"prose: {dotted}")
    assert offenders == [], f"{path.name} reaches past the public surface: {offenders}"


def test_the_static_check_catches_a_deep_import() -> None:
    tree = parse("from hanlin.agents.agent import Agent\nfrom hanlin import Nope\n", "x")
    assert private_uses(tree) == ["hanlin.agents.agent", "hanlin.Nope"]


# --------------------------------------------------------------------------- running them


# Stands in for the README's vLLM model: one reply that ends every pattern (a plan step, a
# boxed number, the role-play's done token), so each team finishes.
FIXED_REPLY = "1. Work it out. The answer is \\boxed{29}. <CAMEL_TASK_DONE>"


def weather_service() -> Any:
    from fastapi import FastAPI, Header, HTTPException

    app = FastAPI(title="Weather", version="1.0")

    @app.get("/weather/{city}", operation_id="get_weather", summary="Current weather")
    def get_weather(city: str, authorization: str = Header("")) -> dict[str, Any]:
        if authorization != "Bearer readme-token":
            raise HTTPException(401, "missing token")
        return {"city": city, "temperature": 21}

    @app.get("/cities", operation_id="list_cities", summary="Known cities")
    def list_cities() -> list[str]:
        return ["Paris", "Oslo"]

    return app


MCP_SERVER = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("readme")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


server.run("stdio")
'''


@pytest.fixture
def services(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    from PIL import Image, ImageDraw
    from tests_support import minimal_pdf

    from hanlin import ScriptedModel
    from hanlin.serving.server import BackgroundServer, create_app

    model = ScriptedModel([FIXED_REPLY] * 10_000)
    models = {"Qwen/Qwen2.5-7B-Instruct": model, "hanlin-local": model}
    (tmp_path / "my_server.py").write_text(MCP_SERVER)
    (tmp_path / "report.pdf").write_bytes(minimal_pdf(["Quarterly report", "Sales rose 4%."]))
    image = Image.new("RGB", (360, 90), "white")
    ImageDraw.Draw(image).text((10, 30), "EXIT 12", fill="black", font_size=40)
    image.save(tmp_path / "sign.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEATHER_TOKEN", "readme-token")
    with BackgroundServer(create_app(models)) as llm, BackgroundServer(weather_service()) as rest:
        yield {
            "redis://127.0.0.1:6390/0": redis_url,
            "http://127.0.0.1:8000/v1": f"{llm.url}/v1",
            "http://127.0.0.1:9000/openapi.json": f"{rest.url}/openapi.json",
            'command="python"': f"command={sys.executable!r}",
        }


async def run_block(source: str, namespace: dict[str, Any], name: str) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(source, name, "exec", flags=flags)
    if code.co_flags & inspect.CO_COROUTINE:
        await eval(code, namespace)
    else:  # a block that calls asyncio.run itself must not run inside this loop
        await asyncio.to_thread(exec, code, namespace)


# What each block must have done, found by a phrase of the block: (phrase, check).
CHECKS: list[tuple[str, Any]] = [
    ("run_sync(", lambda ns, out: out.strip() not in ("", "None")),
    ("runner.stream(", lambda ns, out: "final" in out and "tool_call" in out),
    ("PlanExecuteAgent(", lambda ns, out: ns["result"].error is None and ns["result"].final_answer),
    ("Debate(agents=", lambda ns, out: ns["result"].error is None),
    ("Supervisor(model=", lambda ns, out: "[Document: report.pdf" in ns["seen"].text()),
    ("redis_runner(", lambda ns, out: ns["result"].error is None),
    ("OpenAI(base_url", lambda ns, out: FIXED_REPLY in out),
    ("class Lookup(Tool)", lambda ns, out: ns["registry"].names() == ["get_weather", "lookup"]),
    (
        "RestPlugin.from_openapi(",
        lambda ns, out: (
            sorted(t.name for t in ns["plugin"].tools) == ["get_weather", "list_cities"]
        ),
    ),
    ("McpToolSource(", lambda ns, out: [t.name for t in ns["source"].tools] == ["add"]),
    ("run_python(", lambda ns, out: "45\n 0 None" in out and "42" in out),
    ("MemoryStore.open(", lambda ns, out: "Miso" in out),
]


@pytest.mark.local_model
@pytest.mark.redis
async def test_readme_examples_run_in_order(
    services: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    blocks = python_blocks(README)
    unchecked = [phrase for phrase, _ in CHECKS if not any(phrase in b for _, b in blocks)]
    assert unchecked == [], f"checks name blocks the README no longer has: {unchecked}"
    for line, source in blocks:
        for old, new in services.items():
            source = source.replace(old, new)
        try:
            await run_block(source, namespace, f"README.md:{line}")
        except Exception as exc:
            pytest.fail(f"README block at line {line} failed: {type(exc).__name__}: {exc}")
        out = capsys.readouterr().out
        for phrase, check in CHECKS:
            if phrase in source:
                assert check(namespace, out), f"README block at line {line} ({phrase}): {out!r}"


def test_the_define_a_tool_example_behaves_as_described() -> None:
    namespace: dict[str, Any] = {}
    source = next(s for _, s in python_blocks(README) if "class Lookup(Tool)" in s)
    exec(compile(source, "README-define-a-tool", "exec"), namespace)
    registry = namespace["registry"]
    from hanlin import ToolCall

    result = asyncio.run(registry.execute(ToolCall(id="1", name="lookup", arguments={"key": "a"})))
    assert result.content == "1"
    weather = asyncio.run(
        registry.execute(ToolCall(id="2", name="get_weather", arguments={"city": "Paris"}))
    )
    assert weather.content == '{"city":"Paris","temperature":21,"unit":"celsius"}'


os.environ.setdefault("HF_HUB_OFFLINE", "1")
