"""OpenAPI documents written to hurt: $ref fan-out, YAML alias bombs, absurd nesting, keyword
values no validator accepts, malformed servers (downloads: ``test_tools_rest_downloads``).

Each must cost little and end in a clear outcome: the bad operation skipped with a warning
naming it (the others stay usable), or an ``OpenAPIError`` naming the JSON pointer. The
pathological loads run in a child process under a memory cap and a timeout, so a regression
fails the test instead of stalling or exhausting the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from openapi_doc_support import GOOD, doc
from pydantic import ValidationError

from hanlin.tools.openapi import OpenAPIError, OpenAPIWarning
from hanlin.tools.rest_plugin import RestAuth, RestPlugin

# ------------------------------------------------------------------ documents


def with_query(schema: Any, name: str = "bad") -> dict[str, Any]:
    """A document with a usable operation and one whose query parameter has ``schema``."""
    return doc(
        {
            **GOOD,
            "/bad": {
                "get": {
                    "operationId": name,
                    "parameters": [{"name": "v", "in": "query", "schema": schema}],
                }
            },
        }
    )


def fan_out(levels: int) -> dict[str, Any]:
    """Each definition refers twice to the one before: 2**levels values once inlined."""
    schemas: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, levels + 1):
        ref = {"$ref": f"#/components/schemas/L{i - 1}"}
        schemas[f"L{i}"] = {"type": "object", "properties": {"a": ref, "b": dict(ref)}}
    return doc(
        {
            **GOOD,
            "/bomb": {
                "post": {
                    "operationId": "bomb",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/L{levels}"}
                            }
                        }
                    },
                }
            },
        },
        components={"schemas": schemas},
    )


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


def load(source: Any, **kwargs: Any) -> tuple[RestPlugin, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugin = RestPlugin.from_openapi(source, **kwargs)
    return plugin, [str(w.message) for w in caught if w.category is OpenAPIWarning]


# ------------------------------------------------------------------ a child under limits

_CHILD = textwrap.dedent("""
    import json, resource, sys, time, warnings
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    def peak_mb():
        # VmHWM belongs to this program's own memory; ru_maxrss would also count the
        # parent's memory copied at fork, before this interpreter was started.
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    from hanlin.tools.openapi import OpenAPIError
    from hanlin.tools.rest_plugin import RestPlugin
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plugin = RestPlugin.from_openapi(sys.argv[1])
            names, error = plugin.names(), None
            shown = max(len(json.dumps(t.spec.parameters)) for t in plugin.tools)
        except OpenAPIError as exc:
            names, error, shown = [], str(exc), 0
    print(json.dumps({"names": names, "error": error, "shown_chars": shown,
                      "warnings": [str(w.message) for w in caught],
                      "seconds": time.perf_counter() - started,
                      "peak_mb": peak_mb()}))
""")


def load_in_child(path: Path, timeout: float = 40) -> dict[str, Any]:
    """Load ``path`` in a fresh interpreter capped at 1 GiB of address space."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {path.name} did not finish within {timeout} s")
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_shared_definitions_that_double_each_level_are_skipped_quickly(tmp_path: Path) -> None:
    for levels in (16, 24):  # 2.3 KB and 3.5 KB: 2**16 and 2**24 values once inlined
        path = tmp_path / f"fan_out_{levels}.json"
        path.write_text(json.dumps(fan_out(levels)))
        result = load_in_child(path)
        assert result["names"] == ["ok"]
        [warned] = [w for w in result["warnings"] if "operation bomb" in w]
        assert "skipped: #/paths/~1bomb/post/requestBody/content/application~1json/schema" in warned
        assert (
            "expands to more than 100000 values" in warned
            or "nested more than 64 levels deep" in warned
        )
        assert result["seconds"] < 5
        assert result["peak_mb"] < 300


def test_a_schema_over_the_size_limit_is_skipped_and_the_limit_can_be_raised() -> None:
    document = fan_out(12)  # 2**12 leaves: about 240 000 characters once inlined
    plugin, warned = load(document)
    assert plugin.names() == ["ok"]
    assert any(
        "operation bomb (POST /bomb): skipped: #/paths/~1bomb/post: is " in w
        and "characters as JSON, more than the limit of 100000" in w
        for w in warned
    )
    from hanlin.tools.schema_limits import SchemaLimits

    roomy, _ = load(document, schema_limits=SchemaLimits(max_chars=1_000_000))
    assert roomy.names() == ["ok", "bomb"]
    tree = roomy.get("bomb").spec.parameters["properties"]
    assert tree["a"]["properties"]["b"]["properties"]["a"]["type"] == "object"  # inlined


def test_small_shared_definitions_are_still_inlined() -> None:
    document = fan_out(3)
    plugin, warned = load(document)
    assert warned == []
    leaf = plugin.get("bomb").spec.parameters["properties"]["b"]["properties"]["a"]
    assert leaf == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
    }


