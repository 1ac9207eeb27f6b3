"""REST plugins against a real FastAPI service on 127.0.0.1, its live /openapi.json loaded by
URL."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from hanlin.agents.agent import Agent
from hanlin.llm.messages import ToolCall, ToolMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.serving.server import BackgroundServer
from hanlin.tools import ToolRegistry
from hanlin.tools.rest_plugin import RestAuth, RestPlugin

DATA = Path(__file__).parent / "data" / "rest"


def _load_service() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rest_service_app", DATA / "service_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


service = _load_service()
TOKEN: str = service.TOKEN


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    app = service.create_app()
    with BackgroundServer(app) as running:
        running.app = app  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module")
def plugin(server: BackgroundServer) -> RestPlugin:
    return RestPlugin.from_openapi(
        f"{server.url}/openapi.json",
        auth=RestAuth(kind="bearer", value=TOKEN),
        timeout=5,
        max_response_bytes=1000,
        backoff=0.05,
    )


@pytest.fixture(scope="module")
def registry(plugin: RestPlugin) -> ToolRegistry:
    return ToolRegistry(plugin.tools)


def hits(server: BackgroundServer) -> dict[str, int]:
    return server.app.state.hits  # type: ignore[attr-defined, no-any-return]


def tool_call(name: str, call_id: str = "c1", **arguments: object) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=dict(arguments))


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------ the tools and their schemas


def test_live_document_gives_one_tool_per_operation(plugin: RestPlugin) -> None:
    assert plugin.title == "Weather and Todos"
    assert plugin.names() == [
        "get_weather",
        "create_todo",
        "get_todo",
        "whoami",
        "echo_auth",
        "keyed_header",
        "keyed_query",
        "flaky",
        "broken_post",
        "get_text",
        "get_huge",
        "slow",
    ]
    weather = plugin.get("get_weather").spec
    assert weather.description == "Current weather for a city"
    assert weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "units": {"enum": ["metric", "imperial"], "type": "string", "default": "metric"},
            "days": {"type": "integer", "maximum": 7, "minimum": 1, "default": 1},
            "x_request_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    # The $ref'd request body is flattened into the arguments.
    todo = plugin.get("create_todo").spec.parameters
    assert list(todo["properties"]) == ["title", "priority", "tags"]
    assert todo["properties"]["title"] == {"type": "string", "description": "What to do."}
    assert todo["required"] == ["title"]
    kit = plugin.toolkit()
    assert kit.name == "weather_and_todos" and len(kit) == 12
    assert ToolRegistry([plugin.toolkit("svc")]).toolkits() == ["svc"]


# ------------------------------------------------------------------ calls through the registry


async def test_path_query_and_header_parameters(registry: ToolRegistry) -> None:
    result = await registry.execute(
        tool_call("get_weather", city="São Paulo?#1", units="imperial", days=3, x_request_id="r-7")
    )
    assert not result.is_error, result.content
    assert result.content == compact(
        {
            "city": "São Paulo?#1",
            "units": "imperial",
            "days": 3,
            "temperature": 70,
            "sky": "sunny",
            "request_id": "r-7",
        }
    )
    defaults = await registry.execute(tool_call("get_weather", city="Paris"))
    assert json.loads(defaults.content) == {
        "city": "Paris",
        "units": "metric",
        "days": 1,
        "temperature": 21,
        "sky": "sunny",
        "request_id": None,
    }


async def test_json_body_and_a_created_resource(registry: ToolRegistry) -> None:
    created = await registry.execute(tool_call("create_todo", title="Buy milk", tags=["home"]))
    assert not created.is_error, created.content
    body = json.loads(created.content)
    assert body == {"title": "Buy milk", "priority": 1, "tags": ["home"], "id": body["id"]}
    read = await registry.execute(tool_call("get_todo", todo_id=body["id"]))
    assert json.loads(read.content) == body


async def test_registry_reports_bad_arguments_before_any_request(
    registry: ToolRegistry, server: BackgroundServer
) -> None:
    before = hits(server)["create_todo"]
    missing = await registry.execute(tool_call("create_todo", priority=2))
    assert missing.error is not None and missing.error.kind is ToolErrorKind.MISSING_PARAMETER
    assert "title" in missing.content
    wrong = await registry.execute(tool_call("get_todo", todo_id="seven"))
    assert wrong.error is not None and wrong.error.kind is ToolErrorKind.INVALID_VALUE
    assert "todo_id" in wrong.content and "integer" in wrong.content
    out_of_range = await registry.execute(tool_call("get_weather", city="Oslo", days=9))
    assert out_of_range.error is not None
    assert out_of_range.error.kind is ToolErrorKind.INVALID_VALUE
    bad_enum = await registry.execute(tool_call("get_weather", city="Oslo", units="kelvin"))
    assert bad_enum.error is not None and bad_enum.error.options == ["metric", "imperial"]
    unknown = await registry.execute(tool_call("get_weather", city="Oslo", country="NO"))
    assert unknown.error is not None
    assert unknown.error.kind is ToolErrorKind.HALLUCINATED_PARAMETER
    assert hits(server)["create_todo"] == before  # nothing invalid reached the server


# ------------------------------------------------------------------ credentials


async def test_bearer_token_is_sent_and_never_shown(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REST_TEST_TOKEN", TOKEN)
    plugin = RestPlugin.from_openapi(
        f"{server.url}/openapi.json",
        auth=RestAuth(kind="bearer", env="REST_TEST_TOKEN"),
        include=["whoami", "echo_auth", "get_todo"],
    )
    registry = ToolRegistry(plugin.tools)
    me = await registry.execute(tool_call("whoami"))
    assert me.content == compact({"user": "alice"})
    # The server echoes the header back: the secret is redacted from what the model reads.
    echoed = await registry.execute(tool_call("echo_auth"))
    assert echoed.content == compact({"user": "alice", "received": "Bearer [redacted]"})
    missing = await registry.execute(tool_call("get_todo", todo_id=987))
    texts = [
        me.content,
        echoed.content,
        missing.content,
        repr(plugin.tools),
        json.dumps([s.model_dump() for s in registry.specs()]),
    ]
    assert all(TOKEN not in text for text in texts)
    offered = [key.lower() for spec in registry.specs() for key in spec.parameters["properties"]]
    assert "authorization" not in offered


async def test_missing_or_wrong_credentials(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REST_TEST_UNSET", raising=False)
    unset = RestPlugin.from_openapi(
        f"{server.url}/openapi.json",
        include=["whoami"],
        auth=RestAuth(kind="bearer", env="REST_TEST_UNSET"),
    )
    result = await ToolRegistry(unset.tools).execute(tool_call("whoami"))
    assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
    assert "environment variable REST_TEST_UNSET is not set" in result.content
    wrong = RestPlugin.from_openapi(
        f"{server.url}/openapi.json",
        include=["whoami"],
        auth=RestAuth(kind="bearer", value="not-the-token"),
    )
    denied = await ToolRegistry(wrong.tools).execute(tool_call("whoami"))
    assert denied.content == (
        "Error (tool_raised): whoami failed: RestCallError: whoami (GET /me) returned HTTP 401 "
        "Unauthorized (the service needs valid credentials; they are configured with the "
        'plugin, not by arguments): {"detail":"invalid or missing bearer token"}'
    )
    assert "not-the-token" not in denied.content


# ------------------------------------------------------------------ failures and limits


async def test_server_errors_are_retried_for_get(
    registry: ToolRegistry, server: BackgroundServer
) -> None:
    result = await registry.execute(tool_call("flaky", key="a"))
    assert result.content == compact({"ok": True, "attempt": 3})
    assert hits(server)["flaky:a"] == 3


async def test_retries_give_up_with_the_last_error(server: BackgroundServer) -> None:
    once = RestPlugin.from_openapi(
        f"{server.url}/openapi.json", include=["flaky"], retries=1, backoff=0.01
    )
    result = await ToolRegistry(once.tools).execute(tool_call("flaky", key="b"))
    assert hits(server)["flaky:b"] == 2
    assert result.content == (
        "Error (tool_raised): flaky failed: RestCallError: flaky (GET /flaky) returned HTTP 500 "
        "Internal Server Error after 2 attempts (the service failed): "
        '{"detail":"temporarily broken"}'
    )


async def test_post_is_retried_only_when_allowed(server: BackgroundServer) -> None:
    url = f"{server.url}/openapi.json"
    plain = RestPlugin.from_openapi(url, include=["broken_post"], backoff=0.01)
    result = await ToolRegistry(plain.tools).execute(tool_call("broken_post", key="p"))
    assert hits(server)["broken:p"] == 1
    assert "returned HTTP 503 Service Unavailable (the service failed)" in result.content
    assert '{"detail":"down for maintenance"}' in result.content
    retrying = RestPlugin.from_openapi(url, include=["broken_post"], backoff=0.01, retry_post=True)
    await ToolRegistry(retrying.tools).execute(tool_call("broken_post", key="q"))
    assert hits(server)["broken:q"] == 3


async def test_client_errors_are_clear_and_not_retried(
    registry: ToolRegistry, server: BackgroundServer
) -> None:
    before = hits(server)["get_todo"]
    missing = await registry.execute(tool_call("get_todo", todo_id=404404))
    assert hits(server)["get_todo"] == before + 1
    assert missing.error is not None and missing.error.kind is ToolErrorKind.TOOL_RAISED
    assert missing.content == (
        "Error (tool_raised): get_todo failed: RestCallError: get_todo (GET /todos/404404) "
        "returned HTTP 404 Not Found (nothing exists at this address; check the identifiers in "
        'the arguments): {"detail":"todo 404404 not found"}'
    )
    rejected = await registry.execute(tool_call("create_todo", title="   "))
    assert rejected.content.endswith(
        "returned HTTP 422 Unprocessable Entity (the server rejected the arguments): "
        '{"detail":{"error":"title must not be blank"}}'
    )


async def test_text_and_huge_responses(registry: ToolRegistry) -> None:
    text = await registry.execute(tool_call("get_text"))
    assert text.content == "plain text: hello"
    started = time.perf_counter()
    huge = await registry.execute(tool_call("get_huge"))
    assert not huge.is_error
    assert huge.content == "x" * 1000 + "\n…[response truncated at 1000 bytes]"
    assert time.perf_counter() - started < 3  # stopped reading at the cap


async def test_a_hanging_server_times_out_quickly(server: BackgroundServer) -> None:
    hasty = RestPlugin.from_openapi(f"{server.url}/openapi.json", include=["slow"], timeout=0.5)
    started = time.perf_counter()
    result = await ToolRegistry(hasty.tools).execute(tool_call("slow", seconds=3))
    elapsed = time.perf_counter() - started
    assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT
    assert result.content == (
        "Error (timed_out): slow failed: RestTimeout: slow (GET /slow) "
        "timed out: no complete response within 0.5 s"
    )
    assert elapsed < 1.5  # a read timeout is not retried


def test_the_document_fetch_has_its_own_timeout(server: BackgroundServer) -> None:
    from hanlin.tools.openapi import OpenAPIError

    started = time.perf_counter()
    with pytest.raises(OpenAPIError, match="cannot fetch OpenAPI document .*ReadTimeout"):
        RestPlugin.from_openapi(f"{server.url}/slow?seconds=3", timeout=60, document_timeout=0.3)
    assert time.perf_counter() - started < 2


async def test_registry_timeout_is_reported_as_timed_out(server: BackgroundServer) -> None:
    slow = RestPlugin.from_openapi(f"{server.url}/openapi.json", include=["slow"]).tools[0]
    slow.timeout = 0.3  # the registry's own limit, shorter than the HTTP timeout
    result = await ToolRegistry([slow]).execute(tool_call("slow", seconds=3))
    assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT


async def test_unreachable_server_is_retried_then_reported(server: BackgroundServer) -> None:
    from tests_support import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    plugin = RestPlugin.from_openapi(
        f"{server.url}/openapi.json", include=["get_text"], base_url=dead, backoff=0.01
    )
    result = await ToolRegistry(plugin.tools).execute(tool_call("get_text"))
    assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
    assert (
        f"get_text (GET /text) could not reach 127.0.0.1:{dead.rsplit(':', 1)[1]} after 3 "
        "attempts: ConnectError" in result.content
    )


# ------------------------------------------------------------------ an agent uses the plugin


async def test_react_agent_calls_a_rest_tool(plugin: RestPlugin) -> None:
    model = ScriptedModel([call("get_weather", "c1", city="Paris"), "It is sunny in Paris"])
    agent = Agent(name="a", model=model, tools=plugin.tools)
    result = await Runner(agent).run("t", "What's the weather in Paris?")
    assert result.final_answer == "It is sunny in Paris"
    observation = model.calls[1][-1]
    assert isinstance(observation, ToolMessage) and not observation.is_error
    assert json.loads(observation.content) == {
        "city": "Paris",
        "units": "metric",
        "days": 1,
        "temperature": 21,
        "sky": "sunny",
        "request_id": None,
    }
    assert {spec.name for spec in model.tools_seen[0]} >= {"get_weather", "create_todo"}
