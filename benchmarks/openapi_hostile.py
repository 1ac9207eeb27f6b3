"""Cost of loading hostile OpenAPI documents, against a well-formed document of the same shape.

Each case loads one document with ``RestPlugin.from_openapi`` in a fresh interpreter capped at
1 GiB of address space and a timeout, and records the load's seconds, the child's peak RSS,
the tools kept and the warnings. The peer in the same run is a plain document with as many
operations, each with one small body: what any document of that size costs.

Cases: ``$ref`` fan-out (each definition refers twice to the one before) at 1.9, 2.3, 2.8 and
3.5 KB; many operations sharing one large definition; a YAML alias bomb; nesting 3 000 and
100 000 levels deep.

Run: python benchmarks/openapi_hostile.py [--timeout S]
Writes benchmarks/results/openapi_hostile.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from common import print_table, write_results

_CHILD = textwrap.dedent("""
    import json, resource, sys, time, warnings
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from hanlin.tools.openapi import OpenAPIError
    from hanlin.tools.rest_plugin import RestPlugin
    source = sys.argv[1]
    if source.startswith("nested:"):  # built here: too deep for a JSON file to carry
        schema = {"type": "string"}
        for _ in range(int(source[7:])):
            schema = {"type": "array", "items": schema}
        source = {"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
                  "servers": [{"url": "http://127.0.0.1:9"}],
                  "paths": {"/ok": {"get": {"operationId": "ok"}},
                            "/deep": {"get": {"operationId": "deep", "parameters": [
                                {"name": "v", "in": "query", "schema": schema}]}}}}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plugin = RestPlugin.from_openapi(source)
            tools, error = len(plugin.tools), ""
            shown = max(len(json.dumps(t.spec.parameters)) for t in plugin.tools)
        except OpenAPIError as exc:
            tools, shown, error = 0, 0, str(exc)[-90:]
    print(json.dumps({"seconds": round(time.perf_counter() - started, 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024, 1),
                      "tools": tools, "largest_schema_chars": shown,
                      "warnings": len(caught), "error": error}))
""")


def _doc(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9"}],
        "paths": paths,
        **extra,
    }


def _body(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": ref}}}}


def fan_out(levels: int, operations: int = 1) -> dict[str, Any]:
    schemas: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, levels + 1):
        ref = {"$ref": f"#/components/schemas/L{i - 1}"}
        schemas[f"L{i}"] = {"type": "object", "properties": {"a": ref, "b": dict(ref)}}
    paths = {
        f"/p{j}": {
            "post": {
                "operationId": f"op{j}",
                "requestBody": _body(f"#/components/schemas/L{levels}"),
            }
        }
        for j in range(operations)
    }
    return _doc(paths, components={"schemas": schemas})


def plain(operations: int) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "count": {"type": "integer", "minimum": 0}},
    }
    paths = {
        f"/p{j}": {
            "post": {"operationId": f"op{j}", "requestBody": _body("#/components/schemas/Item")}
        }
        for j in range(operations)
    }
    return _doc(paths, components={"schemas": {"Item": item}})


def nested_text(levels: int) -> str:
    """A JSON document nested ``levels`` deep, written as text (json.dumps cannot)."""
    schema = '{"type": "array", "items": ' * levels + '{"type": "string"}' + "}" * levels
    return (
        '{"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "servers": '
        '[{"url": "http://127.0.0.1:9"}], "paths": {"/ok": {"get": {"operationId": "ok"}}, '
        '"/deep": {"get": {"operationId": "deep", "parameters": [{"name": "v", '
        f'"in": "query", "schema": {schema}}}]}}}}}}}}'
    )


def yaml_bomb() -> str:
    lines = ["x-anchors:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += [
        "openapi: 3.0.3",
        "info: {title: Laughs, version: '1'}",
        "servers: [{url: 'http://127.0.0.1:9'}]",
        "paths:",
        "  /ok: {get: {operationId: ok}}",
        "  /laugh: {get: {operationId: *a9, parameters: [{name: v, in: query, "
        "schema: {type: array, default: *a9}}]}}",
    ]
    return "\n".join(lines) + "\n"


def run(source: str, timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, source],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"outcome": f"did not finish in {timeout:g} s"}
    if done.returncode != 0:
        return {"outcome": "crashed: " + done.stderr.strip().splitlines()[-1][:120]}
    result = json.loads(done.stdout)
    error = result.pop("error")
    return {"outcome": f"OpenAPIError …{error}" if error else "loaded", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    cases: dict[str, str] = {
        "fan-out, 12 levels": json.dumps(fan_out(12)),
        "fan-out, 16 levels": json.dumps(fan_out(16)),
        "fan-out, 20 levels": json.dumps(fan_out(20)),
        "fan-out, 24 levels": json.dumps(fan_out(24)),
        "1000 operations sharing a 10-level fan-out": json.dumps(fan_out(10, 1000)),
        "peer: 1000 plain operations": json.dumps(plain(1000)),
        "YAML alias bomb (9**9)": yaml_bomb(),
        "JSON file nesting 100 000 deep": nested_text(100_000),
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, text) in enumerate(cases.items()):
            path = Path(folder) / f"case{index}.{'yaml' if 'YAML' in name else 'json'}"
            path.write_text(text)
            results[name] = {"document_bytes": len(text.encode()), **run(str(path), args.timeout)}
            print(f"{name}: {results[name]}", flush=True)
    for levels in (3_000, 100_000):  # as a mapping: parsed already, so read_operations walks it
        name = f"mapping nesting {levels} deep"
        results[name] = {"document_bytes": 0, **run(f"nested:{levels}", args.timeout)}
        print(f"{name}: {results[name]}", flush=True)
    rows = [
        [
            name,
            r["document_bytes"],
            r.get("seconds", "-"),
            r.get("peak_rss_mb", "-"),
            r.get("tools", "-"),
            r.get("largest_schema_chars", "-"),
            r["outcome"],
        ]
        for name, r in results.items()
    ]
    print_table(
        ["case", "bytes", "seconds", "peak RSS MB", "tools", "largest schema", "outcome"], rows
    )
    print(write_results("openapi_hostile", {"cases": results}))


if __name__ == "__main__":
    main()
