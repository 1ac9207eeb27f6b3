"""http_get against a real HTTP server on 127.0.0.1 (reached also as 'localhost', which the
allow-list leaves out, so "disallowed" is tested against a host that would really answer)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hanlin.llm.messages import ToolCall
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import HostAllowList, HttpGet
from hanlin.tools.registry import ToolResult

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class Handler(BaseHTTPRequestHandler):
    """Routes for the tests; every request's Host and path is recorded on the server."""

    server: Site

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append((self.headers["Host"].split(":")[0], self.path))
        port = self.server.server_address[1]
        routes = {
            "/hello": (200, "héllo wörld".encode(), "text/plain; charset=utf-8", {}),
            "/data": (200, json.dumps({"answer": 42}).encode(), "application/json", {}),
            "/big": (200, b"0123456789" * 10_000, "text/plain", {}),
            "/image": (200, PNG, "image/png", {}),
            "/missing": (404, b"no such page", "text/plain", {}),
            "/to-hello": (302, b"", None, {"Location": "/hello"}),
            "/to-localhost": (302, b"", None, {"Location": f"http://localhost:{port}/hello"}),
            "/to-ftp": (301, b"", None, {"Location": "ftp://127.0.0.1/file"}),
            "/loop": (307, b"", None, {"Location": "/loop"}),
        }
        if self.path == "/slow":
            time.sleep(3)
        status, body, content_type, headers = routes.get(self.path, (200, b"ok", "text/plain", {}))
        self._send(status, body, content_type, headers)


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([HttpGet(["127.0.0.1"], timeout=1.5, max_bytes=1000, max_redirects=3)])


async def get(registry: ToolRegistry, url: str) -> ToolResult:
    return await registry.execute(ToolCall(id="c", name="http_get", arguments={"url": url}))


async def test_text_and_json_from_an_allowed_host(registry: ToolRegistry, site: Site) -> None:
    hello = await get(registry, f"http://127.0.0.1:{site.port}/hello")
    assert not hello.is_error, hello.content
    assert hello.content == (
        f"URL: http://127.0.0.1:{site.port}/hello\nStatus: 200 OK\n"
        "Content-Type: text/plain; charset=utf-8\n\nhéllo wörld"
    )
    data = await get(registry, f"http://127.0.0.1:{site.port}/data")
    assert data.content.endswith('\n\n{"answer": 42}')


async def test_a_disallowed_host_is_refused_before_any_request(
    registry: ToolRegistry, site: Site
) -> None:
    before = len(site.requests)
    result = await get(registry, f"http://localhost:{site.port}/hello")
    assert result.is_error and result.error is not None
    assert result.error.kind is ToolErrorKind.INVALID_VALUE
    assert "the host 'localhost' is not allowed; allowed hosts: 127.0.0.1" in result.content
    assert len(site.requests) == before, "nothing may be sent to a disallowed host"


async def test_redirects_are_checked_at_every_hop(registry: ToolRegistry, site: Site) -> None:
    inside = await get(registry, f"http://127.0.0.1:{site.port}/to-hello")
    assert not inside.is_error, inside.content
    assert f"Redirected from: http://127.0.0.1:{site.port}/to-hello (1 redirect)" in inside.content
    assert inside.content.endswith("héllo wörld")

    site.requests.clear()
    outside = await get(registry, f"http://127.0.0.1:{site.port}/to-localhost")
    assert outside.is_error and outside.error is not None
    assert outside.error.kind is ToolErrorKind.INVALID_VALUE
    assert "the host 'localhost' is not allowed (redirect from" in outside.content
    assert site.requests == [("127.0.0.1", "/to-localhost")], "the redirect was not followed"

    ftp = await get(registry, f"http://127.0.0.1:{site.port}/to-ftp")
    assert ftp.is_error and "only http and https URLs are allowed" in ftp.content
    loop = await get(registry, f"http://127.0.0.1:{site.port}/loop")
    assert loop.is_error and "more than 3 redirects" in loop.content


async def test_large_bodies_are_cut_with_a_marker(registry: ToolRegistry, site: Site) -> None:
    result = await get(registry, f"http://127.0.0.1:{site.port}/big")
    assert not result.is_error
    _header, body = result.content.split("\n\n", 1)
    assert body == "0123456789" * 100 + "\n[truncated: showed the first 1000 bytes of 100000 bytes]"


async def test_binary_errors_and_timeouts(registry: ToolRegistry, site: Site) -> None:
    image = await get(registry, f"http://127.0.0.1:{site.port}/image")
    assert not image.is_error
    assert image.content.endswith(
        f"[binary content (image/png, {len(PNG)} bytes) not shown; only text and JSON are shown]"
    )
    missing = await get(registry, f"http://127.0.0.1:{site.port}/missing")
    assert missing.is_error and missing.error is not None
    assert missing.error.kind is ToolErrorKind.TOOL_RAISED
    assert "returned 404 Not Found: no such page" in missing.content
    slow = await get(registry, f"http://127.0.0.1:{site.port}/slow")
    assert slow.is_error and slow.error is not None
    assert slow.error.kind is ToolErrorKind.TIMED_OUT


async def test_bad_urls_are_invalid_values(registry: ToolRegistry, site: Site) -> None:
    for url, expected in [
        ("file:///etc/passwd", "only http and https"),
        ("not a url", "only http and https"),
        (f"http://127.0.0.1@localhost:{site.port}/", "user name or password"),
        ("http://127.0.0.1.evil.example/", "is not allowed"),
    ]:
        result = await get(registry, url)
        assert result.is_error and result.error is not None, url
        assert result.error.kind is ToolErrorKind.INVALID_VALUE
        assert expected in result.content, result.content


def test_allow_list_matching() -> None:
    allow = HostAllowList(["Example.org", ".docs.python.org", "127.0.0.1", "bücher.de"])
    assert allow.allows("example.org") and allow.allows("EXAMPLE.ORG.")
    assert not allow.allows("www.example.org") and not allow.allows("badexample.org")
    assert allow.allows("docs.python.org") and allow.allows("3.docs.python.org")
    assert not allow.allows("evildocs.python.org") and not allow.allows("python.org")
    assert allow.allows("xn--bcher-kva.de")
    assert allow.describe() == (
        "example.org, docs.python.org and its subdomains, 127.0.0.1, xn--bcher-kva.de"
    )
    for bad in ["https://example.org", "example.org:8080", "*.example.org", "", ".127.0.0.1"]:
        with pytest.raises(ValueError):
            HostAllowList([bad])
    with pytest.raises(TypeError):
        HttpGet("example.org")  # type: ignore[arg-type]
