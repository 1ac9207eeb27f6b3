"""Reading an OpenAPI 3.x document into callable operations, one per future tool.

Each operation's path, query and header parameters and its JSON (or form) request body are
flattened into one object schema, because a model fills in one flat argument object far more
reliably than nested request parts. What cannot be called faithfully (multipart bodies,
required cookies, exotic parameter styles, a malformed or oversized argument schema) is
skipped with an ``OpenAPIWarning`` that names the operation; a document that is broken raises
``OpenAPIError`` naming the JSON pointer. The document is untrusted input: its size is capped
when read, and every walk over it is bounded by ``SchemaLimits`` (see ``schema_limits``).
"""

from __future__ import annotations

import functools
import json
import re
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import httpx
from pydantic import BaseModel, ConfigDict

from hanlin.tools.http_call import Endpoint, ParamBinding
from hanlin.tools.json_schema_model import DEFAULT_LIMITS, clean_schema
from hanlin.tools.schema_limits import (
    ExpansionBudget,
    InvalidSchema,
    SchemaBatch,
    SchemaLimits,
    check_size,
    child,
    render,
)
from hanlin.tools.schema_limits import Pointer as _Pointer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # the spec says: ignore these
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DESCRIPTION = 1024
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
_DATA_KEYS = ("default", "enum", "const")  # values, not schemas: no $ref is followed in them


class OpenAPIError(ValueError):
    """The document is unreadable, not OpenAPI 3.x, broken, or has nothing usable."""


class OpenAPIWarning(UserWarning):
    """Part of the document could not be turned into a tool and was left out."""


class _Skip(Exception):
    """This operation cannot be called faithfully; the message says why."""


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


class Operation(BaseModel):
    """One usable operation: its tool name and text, argument schema and HTTP endpoint."""

    name: str
    description: str
    parameters: dict[str, Any]
    endpoint: Endpoint
    pointer: str


# ---------------------------------------------------------------------------- loading


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


def _clip(text: str) -> str:
    return text if len(text) <= 80 else text[:80] + "…"


def _shown(value: Any) -> str:
    """A short, safe rendering of a document value for an error message."""
    if isinstance(value, str):
        return repr(_clip(value))
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
            f"{origin}: #/openapi: expected an OpenAPI version 3.x, got {_shown(version)}"
        )
    if "paths" not in data:
        raise OpenAPIError(f"{origin}: #/paths: missing; the document describes no operations")
    if not isinstance(data["paths"], dict):
        raise OpenAPIError(
            f"{origin}: #/paths: must be an object of path items, "
            f"got {type(data['paths']).__name__}"
        )


# ---------------------------------------------------------------------------- $ref


