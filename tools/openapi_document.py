"""Reading an OpenAPI 3.x document: from a mapping, a file or a URL, size-capped, checked.

The document is untrusted input: a download or file over ``MAX_DOCUMENT_BYTES`` is refused,
YAML is read as JSON would hold it, and nothing from it is rendered into an error message
unclipped (``shown``).
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from pydantic import BaseModel, ConfigDict

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class OpenAPIError(ValueError):
    """The document is unreadable, not OpenAPI 3.x, broken, or has nothing usable."""


class OpenAPIWarning(UserWarning):
    """Part of the document could not be turned into a tool and was left out."""


class OpenAPIDocument(BaseModel):
    """A parsed document, where it came from (for messages) and its URL, if fetched."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    data: dict[str, Any]
    origin: str
    url: str | None = None

    @property
    def title(self) -> str:
        info = self.data.get("info")
        return text_field(info.get("title")) if isinstance(info, dict) else ""


def text_field(value: Any) -> str:
    """A document's text field as a string; a list or an object there counts as absent.

    Never ``str()`` an arbitrary value from the document: YAML aliases can make a small
    document hold a structure whose text is gigabytes long.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def clip(text: str) -> str:
    return text if len(text) <= 80 else text[:80] + "…"


def safe_repr(value: Any) -> str:
    """A short, safe rendering of a document value for an error message."""
    if isinstance(value, str):
        return repr(clip(value))
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return f"a {type(value).__name__}"


@functools.cache
def _yaml_loader() -> type[Any]:
    """PyYAML's safe loader, reading only what JSON can hold, as OpenAPI requires.

    Dates stay strings (a ``default: 2024-01-01`` must not become a ``date`` that JSON cannot
    send), only ``true`` and ``false`` are booleans, as in YAML 1.2 (``enum: [yes, no]`` keeps
    its strings), mapping keys become strings (``200:`` is the key ``"200"``), and the binary,
    set and timestamp tags are refused.
    """
    import yaml

    class JsonYamlLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
            mapping = super().construct_mapping(node, deep=deep)
            return {
                key if isinstance(key, str) else json.dumps(key): value
                for key, value in mapping.items()
            }

    def refuse(loader: Any, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag} has no JSON form", node.start_mark
        )

    dropped = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    JsonYamlLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    JsonYamlLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    for tag in ("binary", "set", "timestamp", "omap", "pairs"):
        JsonYamlLoader.add_constructor(f"tag:yaml.org,2002:{tag}", refuse)
    return JsonYamlLoader


def _parse(text: str, origin: str, hint: str) -> Any:
    if hint.endswith(".json") or (
        not hint.endswith((".yaml", ".yml")) and text.lstrip().startswith(("{", "["))
    ):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise OpenAPIError(f"{origin}: not valid JSON: {exc}") from None
        except RecursionError:
            raise OpenAPIError(f"{origin}: nested too deeply to read") from None
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency of the REST plugins
        raise OpenAPIError(f"{origin}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.load(text, Loader=_yaml_loader())  # a safe loader (see _yaml_loader)
    except yaml.YAMLError as exc:
        raise OpenAPIError(f"{origin}: not valid YAML or JSON: {exc}") from None
    except RecursionError:
        raise OpenAPIError(f"{origin}: nested too deeply to read") from None


def _too_large(origin: str, max_bytes: int) -> OpenAPIError:
    return OpenAPIError(
        f"{origin}: the document is larger than {max_bytes} bytes; raise "
        "max_document_bytes to read it"
    )


def _fetch(url: str, timeout: float, max_bytes: int) -> tuple[str, str]:
    """The text of the document at ``url`` and the URL it came from after redirects.

    The body is read in chunks and dropped past ``max_bytes``; ``timeout`` bounds each read
    and the whole download, so a server that trickles bytes cannot hold the caller.
    """
    deadline = time.monotonic() + timeout
    try:
        with httpx.stream(
            "GET",
            url,
            timeout=timeout,
            follow_redirects=True,
            headers={"Accept": "application/json, application/yaml"},
        ) as response:
            if not response.is_success:
                raise OpenAPIError(
                    f"cannot fetch OpenAPI document {url}: "
                    f"HTTP {response.status_code} {response.reason_phrase}"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, max_bytes)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(url, max_bytes)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise OpenAPIError(
                        f"cannot fetch OpenAPI document {url}: the download "
                        f"took longer than {timeout:g} s"
                    )
            data = b"".join(chunks)
            try:
                text = data.decode(response.encoding or "utf-8", errors="replace")
            except LookupError:
                text = data.decode("utf-8", errors="replace")
            return text, str(response.url)
    except httpx.HTTPError as exc:
        raise OpenAPIError(
            f"cannot fetch OpenAPI document {url}: {type(exc).__name__}: {exc}"
        ) from None


def _read_file(path: Path, max_bytes: int) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise OpenAPIError(f"cannot read OpenAPI document {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise _too_large(str(path), max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OpenAPIError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_document(
    source: str | Path | Mapping[str, Any],
    *,
    timeout: float = 30.0,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> OpenAPIDocument:
    """Read a document from a mapping, a file (JSON or YAML) or an http(s) URL, and check it.

    A file or download larger than ``max_bytes`` is refused with ``OpenAPIError``.
    """
    if isinstance(source, Mapping):
        data: Any = dict(source)
        info = data.get("info")
        title = text_field(info.get("title")) if isinstance(info, dict) else ""
        doc = OpenAPIDocument(
            data={}, origin=f"OpenAPI document {title!r}" if title else "the given OpenAPI document"
        )
    elif isinstance(source, str) and source.startswith(("http://", "https://")):
        text, final_url = _fetch(source, timeout, max_bytes)
        doc = OpenAPIDocument(data={}, origin=source, url=final_url)
        data = _parse(text, source, urlparse(source).path.lower())
    else:
        path = Path(source)
        text = _read_file(path, max_bytes)
        doc = OpenAPIDocument(data={}, origin=str(path))
        data = _parse(text, str(path), path.name.lower())
    _check_basics(data, doc.origin)
    doc.data = data
    return doc


def _check_basics(data: Any, origin: str) -> None:
    if not isinstance(data, dict):
        raise OpenAPIError(
            f"{origin}: not an OpenAPI document (the top level is "
            f"{type(data).__name__}, not an object)"
        )
    if "swagger" in data:
        swagger = text_field(data["swagger"])
        raise OpenAPIError(
            f"{origin}: #/swagger: this is a Swagger {swagger} "
            "(OpenAPI 2) document; only OpenAPI 3.x is supported. Convert it "
            "first, e.g. with swagger2openapi"
        )
    version = data.get("openapi")  # YAML reads an unquoted `3.0` as a number
    if not (isinstance(version, str | float) and str(version).startswith("3.")):
        raise OpenAPIError(
            f"{origin}: #/openapi: expected an OpenAPI version 3.x, got {safe_repr(version)}"
        )
    if "paths" not in data:
        raise OpenAPIError(f"{origin}: #/paths: missing; the document describes no operations")
    if not isinstance(data["paths"], dict):
        raise OpenAPIError(
            f"{origin}: #/paths: must be an object of path items, "
            f"got {type(data['paths']).__name__}"
        )
