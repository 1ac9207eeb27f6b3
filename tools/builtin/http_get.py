"""``http_get``: fetch a web page or JSON document from hosts on an allow-list.

The model chooses the URL, so every hop is checked: only GET, only http/https, only hosts on
the allow-list, redirects followed one at a time and checked again, a total time limit, a
capped read and text only (other content is summarized, not shown).

The allow-list is by host *name*: a listed name that resolves to a private or loopback
address is fetched. Guarding against DNS rebinding needs a resolver-level check and is out
of scope here; list only hosts you trust.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Sequence
from email.message import Message

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import Tool

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_ENTRY = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-yaml",
        "application/yaml",
        "application/x-ndjson",
        "application/csv",
        "application/x-www-form-urlencoded",
    }
)
_EXCERPT_CHARS = 300
# Not a schema maxLength: llama.cpp's grammar builder nests one rule per allowed character.
MAX_URL_CHARS = 4000
_USER_AGENT = "hanlin-http-get/0.1"


class HttpGetError(ToolFailure):
    """A fetch the tool refused or that failed; the message says which and why."""


def _refused(message: str) -> HttpGetError:
    return HttpGetError(message, ToolErrorKind.INVALID_VALUE)


def _normalize_entry(entry: str) -> str:
    """An allow-list entry as a lowercase ASCII host name, with a leading '.' kept."""
    text = entry.strip().lower().rstrip(".")
    suffix = text.startswith(".")
    bare = text[1:] if suffix else text
    if not bare or "/" in bare or "@" in bare or "*" in bare:
        raise ValueError(
            f"allow-list entry {entry!r} must be a host name such as 'example.org' "
            "or '.example.org' (that domain and its subdomains), without scheme, "
            "port, path or '*'"
        )
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]  # an IPv6 literal as written in URLs
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        if suffix:
            raise ValueError(f"allow-list entry {entry!r}: a '.' entry must be a domain name")
        return address.compressed
    try:
        bare = bare.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"allow-list entry {entry!r} is not a valid host name") from exc
    if not _HOST_ENTRY.match(bare) or bare.replace(".", "").isdigit():
        raise ValueError(
            f"allow-list entry {entry!r} is not a valid host name (no port or "
            "path; use '.example.org' for a domain and its subdomains)"
        )
    return ("." if suffix else "") + bare


class HostAllowList:
    """Host names a fetch may reach: exact names, and ``.example.org`` for a domain and all
    of its subdomains (as Django's ``ALLOWED_HOSTS`` reads a leading dot)."""

    def __init__(self, entries: Sequence[str]) -> None:
        if isinstance(entries, str):
            raise TypeError("allow must be a list of host names, not one string")
        self.entries = tuple(dict.fromkeys(_normalize_entry(entry) for entry in entries))
        if not self.entries:
            raise ValueError("the allow-list is empty: name at least one host")

    def allows(self, host: str) -> bool:
        host = host.lower().rstrip(".").removeprefix("[").removesuffix("]")
        try:
            host = ipaddress.ip_address(host).compressed
        except ValueError:
            pass
        for entry in self.entries:
            if entry.startswith("."):
                if host == entry[1:] or host.endswith(entry):
                    return True
            elif host == entry:
                return True
        return False

    def describe(self) -> str:
        return ", ".join(
            f"{entry[1:]} and its subdomains" if entry.startswith(".") else entry
            for entry in self.entries
        )


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii", errors="replace").lower()


def _media_type(content_type: str) -> tuple[str, str | None]:
    """The media type and the charset of a Content-Type header."""
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type(), message.get_param("charset")  # type: ignore[return-value]


def _is_text(media_type: str, sample: bytes, declared: bool) -> bool:
    if declared:
        return (
            media_type.startswith("text/")
            or media_type in _TEXT_TYPES
            or media_type.endswith(("+json", "+xml"))
        )
    if b"\x00" in sample[:4096]:
        return False
    try:
        sample[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample[:4096]) - 4  # only a character cut at the end
    return True


class HttpGetArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="An http:// or https:// URL on an allowed host.")