class _Resolver:
    """Inlines local ``$ref``s; an external or dangling one, or a cycle, is an error.

    Every walk spends the current ``budget`` (one per operation, see ``fresh``, all drawing on
    the document's ``batch``), so shared definitions that fan out, or nesting deeper than the
    limits, raise ``SchemaTooLarge`` (an ``InvalidSchema``) at the pointer where it stopped.
    """

    def __init__(
        self,
        data: dict[str, Any],
        origin: str,
        limits: SchemaLimits = DEFAULT_LIMITS,
        batch: SchemaBatch | None = None,
    ) -> None:
        self.data = data
        self.origin = origin
        self.limits = limits
        self.batch = batch
        self.budget = ExpansionBudget(limits, batch)
        self._targets: dict[str, Any] = {}

    def fresh(self) -> _Resolver:
        """Start a new budget (for the next operation); the batch's total carries on."""
        self.budget = ExpansionBudget(self.limits, self.batch)
        return self

    def target(self, ref: Any, at: _Pointer) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise OpenAPIError(
                f"{self.origin}: {render(at)}: $ref {_shown(ref)} points outside "
                "the document; only local references (#/...) are supported, so "
                "bundle the document into one file first"
            )
        if ref in self._targets:
            return self._targets[ref]
        node: Any = self.data
        for raw in unquote(ref[1:]).split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise OpenAPIError(
                    f"{self.origin}: {render(at)}: $ref {_shown(ref)} points to "
                    f"nothing (no {_shown(part)} there)"
                )
        self._targets[ref] = node
        return node

    def resolve(self, node: Any, at: _Pointer, stack: tuple[str, ...] = (), depth: int = 0) -> Any:
        """A copy of ``node`` with every reference inlined; ``at`` is its JSON pointer."""
        self.budget.spend(node, depth, at)
        if isinstance(node, list):
            return [
                self.resolve(item, child(at, i), stack, depth + 1) for i, item in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                chain = " -> ".join((*stack[stack.index(ref) :], ref))
                raise OpenAPIError(
                    f"{self.origin}: {render(at)}: cyclic $ref {chain}; a recursive "
                    "schema cannot be described as tool arguments"
                )
            target = self.resolve(self.target(ref, at), at, (*stack, ref), depth + 1)
            siblings = {
                k: self.resolve(v, child(at, k), stack, depth + 1)
                for k, v in node.items()
                if k != "$ref"
            }
            return {**target, **siblings} if isinstance(target, dict) else target
        return {
            key: value
            if key in ("example", "examples")  # never shown: dropped later
            else self.data_copy(value, child(at, key), depth + 1)
            if key in _DATA_KEYS
            else self.resolve(value, child(at, key), stack, depth + 1)
            for key, value in node.items()
        }

    def data_copy(self, value: Any, at: _Pointer, depth: int) -> Any:
        """A copy of a value that is data (a default, an enum): counted, never resolved."""
        self.budget.spend(value, depth, at)
        if isinstance(value, list):
            return [self.data_copy(item, child(at, i), depth + 1) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                key: self.data_copy(item, child(at, key), depth + 1) for key, item in value.items()
            }
        return value

    def path_item(self, item: Any, at: str) -> Any:
        """A path item with its own ``$ref`` followed; what is inside is resolved on use."""
        seen: list[str] = []
        while isinstance(item, dict) and "$ref" in item:
            ref = item["$ref"]
            if ref in seen:
                raise OpenAPIError(f"{self.origin}: {at}: cyclic $ref {' -> '.join([*seen, ref])}")
            seen.append(ref)
            found = self.target(ref, at)
            rest = {k: v for k, v in item.items() if k != "$ref"}
            item = {**found, **rest} if isinstance(found, dict) else found
        return item


def inline_refs(schema: dict[str, Any], origin: str, limits: SchemaLimits = DEFAULT_LIMITS) -> Any:
    """``schema`` with its local ``$ref``s (e.g. to ``#/$defs/...``) inlined.

    The definitions themselves are not expanded: only what the schema uses of them is.
    """
    used = {key: value for key, value in schema.items() if key not in ("$defs", "definitions")}
    try:
        return _Resolver(schema, origin, limits).resolve(used, "#")
    except InvalidSchema as exc:
        raise OpenAPIError(f"{origin}: {exc}") from None


# ---------------------------------------------------------------------------- operations


def tool_name(operation: dict[str, Any], method: str, path: str) -> str:
    """The operationId made valid as a tool name, else a slug such as ``get_todos_todo_id``."""
    op_id = text_field(operation.get("operationId"))
    raw = op_id if op_id else f"{method}_{path}"
    if op_id:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_-")
    else:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_").lower()
    return slug[:64] or method


def _description(operation: dict[str, Any], method: str, path: str) -> str:
    parts: list[str] = []
    for key in ("summary", "description"):
        text = text_field(operation.get(key)).strip()
        if text and text not in parts:
            parts.append(text)
    text = "\n".join(parts) or f"{method.upper()} {path}"
    if operation.get("deprecated"):
        text = "Deprecated. " + text
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1] + "…"