def test_a_yaml_alias_bomb_costs_little(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = textwrap.dedent("""
        openapi: 3.0.3
        info: {title: Laughs, version: "1", description: *a9}
        servers: [{url: "http://127.0.0.1:9"}]
        paths:
          /ok: {get: {operationId: ok}}
          /laugh:
            get:
              operationId: *a9
              summary: *a9
              parameters:
                - {name: v, in: query, schema: {type: array, default: *a9}}
        """)
    path = tmp_path / "laughs.yaml"
    path.write_text("x-anchors:\n" + textwrap.indent("\n".join(lines), "  ") + bomb)
    result = load_in_child(path)
    assert result["names"] == ["ok"]  # the bomb's operation id is no text: a slug name
    [warned] = [w for w in result["warnings"] if "(GET /laugh)" in w]
    assert (
        "operation get_laugh (GET /laugh): skipped: #/paths/~1laugh/get/parameters/0/"
        "schema/default" in warned
    )
    assert "expands to more than 100000 values" in warned
    assert result["seconds"] < 5 and result["peak_mb"] < 300


# ------------------------------------------------------------------ nesting


@pytest.mark.parametrize("levels", [3_000, 100_000])
def test_absurd_nesting_skips_the_operation(levels: int) -> None:
    started = time.perf_counter()
    plugin, warned = load(with_query(nested(levels)))
    assert plugin.names() == ["ok"]
    [message] = warned
    assert message.startswith(
        "OpenAPI document 'T': operation bad (GET /bad): skipped: "
        "#/paths/~1bad/get/parameters/0/schema/items/items/"
    )
    assert message.endswith("nested more than 64 levels deep (counting $ref hops)")
    assert time.perf_counter() - started < 5


def test_a_long_chain_of_references_skips_the_operation() -> None:
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(5_000)}
    schemas["S5000"] = {"type": "string"}
    document = with_query({"$ref": "#/components/schemas/S0"})
    document["components"] = {"schemas": schemas}
    plugin, warned = load(document)
    assert plugin.names() == ["ok"]
    assert "nested more than 64 levels deep" in warned[0]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_document_too_deep_to_parse_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text('{"openapi": "3.1.0", "paths": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    started = time.perf_counter()
    with pytest.raises(OpenAPIError, match=rf"deep{suffix}: nested too deeply to read"):
        RestPlugin.from_openapi(path)
    assert time.perf_counter() - started < 10


# ------------------------------------------------------------------ keyword values


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": "string", "pattern": "(("},
            "/schema/pattern: `pattern` '((' is not a regular expression Python can use (missing )",
        ),
        (
            {"type": "integer", "minimum": "zero"},
            "/schema/minimum: `minimum` must be a finite number, got the string 'zero'",
        ),
        (
            {"type": "string", "maxLength": -1},
            "/schema/maxLength: `maxLength` must be a whole number of at least 0, "
            "got the number -1",
        ),
        ({"type": "number", "multipleOf": 0}, "/schema/multipleOf: `multipleOf` must be above 0"),
        ({"type": "string", "pattern": 5}, "/schema/pattern: `pattern` must be a string"),
        ({"enum": "abc"}, "/schema/enum: `enum` must be an array, got the string 'abc'"),
        ({"anyOf": "x"}, "/schema/anyOf: `anyOf` must be an array"),
        (
            {"type": "object", "properties": ["a"]},
            "/schema/properties: `properties` must be an object of schemas, got an array",
        ),
        (
            {"type": "object", "properties": {"a": "string"}},
            "/schema/properties/a: a schema must be an object, got the string 'string'",
        ),
        ({"type": {"name": "string"}}, "/schema/type: `type` must be a type name or a list"),
        (
            {"type": "object", "required": "a", "properties": {"a": {}}},
            "/schema/required: `required` must be an array of property names",
        ),
    ],
)
def test_keyword_values_no_validator_accepts_skip_the_operation(
    schema: dict[str, Any], message: str
) -> None:
    plugin, warned = load(with_query(schema))
    assert plugin.names() == ["ok"]
    [text] = warned
    assert text.startswith(
        "OpenAPI document 'T': operation bad (GET /bad): skipped: #/paths/~1bad/get/parameters/0"
    )
    assert message in text


