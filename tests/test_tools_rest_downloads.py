"""OpenAPI documents and responses too big or too slow: a file over the size cap, an endless
or trickling download, a response nested too deeply to parse, and ``http_tool`` given a
schema that fans out. Each ends quickly with a clear error, over real HTTP on loopback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openapi_doc_support import GOOD, doc

from hanlin.llm.messages import ToolCall
from hanlin.tools import ToolRegistry
from hanlin.tools.openapi import OpenAPIError
from hanlin.tools.rest_plugin import RestPlugin, http_tool

# ------------------------------------------------------------------ document size


def test_a_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    document = doc(GOOD)
    document["x-padding"] = "x" * 2_000_000
    path.write_text(json.dumps(document))
    with pytest.raises(
        OpenAPIError,
        match=r"big.json: the document is larger than 1000000 "
        r"bytes; raise max_document_bytes",
    ):
        RestPlugin.from_openapi(path, max_document_bytes=1_000_000)
    assert RestPlugin.from_openapi(path).names() == ["ok"]  # under the default cap


DEEP_JSON = b"[" * 50_000 + b"]" * 50_000


class _Handler(BaseHTTPRequestHandler):
    """``/endless`` streams forever, ``/declared`` announces a huge body, ``/trickle`` sends a
    byte every 50 ms, ``/deep`` answers JSON nested 50 000 levels: real HTTP on 127.0.0.1."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/deep":
            self.send_header("Content-Length", str(len(DEEP_JSON)))
            self.end_headers()
            self.wfile.write(DEEP_JSON)
            return
        if self.path == "/declared":
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            return
        self.end_headers()
        chunk, pause = (b" " * 65536, 0.0) if self.path == "/endless" else (b" ", 0.05)
        try:
            while True:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            return  # the client hung up

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hostile_http() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_endless_download_stops_at_the_cap(hostile_http: str) -> None:
    import tracemalloc

    started = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(
            OpenAPIError,
            match=r"/endless: the document is larger than "
            r"2000000 bytes",
        ):
            RestPlugin.from_openapi(f"{hostile_http}/endless", max_document_bytes=2_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert time.perf_counter() - started < 5
    with pytest.raises(OpenAPIError, match=r"/declared: the document is larger than"):
        RestPlugin.from_openapi(f"{hostile_http}/declared")


def test_a_trickling_download_is_bounded_by_the_document_timeout(hostile_http: str) -> None:
    started = time.perf_counter()
    with pytest.raises(OpenAPIError, match=r"/trickle: the download took longer than 0.5 s"):
        RestPlugin.from_openapi(f"{hostile_http}/trickle", document_timeout=0.5)
    assert time.perf_counter() - started < 3


async def test_a_response_nested_too_deeply_to_parse_comes_back_as_text(hostile_http: str) -> None:
    deep = http_tool(
        "deep",
        "GET",
        f"{hostile_http}/deep",
        description="",
        params_schema={"type": "object"},
        max_response_bytes=200_000,
    )
    result = await ToolRegistry([deep]).execute(ToolCall(id="c1", name="deep", arguments={}))
    assert result.error is None
    assert result.content.startswith("[" * 5_000)  # the text as sent (the registry may cap it)


# ------------------------------------------------------------------ http_tool


def test_http_tool_refuses_a_fanning_out_schema_quickly() -> None:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, 25):
        defs[f"L{i}"] = {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/L{i - 1}"}, "b": {"$ref": f"#/$defs/L{i - 1}"}},
        }
    started = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"http_tool 'tree' params_schema: #/properties/t/.*: "
        r"(expands to more than|nested more than)",
    ):
        http_tool(
            "tree",
            "POST",
            "http://127.0.0.1:9/t",
            description="",
            params_schema={
                "type": "object",
                "$defs": defs,
                "properties": {"t": {"$ref": "#/$defs/L24"}},
            },
        )
    with pytest.raises(ValueError, match=r"params_schema: #/properties/p/pattern: `pattern`"):
        http_tool(
            "p",
            "GET",
            "http://127.0.0.1:9/p",
            description="",
            params_schema={"type": "object", "properties": {"p": {"pattern": "(("}}},
        )
    assert time.perf_counter() - started < 5