def _arg_name(wire: str, location: str, taken: set[str]) -> str:
    """The argument name for a parameter: its own name when plain, else a snake_case form."""
    name = (
        wire
        if _IDENTIFIER.match(wire)
        else (re.sub(r"[^A-Za-z0-9]+", "_", wire).strip("_").lower() or location)
    )
    if name in taken:
        name = f"{location}_{name}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def server_url(servers: Any, doc: OpenAPIDocument, at: str = "#/servers") -> str | None:
    """The absolute URL of the first server (variables at their defaults), if one is known.

    ``at`` is the pointer of ``servers``, for the ``OpenAPIError`` a malformed entry raises.
    """
    if not servers:
        return urljoin(doc.url, "/") if doc.url else None
    if not isinstance(servers, list):
        raise OpenAPIError(
            f"{doc.origin}: {at}: must be an array of server objects, got {_shown(servers)}"
        )
    first, at = servers[0], f"{at}/0"
    if not isinstance(first, dict) or not isinstance(first.get("url", ""), str):
        raise OpenAPIError(f"{doc.origin}: {at}: a server must be an object with a `url` string")
    url = str(first.get("url", ""))
    variables = first.get("variables") or {}
    if not isinstance(variables, dict):
        raise OpenAPIError(
            f"{doc.origin}: {at}/variables: must be an object mapping each "
            f'variable name to {{"default": ...}}, got {_shown(variables)}'
        )
    for var, spec in variables.items():
        default = spec.get("default") if isinstance(spec, dict) else None
        if not isinstance(default, str | int | float) or isinstance(default, bool):
            raise OpenAPIError(
                f"{doc.origin}: {render(child(f'{at}/variables', var))}: a server "
                "variable needs a string `default`"
            )
        url = url.replace("{" + str(var) + "}", text_field(default))
    if urlparse(url).scheme in ("http", "https"):
        return url
    return urljoin(doc.url, url) if doc.url else None