def test_odd_but_valid_keyword_values_are_kept() -> None:
    document = with_query(
        {"type": "integer", "minimum": 0.5, "exclusiveMaximum": 9.5, "multipleOf": 2.0}
    )
    document["paths"]["/bad"]["get"]["requestBody"] = {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"tag": {"type": "string", "required": True}},
                }
            }
        }
    }  # the Swagger 2 form
    plugin, warned = load(document)
    assert warned == []
    tool = plugin.get("bad")
    assert tool.spec.parameters["properties"]["v"] == {
        "type": "integer",
        "minimum": 0.5,
        "exclusiveMaximum": 9.5,
        "multipleOf": 2.0,
    }
    assert tool.spec.parameters["properties"]["tag"] == {"type": "string"}
    assert tool.args_model.model_validate({"v": 8}).v == 8  # type: ignore[attr-defined]
    for wrong in (0, 10, 3):  # below 0.5, not below 9.5, not a multiple of 2
        with pytest.raises(ValidationError):
            tool.args_model.model_validate({"v": wrong})


def test_a_pydantic_refusal_beyond_the_keyword_checks_skips_the_operation() -> None:
    plugin, warned = load(with_query({"type": "number", "maximum": 10**400}))
    assert plugin.names() == ["ok"]
    assert "operation bad skipped: its argument schema cannot be validated" in warned[0]


# ------------------------------------------------------------------ servers and other fields


@pytest.mark.parametrize(
    ("servers", "pointer"),
    [
        (
            [{"url": "http://h:{port}", "variables": [{"port": 1}]}],
            "#/servers/0/variables: must be",
        ),
        (
            [{"url": "http://h:{port}", "variables": {"port": "80"}}],
            "#/servers/0/variables/port: a server variable needs a string `default`",
        ),
        ({"url": "http://h"}, "#/servers: must be an array of server objects"),
        (["http://h"], "#/servers/0: a server must be an object with a `url` string"),
        ([{"url": ["http://h"]}], "#/servers/0: a server must be an object with a `url` string"),
    ],
)
def test_malformed_servers_name_their_pointer(servers: Any, pointer: str) -> None:
    with pytest.raises(OpenAPIError, match=re.escape(f"OpenAPI document 'T': {pointer}")):
        RestPlugin.from_openapi(doc(GOOD, servers=servers))


def test_malformed_operation_servers_name_the_operation_pointer() -> None:
    document = doc({"/a": {"get": {"servers": [{"url": "http://h", "variables": ["v"]}]}}})
    with pytest.raises(OpenAPIError, match=r"#/paths/~1a/get/servers/0/variables: must be"):
        RestPlugin.from_openapi(document)


def test_fields_of_the_wrong_kind_do_not_break_loading() -> None:
    document = doc(
        {
            "/a": {
                "get": {
                    "operationId": ["x"],
                    "summary": {"s": 1},
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "description": ["d"],
                            "style": ["x"],
                            "schema": {"type": "string"},
                        }
                    ],
                }
            },
            "/b": {"get": {"parameters": {"name": "q"}}},
        },
        components=["not", "an", "object"],
        info={"title": ["T"]},
    )
    with pytest.raises(OpenAPIError, match=r"#/paths/~1b/get/parameters: must be an array"):
        load(document, auth=RestAuth(kind="api_key_header", value="k"))
    del document["paths"]["/b"]
    plugin, warned = load(document, auth=RestAuth(kind="api_key_header", value="k"))
    assert plugin.names() == ["get_a"] and plugin.tools[0].description == "GET /a"
    assert warned == [
        "the given OpenAPI document: operation get_a (GET /a): optional query "
        "parameter 'q' with style a list is not supported and was left out"
    ]
    assert plugin.tools[0].auth.parameter == "X-API-Key"  # type: ignore[attr-defined]


# ------------------------------------------------------------------ YAML as JSON


def test_yaml_reads_what_json_can_hold(tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text(
        textwrap.dedent("""
        openapi: 3.0.3
        info: {title: Dates, version: 1}
        servers: [{url: "http://127.0.0.1:9"}]
        paths:
          /day:
            post:
              operationId: day
              parameters:
                - {name: on, in: query, schema: {type: string, format: date,
                                                 default: 2024-01-31, enum: [yes, no]}}
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        200: {type: string}
              responses:
                200: {description: OK}
        """)
    )
    day = RestPlugin.from_openapi(path).get("day")
    properties = day.spec.parameters["properties"]
    assert properties["on"]["default"] == "2024-01-31"  # YAML 1.2: `on` is no boolean
    assert properties["on"]["enum"] == ["yes", "no"]
    assert properties["200"] == {"type": "string"}
    json.dumps(day.spec.parameters)  # what the model is sent
    path.write_text("openapi: 3.0.3\npaths: {}\nx-blob: !!binary aGVsbG8=\n")
    with pytest.raises(
        OpenAPIError, match="not valid YAML or JSON: .*tag:yaml.org,2002:binary has no JSON form"
    ):
        RestPlugin.from_openapi(path)


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("openapi: 3.0.3\ninfo: {title: Caf\xe9}\n".encode("latin-1"))
    with pytest.raises(OpenAPIError, match=r"latin1.yaml: not UTF-8 text \(invalid "):
        RestPlugin.from_openapi(path)
