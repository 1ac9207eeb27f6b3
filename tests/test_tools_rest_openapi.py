"""OpenAPI documents: YAML files, 3.0 forms, skipped features, broken documents, API keys,
and single endpoints defined with ``http_tool`` — called against a real service on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from hanlin.llm.messages import ToolCall
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.serving.server import BackgroundServer
from hanlin.tools import ToolRegistry
from hanlin.tools.http_call import CallSettings, build_request
from hanlin.tools.openapi import OpenAPIError, OpenAPIWarning
from hanlin.tools.rest_plugin import RestAuth, RestPlugin, http_tool

DATA = Path(__file__).parent / "data" / "rest"
YAML_DOC = DATA / "todos.yaml"

_spec = importlib.util.spec_from_file_location("rest_service_app_2", DATA / "service_app.py")
assert _spec and _spec.loader
service = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(service)
TOKEN: str = service.TOKEN


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(service.create_app()) as running:
        yield running


def tool_call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(id="c1", name=name, arguments=dict(arguments))


def load_yaml(**kwargs: Any) -> tuple[RestPlugin, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugin = RestPlugin.from_openapi(YAML_DOC, **kwargs)
    return plugin, [str(w.message) for w in caught if w.category is OpenAPIWarning]


# ------------------------------------------------------------------ a YAML 3.0 document


def test_yaml_document_schemas_and_skipped_features() -> None:
    plugin, warned = load_yaml()
    assert plugin.names() == ["addTodo", "get_todos_todo_id", "weather"]
    origin = str(YAML_DOC)
    assert warned == [
        (
            f"{origin}: operation weather (GET /weather/{{city}}): optional cookie parameter "
            "'session' is not supported and was left out"
        ),
        (
            f"{origin}: operation weather (GET /weather/{{city}}): callbacks are not supported and "
            "were ignored"
        ),
        (
            f"{origin}: operation upload (POST /upload): skipped: required request body of type "
            "multipart/form-data is not supported (only JSON and form bodies are)"
        ),
        (
            f"{origin}: operation session (GET /session): skipped: required cookie parameter "
            "'sid' is not supported"
        ),
    ]
    add = plugin.get("addTodo").spec.parameters
    assert add == {
        "type": "object",
        "properties": {  # the read-only id is gone; the $ref'd priority is inlined
            "title": {"type": "string", "minLength": 1},
            "priority": {
                "type": "integer",
                "minimum": 1,
                "maximum": 5,
                "description": "1 is low, 5 is urgent.",
            },
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title"],
        "additionalProperties": False,
    }
    weather = plugin.get("weather").spec.parameters["properties"]
    assert weather["units"] == {"type": ["string", "null"], "enum": ["metric", "imperial", None]}
    assert weather["x_request_id"] == {"type": "string", "description": "Traces the call."}
    read = plugin.get("get_todos_todo_id")
    assert read.description == "Read one todo\nReturns the todo with this id."
    assert read.spec.parameters["required"] == ["todo_id"]
    # The server URL comes from the document, its variable at the default.
    assert read.endpoint.base_url == "http://localhost:9/"  # type: ignore[attr-defined]


async def test_yaml_document_calls_the_live_service(server: BackgroundServer) -> None:
    plugin, _ = load_yaml(base_url=server.url)
    registry = ToolRegistry(plugin.tools)
    created = await registry.execute(tool_call("addTodo", title="Water plants", priority=4))
    todo = json.loads(created.content)
    assert todo == {"title": "Water plants", "priority": 4, "tags": [], "id": todo["id"]}
    read = await registry.execute(tool_call("get_todos_todo_id", todo_id=todo["id"]))
    assert json.loads(read.content) == todo
    weather = await registry.execute(
        tool_call("weather", city="Lyon", units=None, x_request_id="abc")
    )
    assert json.loads(weather.content)["units"] == "metric"  # null: not sent, server default
    assert json.loads(weather.content)["request_id"] == "abc"
    too_low = await registry.execute(tool_call("get_todos_todo_id", todo_id=0))
    assert too_low.error is not None and too_low.error.kind is ToolErrorKind.INVALID_VALUE


# ------------------------------------------------------------------ broken documents


def doc(paths: Any = None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9"}],
    }
    if paths is not None:
        base["paths"] = paths
    return {**base, **extra}


def get_with(parameters: list[Any]) -> dict[str, Any]:
    return {"/items/{id}": {"get": {"operationId": "get_item", "parameters": parameters}}}


NODE = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Child"}}}
CHILD = {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}}}
CYCLIC = {
    "/nodes": {
        "post": {
            "requestBody": {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}
            }
        }
    }
}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (doc(), "OpenAPI document 'T': #/paths: missing; the document describes no operations"),
        (
            {"swagger": "2.0", "info": {}, "paths": {}},
            (
                "the given OpenAPI document: #/swagger: this is a Swagger 2.0 (OpenAPI 2) "
                "document; only OpenAPI 3.x is supported"
            ),
        ),
        (doc({}, openapi="2.5"), "#/openapi: expected an OpenAPI version 3.x, got '2.5'"),
        (doc([]), "#/paths: must be an object of path items, got list"),
        (
            doc(get_with([{"$ref": "#/components/parameters/Nope"}])),
            (
                "#/paths/~1items~1{id}/get/parameters/0: $ref '#/components/parameters/Nope' "
                "points to nothing (no 'components' there)"
            ),
        ),
        (
            doc(get_with([{"$ref": "common.yaml#/Id"}])),
            "$ref 'common.yaml#/Id' points outside the document; only local references",
        ),
        (
            doc(CYCLIC, components={"schemas": {"Node": NODE, "Child": CHILD}}),
            (
                "#/paths/~1nodes/post/requestBody/content/application~1json/schema/properties/child/"
                "properties/node: cyclic $ref #/components/schemas/Node -> "
                "#/components/schemas/Child -> #/components/schemas/Node; a recursive schema "
                "cannot be described as tool "
                "arguments"
            ),
        ),
        (
            doc(
                {
                    "/up": {
                        "put": {
                            "requestBody": {
                                "required": True,
                                "content": {"application/octet-stream": {}},
                            }
                        }
                    }
                }
            ),
            (
                "OpenAPI document 'T': no usable operations (skipped: put_up: required request "
                "body of type application/octet-stream is not supported (only JSON and form "
                "bodies are))"
            ),
        ),
        (doc({"items": {}}), "#/paths/items: a path must start with '/'"),
        (
            doc(get_with([{"in": "path"}])),
            "#/paths/~1items~1{id}/get/parameters/0: a parameter needs `name` and `in`",
        ),
    ],
)
def test_broken_documents_raise_clear_errors(document: dict[str, Any], message: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpenAPIWarning)
        with pytest.raises(OpenAPIError) as failure:
            RestPlugin.from_openapi(document)
    assert message in str(failure.value)
    assert isinstance(failure.value, ValueError)


def test_unreadable_sources(tmp_path: Path, server: BackgroundServer) -> None:
    with pytest.raises(OpenAPIError, match=r"cannot read OpenAPI document .*absent.yaml: No such"):
        RestPlugin.from_openapi(tmp_path / "absent.yaml")
    bad_json = tmp_path / "api.json"
    bad_json.write_text('{"openapi": "3.1.0",')
    with pytest.raises(OpenAPIError, match=r"api.json: not valid JSON: Expecting"):
        RestPlugin.from_openapi(bad_json)
    bad_yaml = tmp_path / "api.yaml"
    bad_yaml.write_text("openapi: [3.1\npaths: {")
    with pytest.raises(OpenAPIError, match=r"api.yaml: not valid YAML or JSON"):
        RestPlugin.from_openapi(bad_yaml)
    with pytest.raises(OpenAPIError, match=r"/nope.json: HTTP 404 Not Found"):
        RestPlugin.from_openapi(f"{server.url}/nope.json")
    relative = doc({"/a": {"get": {}}}, servers=[{"url": "/api"}])
    with pytest.raises(
        OpenAPIError,
        match=r"#/paths/~1a/get: no absolute server URL .* pass "
        r"base_url=",
    ):
        RestPlugin.from_openapi(relative)
    assert (
        RestPlugin.from_openapi(relative, base_url="http://h").tools[0].endpoint.base_url
        == "http://h"
    )  # type: ignore[attr-defined]
    with pytest.raises(
        OpenAPIError,
        match=r"include names unknown operations \['nope'\]; "
        r"the operations are: \['get_a'\]",
    ):
        RestPlugin.from_openapi(relative, base_url="http://h", include=["nope"])


def test_tool_names_from_operation_ids_and_paths() -> None:
    ops = {
        "/pets": {"get": {"operationId": "list pets!"}, "post": {"operationId": "list pets!"}},
        "/pets/{pet-id}/toys": {
            "get": {
                "parameters": [
                    {
                        "name": "pet-id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "filter[kind]", "in": "query", "schema": {"type": "string"}},
                ]
            }
        },
    }
    plugin = RestPlugin.from_openapi(doc(ops), prefix="zoo_")
    assert plugin.names() == ["zoo_list_pets", "zoo_list_pets_2", "zoo_get_pets_pet_id_toys"]
    toys = plugin.get("zoo_get_pets_pet_id_toys")
    assert list(toys.spec.parameters["properties"]) == ["pet_id", "filter_kind"]
    request = build_request(
        toys.endpoint,
        {"pet_id": "a/b", "filter_kind": "ball"},  # type: ignore[attr-defined]
        CallSettings(),
        None,
    )
    assert str(request.url) == "http://127.0.0.1:9/pets/a%2Fb/toys?filter%5Bkind%5D=ball"
    dots = build_request(toys.endpoint, {"pet_id": ".."}, CallSettings(), None)  # type: ignore[attr-defined]
    assert dots.url.raw_path == b"/pets/%2E%2E/toys"  # no way out of the path


def test_form_bodies_and_query_styles() -> None:
    ops = {
        "/login": {
            "post": {
                "operationId": "login",
                "parameters": [
                    {
                        "name": "ids",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "integer"}},
                    },
                    {
                        "name": "tags",
                        "in": "query",
                        "style": "pipeDelimited",
                        "explode": False,
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["user"],
                                "properties": {
                                    "user": {"type": "string"},
                                    "remember": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
            }
        }
    }
    login = RestPlugin.from_openapi(doc(ops)).get("login")
    assert login.spec.parameters["required"] == ["user"]
    request = build_request(
        login.endpoint,  # type: ignore[attr-defined]
        {"ids": [1, 2], "tags": ["a", "b"], "user": "ann", "remember": True},
        CallSettings(headers={"User-Agent": "hanlin-test"}),
        None,
    )
    assert str(request.url) == "http://127.0.0.1:9/login?ids=1&ids=2&tags=a%7Cb"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"] == "hanlin-test"
    assert request.read() == b"user=ann&remember=true"


# ------------------------------------------------------------------ API keys


async def test_api_keys_in_header_and_query(server: BackgroundServer) -> None:
    url = f"{server.url}/openapi.json"
    # The parameter names come from the document's security schemes.
    by_header = RestPlugin.from_openapi(
        url, include=["keyed_header"], auth=RestAuth(kind="api_key_header", value=TOKEN)
    )
    assert by_header.tools[0].auth.parameter == "X-Service-Key"  # type: ignore[attr-defined]
    result = await ToolRegistry(by_header.tools).execute(tool_call("keyed_header"))
    assert result.content == '{"user":"alice","query":""}'
    by_query = RestPlugin.from_openapi(
        url, include=["keyed_query"], auth=RestAuth(kind="api_key_query", value=TOKEN)
    )
    registry = ToolRegistry(by_query.tools)
    result = await registry.execute(tool_call("keyed_query", limit=3))
    assert result.content == '{"user":"alice","query":"limit=3&key=[redacted]"}'
    wrong = RestPlugin.from_openapi(
        url, include=["keyed_query"], auth=RestAuth(kind="api_key_query", value="wrong-key-1")
    )
    denied = await ToolRegistry(wrong.tools).execute(tool_call("keyed_query"))
    assert denied.content.endswith(
        "keyed_query (GET /keyed/query) returned HTTP 403 Forbidden (the configured credentials "
        'are not allowed to do this): {"detail":"bad api key in key=[redacted]"}'
    )
    assert "wrong-key-1" not in denied.content


def test_auth_needs_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one of `env`"):
        RestAuth(kind="bearer")
    with pytest.raises(ValueError, match="exactly one of `env`"):
        RestAuth(kind="bearer", env="X", value="y")
    assert "sekrit" not in repr(RestAuth(kind="api_key_header", value="sekrit"))


# ------------------------------------------------------------------ http_tool


class NewTodo(BaseModel):
    title: str = Field(description="What to do.")
    priority: int = 2


async def test_http_tool_from_a_json_schema_and_a_model(server: BackgroundServer) -> None:
    weather = http_tool(
        "weather_now",
        "GET",
        f"{server.url}/weather/{{city}}",
        description="Weather for a city.",
        params_schema={
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "days": {"$ref": "#/$defs/Days"}},
            "$defs": {"Days": {"type": "integer", "minimum": 1}},
        },
    )
    add = http_tool(
        "add_todo", "post", f"{server.url}/todos", description="Add a todo.", params_schema=NewTodo
    )
    registry = ToolRegistry([weather, add])
    assert weather.spec.parameters == {
        "type": "object",
        "required": ["city"],
        "additionalProperties": False,
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    }
    result = await registry.execute(tool_call("weather_now", city="Rome", days=2))
    assert json.loads(result.content)["city"] == "Rome"
    assert json.loads(result.content)["days"] == 2
    invalid = await registry.execute(tool_call("weather_now", city="Rome", days=0))
    assert invalid.error is not None and invalid.error.kind is ToolErrorKind.INVALID_VALUE
    created = json.loads((await registry.execute(tool_call("add_todo", title="Call mum"))).content)
    assert created == {"title": "Call mum", "priority": 2, "tags": [], "id": created["id"]}
    assert add.spec.parameters["properties"]["title"] == {
        "type": "string",
        "description": "What to do.",
    }


def test_http_tool_checks_its_definition() -> None:
    with pytest.raises(ValueError, match=r"placeholder \{city\} needs a required argument"):
        http_tool(
            "w",
            "GET",
            "http://h/weather/{city}",
            description="",
            params_schema={"type": "object", "properties": {}},
        )
    with pytest.raises(ValueError, match="absolute http"):
        http_tool("w", "GET", "/weather", description="", params_schema={"type": "object"})
    with pytest.raises(ValueError, match="invalid tool name"):
        http_tool("bad name", "GET", "http://h/x", description="", params_schema={"type": "object"})