class _Builder:
    """Builds the operations of one document."""

    def __init__(
        self,
        doc: OpenAPIDocument,
        base_url: str | None,
        reserved: set[tuple[str, str]],
        batch: SchemaBatch,
    ) -> None:
        self.doc = doc
        self.resolver = _Resolver(doc.data, doc.origin, batch.limits, batch)
        self.base_url = base_url
        self.reserved = reserved
        self.limits = batch.limits

    def warn(self, name: str, method: str, path: str, message: str) -> None:
        warnings.warn(
            f"{self.doc.origin}: operation {name} ({method.upper()} {path}): {message}",
            OpenAPIWarning,
            stacklevel=4,
        )

    def build(
        self, name: str, method: str, path: str, item: dict[str, Any], pointer: str
    ) -> Operation:
        op = item[method]
        self.resolver.fresh()
        taken: set[str] = set()
        properties: dict[str, Any] = {}
        required: list[str] = []
        bindings: list[ParamBinding] = []
        for (location, wire), (param, at) in self._parameters(op, item, pointer):
            binding = self._parameter(name, method, path, location, wire, param)
            if binding is None:
                continue
            arg = _arg_name(wire, location, taken)
            schema = clean_schema(param.get("schema"), f"{at}/schema", self.limits)
            if text_field(param.get("description")):
                schema["description"] = text_field(param["description"])
            properties[arg] = schema
            if param.get("required") or location == "path":
                required.append(arg)
            bindings.append(binding.model_copy(update={"argument": arg}))
        declared = {b.name for b in bindings if b.location == "path"}
        undeclared = [p for p in re.findall(r"\{([^}/]+)\}", path) if p not in declared]
        if undeclared:
            raise _Skip(f"path parameter {', '.join(undeclared)} is not declared")
        media, body_required = self._body(
            name, method, path, op, pointer, taken, properties, required, bindings
        )
        if op.get("callbacks"):
            self.warn(name, method, path, "callbacks are not supported and were ignored")
        servers, servers_at = self._servers(op, item, pointer)
        base = self.base_url or server_url(servers, self.doc, servers_at)
        if not base:
            raise OpenAPIError(
                f"{self.doc.origin}: {pointer}: no absolute server URL (servers "
                "is missing or relative and the document was not fetched from a "
                "URL); pass base_url="
            )
        arguments: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            arguments["required"] = required
        arguments["additionalProperties"] = False
        check_size(arguments, self.limits, pointer)
        endpoint = Endpoint(
            operation=name,
            method=method.upper(),
            base_url=base,
            path=path,
            bindings=bindings,
            body_media_type=media,
            body_required=body_required,
        )
        return Operation(
            name=name,
            description=_description(op, method, path),
            parameters=arguments,
            endpoint=endpoint,
            pointer=pointer,
        )

    def _parameters(
        self, op: dict[str, Any], item: dict[str, Any], pointer: str
    ) -> list[tuple[tuple[str, str], tuple[dict[str, Any], str]]]:
        """The operation's parameters (the path's, overridden by its own), resolved, each with
        its pointer, in path, query, header, cookie order."""
        params: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for where, source in (
            (f"{pointer.rsplit('/', 1)[0]}/parameters", item),
            (f"{pointer}/parameters", op),
        ):
            listed = source.get("parameters") or []
            if not isinstance(listed, list):
                raise OpenAPIError(f"{self.doc.origin}: {where}: must be an array of parameters")
            for i, raw in enumerate(listed):
                param = self.resolver.resolve(raw, f"{where}/{i}")
                wire = text_field(param.get("name")) if isinstance(param, dict) else ""
                location = text_field(param.get("in")) if isinstance(param, dict) else ""
                if not (wire and location):
                    raise OpenAPIError(
                        f"{self.doc.origin}: {where}/{i}: a parameter needs `name` and `in`"
                    )
                params[(location, wire)] = (param, f"{where}/{i}")
        order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
        return sorted(params.items(), key=lambda p: order.get(p[0][0], 4))

    def _servers(self, op: dict[str, Any], item: dict[str, Any], pointer: str) -> tuple[Any, str]:
        """The servers that apply to an operation and their pointer: its own, else its path's,
        else the document's."""
        if op.get("servers"):
            return op["servers"], f"{pointer}/servers"
        if item.get("servers"):
            return item["servers"], f"{pointer.rsplit('/', 1)[0]}/servers"
        return self.doc.data.get("servers"), "#/servers"

    def _parameter(
        self, name: str, method: str, path: str, location: str, wire: str, param: dict[str, Any]
    ) -> ParamBinding | None:
        """The binding of one parameter, ``None`` to leave it out, or ``_Skip``."""
        needed = bool(param.get("required")) or location == "path"

        def unsupported(why: str) -> ParamBinding | None:
            if needed:
                raise _Skip(f"required {why} is not supported")
            self.warn(name, method, path, f"optional {why} is not supported and was left out")
            return None

        if location == "header" and wire.lower() in _IGNORED_HEADERS:
            return None
        if (location, wire.lower() if location == "header" else wire) in self.reserved:
            return None  # the plugin's credentials fill it
        shown = _shown(wire)
        if location not in ("path", "query", "header"):
            return unsupported(f"{_clip(location)} parameter {shown}")
        if "schema" not in param:
            return unsupported(f"{location} parameter {shown} described by `content`")
        style = param.get("style") or ("form" if location == "query" else "simple")
        delimiters = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|", "simple": ","}
        if (
            not isinstance(style, str)
            or style not in delimiters
            or (location != "query" and style != "simple")
        ):
            return unsupported(f"{location} parameter {shown} with style {_shown(style)}")
        explode = bool(param.get("explode", style == "form"))
        return ParamBinding(
            argument=wire,
            location=location,
            name=wire,
            explode=explode,
            delimiter=delimiters[style],
        )

    def _body(
        self,
        name: str,
        method: str,
        path: str,
        op: dict[str, Any],
        pointer: str,
        taken: set[str],
        properties: dict[str, Any],
        required: list[str],
        bindings: list[ParamBinding],
    ) -> tuple[str | None, bool]:
        if "requestBody" not in op:
            return None, False
        body = self.resolver.resolve(op["requestBody"], f"{pointer}/requestBody")
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            raise OpenAPIError(f"{self.doc.origin}: {pointer}/requestBody: needs `content`")
        needed = bool(body.get("required"))
        types = [m for m in content if isinstance(m, str)]
        media = next((m for m in types if m.split(";")[0].strip() == "application/json"), None)
        media = media or next((m for m in types if m.split(";")[0].strip().endswith("+json")), None)
        media = media or next(
            (m for m in types if m.startswith("application/x-www-form-urlencoded")), None
        )
        if media is None:
            why = f"request body of type {', '.join(_clip(m) for m in types)}"
            if needed:
                raise _Skip(f"required {why} is not supported (only JSON and form bodies are)")
            self.warn(name, method, path, f"optional {why} is not supported and was left out")
            return None, False
        entry = content[media] if isinstance(content[media], dict) else {}
        schema = clean_schema(
            entry.get("schema") or {},
            child(child(f"{pointer}/requestBody/content", media), "schema"),
            self.limits,
        )
        props = schema.get("properties")
        is_form = media.startswith("application/x-www-form-urlencoded")
        if isinstance(props, dict) and props and schema.get("type", "object") == "object":
            inner = set(schema.get("required", []))
            for prop, sub in props.items():
                arg = _arg_name(prop, "body", taken)
                properties[arg] = sub
                if needed and prop in inner:
                    required.append(arg)
                bindings.append(ParamBinding(argument=arg, location="body", name=prop))
        elif is_form:
            raise _Skip("a form body without listed properties is not supported")
        else:
            arg = _arg_name("body", "body", taken)
            if text_field(body.get("description")) and "description" not in schema:
                schema["description"] = text_field(body["description"])
            properties[arg] = schema
            if needed:
                required.append(arg)
            bindings.append(ParamBinding(argument=arg, location="body", name=None))
        return media.split(";")[0].strip(), needed