class HttpGet(Tool):
    """Fetch a URL with HTTP GET and return its text or JSON (allowed hosts only)."""

    name = "http_get"
    Args = HttpGetArgs

    def __init__(
        self,
        allow: Sequence[str],
        *,
        timeout: float = 15.0,
        max_bytes: int = 32_000,
        max_redirects: int = 5,
        headers: dict[str, str] | None = None,
    ) -> None:
        if timeout <= 0 or max_bytes < 1 or max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects >= 0")
        self.allow = HostAllowList(allow)
        self.fetch_timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.headers = {
            "User-Agent": _USER_AGENT,
            "Accept-Encoding": "identity",
            "Accept": "text/*, application/json, */*;q=0.5",
            **(headers or {}),
        }
        self.timeout = timeout + 5.0  # the registry's limit; ours below fires first
        self.description = (
            f"Fetch a URL with HTTP GET and return its text or JSON. Allowed "
            f"hosts: {self.allow.describe()}."
        )

    def check_url(self, url: str | httpx.URL, *, redirected_from: str | None = None) -> httpx.URL:
        """The parsed URL if the tool may fetch it; an INVALID_VALUE failure saying why not."""
        where = f" (redirect from {redirected_from})" if redirected_from else ""
        if len(str(url)) > MAX_URL_CHARS:
            raise _refused(f"the URL is longer than {MAX_URL_CHARS} characters{where}")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _refused(f"{str(url)!r} is not a valid URL{where}: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            raise _refused(f"only http and https URLs are allowed, got {str(url)!r}{where}")
        if not parsed.host:
            raise _refused(f"the URL {str(url)!r} has no host{where}")
        if parsed.userinfo:
            raise _refused(f"URLs with a user name or password are not allowed{where}")
        if not self.allow.allows(_host(parsed)):
            raise _refused(
                f"the host {_host(parsed)!r} is not allowed{where}; allowed hosts: "
                f"{self.allow.describe()}"
            )
        return parsed

    async def run(self, args: HttpGetArgs) -> str:
        url = self.check_url(args.url)
        try:
            async with asyncio.timeout(self.fetch_timeout):
                return await self._fetch(url)
        except TimeoutError:
            raise HttpGetError(
                f"GET {url} did not finish within {self.fetch_timeout:g} s", ToolErrorKind.TIMED_OUT
            ) from None

    async def _fetch(self, url: httpx.URL) -> str:
        hops: list[str] = []
        async with httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self.fetch_timeout,
            headers=self.headers,
        ) as client:
            while True:
                try:
                    async with client.stream("GET", url) as response:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            target = self.check_url(
                                response.url.join(location), redirected_from=str(url)
                            )
                        else:
                            body, complete = await self._read(response)
                            return self._render(response, body, complete, hops)
                except httpx.TimeoutException:
                    raise HttpGetError(f"GET {url} timed out", ToolErrorKind.TIMED_OUT) from None
                except httpx.HTTPError as exc:
                    raise HttpGetError(f"GET {url} failed: {type(exc).__name__}: {exc}") from None
                hops.append(str(url))
                if len(hops) > self.max_redirects:
                    raise HttpGetError(
                        f"more than {self.max_redirects} redirects starting at {hops[0]}"
                    )
                url = target

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        """At most ``max_bytes`` of the body, and whether that was all of it."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], False
        return b"".join(chunks), True

    def _render(
        self, response: httpx.Response, body: bytes, complete: bool, hops: list[str]
    ) -> str:
        declared = response.headers.get("content-type", "")
        media_type, charset = _media_type(declared) if declared else ("", None)
        is_text = _is_text(media_type, body, bool(declared))
        if response.status_code >= 400:
            excerpt = (
                body[: _EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
                if is_text
                else "(binary body)"
            )
            raise HttpGetError(
                f"GET {response.url} returned {response.status_code} "
                f"{response.reason_phrase}: {excerpt[:_EXCERPT_CHARS]}"
            )
        header = [f"URL: {response.url}"]
        if hops:
            header.append(
                f"Redirected from: {hops[0]} ({len(hops)} redirect{'s' if len(hops) > 1 else ''})"
            )
        header.append(f"Status: {response.status_code} {response.reason_phrase}")
        header.append(f"Content-Type: {declared or '(none)'}")
        length = response.headers.get("content-length")
        total = (
            f"{length} bytes"
            if length and length.isdigit()
            else (f"{len(body)} bytes" if complete else f"more than {self.max_bytes} bytes")
        )
        if not is_text:
            return "\n".join(header) + (
                f"\n\n[binary content ({media_type or 'unknown type'}, "
                f"{total}) not shown; only text and JSON are shown]"
            )
        try:
            text = body.decode(charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            text = body.decode("utf-8", errors="replace")
        if not complete:
            text = text.rstrip("\ufffd") + (
                f"\n[truncated: showed the first {self.max_bytes} bytes of {total}]"
            )
        return "\n".join(header) + "\n\n" + text
