"""The chat app's public surface: its endpoints, their parameters and the page's element ids.

Gradio derives an endpoint's name (when no ``api_name`` is given) and its parameter names from
the handler function itself, so restructuring the handlers can change the
API that ``gradio_client`` users call without any test of behaviour noticing.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("gradio")

from hanlin.llm.scripted import ScriptedModel
from hanlin.ui.app import CSS, build_app
from hanlin.ui.services import UiServices

TURN = ["Chatbot", "Browserstate", "Markdown", "Code", "Markdown", "Markdown"]
APPROVAL = ["arguments", "reason", "history", "browser", "team"]
ENDPOINTS = {
    "/send": (["box", "history", "browser", "team"], [*TURN, "Multimodaltextbox"]),
    "/approve": (APPROVAL, TURN),
    "/edit": (APPROVAL, TURN),
    "/reject": (APPROVAL, TURN),
    "/resume": (["history", "browser", "team"], TURN),
    "/on_load": (["browser", "team"], TURN),
    "/new_thread": ([], TURN),
    "/memory": (["browser"], ["Dataframe", "Plot", "Markdown", "Markdown", "Markdown"]),
}
# What the browser tests, the CSS and the page's scripts find widgets by.
ELEMENT_IDS = {
    "chat", "message", "status", "approval", "approval-heading", "approval-args",
    "approval-reason", "approve", "edit", "reject", "stop", "resume", "new-thread", "team",
    "model", "model-url", "tools", "approve-tools", "max-tokens", "debaters", "rounds",
    "thread-info", "memory-refresh", "memory-status", "memory-table", "team-config",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> Any:
    return build_app(UiServices(model_factory=lambda config: ScriptedModel([]), redis_url=None))


def test_the_endpoints_keep_their_names_parameters_and_results(demo: Any) -> None:
    api = demo.get_api_info()
    assert api["unnamed_endpoints"] == {}
    named = api["named_endpoints"]
    public = {name for name, info in named.items() if info["api_visibility"] == "public"}
    assert public == set(ENDPOINTS)
    for name, (parameters, returns) in ENDPOINTS.items():
        info = named[name]
        assert [p["parameter_name"] for p in info["parameters"]] == parameters, name
        assert [r["component"] for r in info["returns"]] == returns, name


def test_the_page_has_every_element_the_browser_finds(demo: Any) -> None:
    ids = [c["props"].get("elem_id") for c in demo.get_config_file()["components"]]
    present = [i for i in ids if i]
    assert sorted(present) == sorted(ELEMENT_IDS)  # each once
    assert "#status" in CSS