def _listed_operations(
    doc: OpenAPIDocument, resolver: _Resolver
) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """Every operation as (unique tool name, method, path, path item, pointer)."""
    origin = doc.origin
    found: list[tuple[str, str, str, dict[str, Any], str]] = []
    names: set[str] = set()
    for key, item in doc.data["paths"].items():
        path, at = text_field(key), render(child("#/paths", key))
        if not path.startswith("/"):
            raise OpenAPIError(f"{origin}: {at}: a path must start with '/'")
        item = resolver.path_item(item, at)
        if not isinstance(item, dict):
            raise OpenAPIError(f"{origin}: {at}: a path item must be an object")
        for method in METHODS:
            if method not in item:
                continue
            if not isinstance(item[method], dict):
                raise OpenAPIError(f"{origin}: {at}/{method}: an operation must be an object")
            name = base = tool_name(item[method], method, path)
            n = 2
            while name in names:
                name, n = f"{base[:60]}_{n}", n + 1
            names.add(name)
            found.append((name, method, path, item, f"{at}/{method}"))
    return found


def read_operations(
    doc: OpenAPIDocument,
    *,
    base_url: str | None = None,
    include: Iterable[str] | None = None,
    reserved: Iterable[tuple[str, str]] = (),
    batch: SchemaBatch | None = None,
) -> list[Operation]:
    """The usable operations of ``doc`` (only those named in ``include``, when given).

    ``reserved`` holds ``(location, name)`` pairs the caller fills itself (credentials);
    parameters matching them are not offered as arguments. An operation whose argument
    schema is malformed or exceeds the ``batch``'s limits (the defaults without one) is
    skipped with an ``OpenAPIWarning``.
    """
    origin = doc.origin
    builder = _Builder(
        doc,
        base_url,
        {(loc, n.lower() if loc == "header" else n) for loc, n in reserved},
        batch or SchemaBatch(DEFAULT_LIMITS),
    )
    found = _listed_operations(doc, builder.resolver)
    names = {entry[0] for entry in found}
    if include is not None:
        wanted = list(include)
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise OpenAPIError(
                f"{origin}: include names unknown operations {unknown}; "
                f"the operations are: {sorted(names)}"
            )
        found = [entry for entry in found if entry[0] in wanted]
    operations: list[Operation] = []
    skipped: list[str] = []
    for name, method, path, item, pointer in found:
        try:
            operations.append(builder.build(name, method, path, item, pointer))
        except (_Skip, InvalidSchema) as why:  # InvalidSchema names its pointer
            skipped.append(f"{name}: {why}")
            builder.warn(name, method, path, f"skipped: {why}")
    if not operations:
        detail = f" (skipped: {'; '.join(skipped)})" if skipped else ""
        raise OpenAPIError(f"{origin}: no usable operations{detail}")
    return operations


def api_key_name(doc: OpenAPIDocument, location: str) -> str | None:
    """The parameter name of the document's first API-key security scheme in ``location``."""
    components = doc.data.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    if not isinstance(schemes, dict):
        return None
    resolver = _Resolver(doc.data, doc.origin)
    for key, scheme in schemes.items():
        try:
            scheme = resolver.fresh().resolve(scheme, child("#/components/securitySchemes", key))
        except InvalidSchema as exc:
            raise OpenAPIError(f"{doc.origin}: {exc}") from None
        if (
            isinstance(scheme, dict)
            and scheme.get("type") == "apiKey"
            and scheme.get("in") == location
            and text_field(scheme.get("name"))
        ):
            return text_field(scheme["name"])
    return None


__all__ = [
    "METHODS",
    "OpenAPIDocument",
    "OpenAPIError",
    "OpenAPIWarning",
    "Operation",
    "api_key_name",
    "inline_refs",
    "load_document",
    "read_operations",
    "server_url",
    "text_field",
    "tool_name",
]
