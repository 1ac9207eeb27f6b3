"""Reading an OpenAPI 3.x document into callable operations, one per future tool.

Each operation's path, query and header parameters and its JSON (or form) request body are
flattened into one object schema, because a model fills in one flat argument object far more
reliably than nested request parts. What cannot be called faithfully (multipart bodies,
required cookies, exotic parameter styles) is skipped with an ``OpenAPIWarning`` that names
the operation; a document that is broken raises ``OpenAPIError`` naming the JSON pointer.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import httpx
from pydantic import BaseModel, ConfigDict

from hanlin.tools.http_call import Endpoint, ParamBinding
from hanlin.tools.json_schema_model import clean_schema

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # the spec says: ignore these
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DESCRIPTION = 1024


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
        return str(info.get("title", "")) if isinstance(info, dict) else ""


class Operation(BaseModel):
    """One usable operation: its tool name and text, argument schema and HTTP endpoint."""

    name: str
    description: str
    parameters: dict[str, Any]
    endpoint: Endpoint
    pointer: str


# ---------------------------------------------------------------------------- loading


def _parse(text: str, origin: str, hint: str) -> Any:
    if hint.endswith(".json") or (not hint.endswith((".yaml", ".yml"))
                                  and text.lstrip().startswith(("{", "["))):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise OpenAPIError(f"{origin}: not valid JSON: {exc}") from None
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency of the REST plugins
        raise OpenAPIError(f"{origin}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OpenAPIError(f"{origin}: not valid YAML or JSON: {exc}") from None


def load_document(source: str | Path | Mapping[str, Any], *,
                  timeout: float = 30.0) -> OpenAPIDocument:
    """Read a document from a mapping, a file (JSON or YAML) or an http(s) URL, and check it."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
        info = data.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        doc = OpenAPIDocument(data={}, origin=f"OpenAPI document {title!r}" if title
                              else "the given OpenAPI document")
    elif isinstance(source, str) and source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=timeout, follow_redirects=True,
                                 headers={"Accept": "application/json, application/yaml"})
        except httpx.HTTPError as exc:
            raise OpenAPIError(f"cannot fetch OpenAPI document {source}: "
                               f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise OpenAPIError(f"cannot fetch OpenAPI document {source}: "
                               f"HTTP {response.status_code} {response.reason_phrase}")
        doc = OpenAPIDocument(data={}, origin=source, url=str(response.url))
        data = _parse(response.text, source, urlparse(source).path.lower())
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise OpenAPIError(f"cannot read OpenAPI document {path}: {exc.strerror or exc}") \
                from None
        doc = OpenAPIDocument(data={}, origin=str(path))
        data = _parse(text, str(path), path.name.lower())
    _check_basics(data, doc.origin)
    doc.data = data
    return doc


def _check_basics(data: Any, origin: str) -> None:
    if not isinstance(data, dict):
        raise OpenAPIError(f"{origin}: not an OpenAPI document (the top level is "
                           f"{type(data).__name__}, not an object)")
    if "swagger" in data:
        raise OpenAPIError(f"{origin}: #/swagger: this is a Swagger {data['swagger']} "
                           "(OpenAPI 2) document; only OpenAPI 3.x is supported. Convert it "
                           "first, e.g. with swagger2openapi")
    version = data.get("openapi")  # YAML reads an unquoted `3.0` as a number
    if not (isinstance(version, str | float) and str(version).startswith("3.")):
        raise OpenAPIError(f"{origin}: #/openapi: expected an OpenAPI version 3.x, "
                           f"got {version!r}")
    if "paths" not in data:
        raise OpenAPIError(f"{origin}: #/paths: missing; the document describes no operations")
    if not isinstance(data["paths"], dict):
        raise OpenAPIError(f"{origin}: #/paths: must be an object of path items, "
                           f"got {type(data['paths']).__name__}")


# ---------------------------------------------------------------------------- $ref


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


class _Resolver:
    """Inlines local ``$ref``s; an external or dangling one, or a cycle, is an error."""

    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.data = data
        self.origin = origin

    def target(self, ref: Any, at: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise OpenAPIError(f"{self.origin}: {at}: $ref {ref!r} points outside the document; "
                               "only local references (#/...) are supported, so bundle the "
                               "document into one file first")
        node: Any = self.data
        for raw in unquote(ref[1:]).split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise OpenAPIError(f"{self.origin}: {at}: $ref {ref!r} points to nothing "
                                   f"(no {part!r} there)")
        return node

    def resolve(self, node: Any, at: str, stack: tuple[str, ...] = ()) -> Any:
        """A copy of ``node`` with every reference inlined; ``at`` is its JSON pointer."""
        if isinstance(node, list):
            return [self.resolve(item, f"{at}/{i}", stack) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                chain = " -> ".join((*stack[stack.index(ref):], ref))
                raise OpenAPIError(f"{self.origin}: {at}: cyclic $ref {chain}; a recursive "
                                   "schema cannot be described as tool arguments")
            target = self.resolve(self.target(ref, at), at, (*stack, ref))
            siblings = {k: self.resolve(v, f"{at}/{_escape(k)}", stack)
                        for k, v in node.items() if k != "$ref"}
            return {**target, **siblings} if isinstance(target, dict) else target
        return {key: (value if key in ("example", "examples")
                      else self.resolve(value, f"{at}/{_escape(key)}", stack))
                for key, value in node.items()}


def inline_refs(schema: dict[str, Any], origin: str) -> Any:
    """``schema`` with its local ``$ref``s (e.g. to ``#/$defs/...``) inlined."""
    return _Resolver(schema, origin).resolve(schema, "#")


# ---------------------------------------------------------------------------- operations


def tool_name(operation: dict[str, Any], method: str, path: str) -> str:
    """The operationId made valid as a tool name, else a slug such as ``get_todos_todo_id``."""
    op_id = operation.get("operationId")
    raw = str(op_id) if op_id else f"{method}_{path}"
    if op_id:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_-")
    else:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_").lower()
    return slug[:64] or method


def _description(operation: dict[str, Any], method: str, path: str) -> str:
    parts: list[str] = []
    for key in ("summary", "description"):
        text = str(operation.get(key) or "").strip()
        if text and text not in parts:
            parts.append(text)
    text = "\n".join(parts) or f"{method.upper()} {path}"
    if operation.get("deprecated"):
        text = "Deprecated. " + text
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1] + "…"


def _arg_name(wire: str, location: str, taken: set[str]) -> str:
    """The argument name for a parameter: its own name when plain, else a snake_case form."""
    name = wire if _IDENTIFIER.match(wire) else (
        re.sub(r"[^A-Za-z0-9]+", "_", wire).strip("_").lower() or location)
    if name in taken:
        name = f"{location}_{name}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def server_url(servers: Any, doc: OpenAPIDocument) -> str | None:
    """The absolute URL of the first server (variables at their defaults), if one is known."""
    if not servers:
        return urljoin(doc.url, "/") if doc.url else None
    first = servers[0] if isinstance(servers, list) and isinstance(servers[0], dict) else {}
    url = str(first.get("url", ""))
    for var, spec in (first.get("variables") or {}).items():
        url = url.replace("{" + var + "}", str(spec.get("default", "")))
    if urlparse(url).scheme in ("http", "https"):
        return url
    return urljoin(doc.url, url) if doc.url else None


class _Builder:
    """Builds the operations of one document."""

    def __init__(self, doc: OpenAPIDocument, base_url: str | None,
                 reserved: set[tuple[str, str]]) -> None:
        self.doc = doc
        self.resolver = _Resolver(doc.data, doc.origin)
        self.base_url = base_url
        self.reserved = reserved

    def warn(self, name: str, method: str, path: str, message: str) -> None:
        warnings.warn(f"{self.doc.origin}: operation {name} ({method.upper()} {path}): "
                      f"{message}", OpenAPIWarning, stacklevel=4)

    def build(self, name: str, method: str, path: str, item: dict[str, Any],
              pointer: str) -> Operation:
        op = item[method]
        taken: set[str] = set()
        properties: dict[str, Any] = {}
        required: list[str] = []
        bindings: list[ParamBinding] = []
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for where, source in ((f"{pointer.rsplit('/', 1)[0]}/parameters", item),
                              (f"{pointer}/parameters", op)):
            for i, raw in enumerate(source.get("parameters") or []):
                param = self.resolver.resolve(raw, f"{where}/{i}")
                if not (isinstance(param, dict) and param.get("name") and param.get("in")):
                    raise OpenAPIError(f"{self.doc.origin}: {where}/{i}: a parameter needs "
                                       "`name` and `in`")
                params[(str(param["in"]), str(param["name"]))] = param
        order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
        for (location, wire), param in sorted(params.items(), key=lambda p: order.get(p[0][0], 4)):
            binding = self._parameter(name, method, path, location, wire, param)
            if binding is None:
                continue
            arg = _arg_name(wire, location, taken)
            schema = clean_schema(param.get("schema"))
            if param.get("description"):
                schema["description"] = str(param["description"])
            properties[arg] = schema
            if param.get("required") or location == "path":
                required.append(arg)
            bindings.append(binding.model_copy(update={"argument": arg}))
        declared = {b.name for b in bindings if b.location == "path"}
        undeclared = [p for p in re.findall(r"\{([^}/]+)\}", path) if p not in declared]
        if undeclared:
            raise _Skip(f"path parameter {', '.join(undeclared)} is not declared")
        media, body_required = self._body(name, method, path, op, pointer, taken, properties,
                                          required, bindings)
        if op.get("callbacks"):
            self.warn(name, method, path, "callbacks are not supported and were ignored")
        servers = op.get("servers") or item.get("servers") or self.doc.data.get("servers")
        base = self.base_url or server_url(servers, self.doc)
        if not base:
            raise OpenAPIError(f"{self.doc.origin}: {pointer}: no absolute server URL (servers "
                               "is missing or relative and the document was not fetched from a "
                               "URL); pass base_url=")
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        endpoint = Endpoint(operation=name, method=method.upper(), base_url=base, path=path,
                            bindings=bindings, body_media_type=media, body_required=body_required)
        return Operation(name=name, description=_description(op, method, path),
                         parameters=schema, endpoint=endpoint, pointer=pointer)

    def _parameter(self, name: str, method: str, path: str, location: str, wire: str,
                   param: dict[str, Any]) -> ParamBinding | None:
        """The binding of one parameter, ``None`` to leave it out, or ``_Skip``."""
        needed = bool(param.get("required")) or location == "path"

        def unsupported(why: str) -> None:
            if needed:
                raise _Skip(f"required {why} is not supported")
            self.warn(name, method, path, f"optional {why} is not supported and was left out")

        if location == "header" and wire.lower() in _IGNORED_HEADERS:
            return None
        if (location, wire.lower() if location == "header" else wire) in self.reserved:
            return None  # the plugin's credentials fill it
        if location not in ("path", "query", "header"):
            return unsupported(f"{location} parameter {wire!r}")
        if "schema" not in param:
            return unsupported(f"{location} parameter {wire!r} described by `content`")
        style = param.get("style") or ("form" if location == "query" else "simple")
        delimiters = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|", "simple": ","}
        if style not in delimiters or (location != "query" and style != "simple"):
            return unsupported(f"{location} parameter {wire!r} with style {style!r}")
        explode = bool(param.get("explode", style == "form"))
        return ParamBinding(argument=wire, location=location,  # type: ignore[arg-type]
                            name=wire, explode=explode, delimiter=delimiters[style])

    def _body(self, name: str, method: str, path: str, op: dict[str, Any], pointer: str,
              taken: set[str], properties: dict[str, Any], required: list[str],
              bindings: list[ParamBinding]) -> tuple[str | None, bool]:
        if "requestBody" not in op:
            return None, False
        body = self.resolver.resolve(op["requestBody"], f"{pointer}/requestBody")
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            raise OpenAPIError(f"{self.doc.origin}: {pointer}/requestBody: needs `content`")
        needed = bool(body.get("required"))
        media = next((m for m in content if m.split(";")[0].strip() == "application/json"), None)
        media = media or next((m for m in content if m.split(";")[0].strip().endswith("+json")),
                              None)
        media = media or next((m for m in content
                               if m.startswith("application/x-www-form-urlencoded")), None)
        if media is None:
            why = f"request body of type {', '.join(content)}"
            if needed:
                raise _Skip(f"required {why} is not supported (only JSON and form bodies are)")
            self.warn(name, method, path, f"optional {why} is not supported and was left out")
            return None, False
        entry = content[media] if isinstance(content[media], dict) else {}
        schema = clean_schema(entry.get("schema") or {})
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
            if body.get("description") and "description" not in schema:
                schema["description"] = str(body["description"])
            properties[arg] = schema
            if needed:
                required.append(arg)
            bindings.append(ParamBinding(argument=arg, location="body", name=None))
        return media.split(";")[0].strip(), needed


def read_operations(doc: OpenAPIDocument, *, base_url: str | None = None,
                    include: Iterable[str] | None = None,
                    reserved: Iterable[tuple[str, str]] = ()) -> list[Operation]:
    """The usable operations of ``doc`` (only those named in ``include``, when given).

    ``reserved`` holds ``(location, name)`` pairs the caller fills itself (credentials);
    parameters matching them are not offered as arguments.
    """
    origin = doc.origin
    builder = _Builder(doc, base_url, {(loc, n.lower() if loc == "header" else n)
                                       for loc, n in reserved})
    found: list[tuple[str, str, str, dict[str, Any], str]] = []
    names: set[str] = set()
    for path, item in doc.data["paths"].items():
        at = f"#/paths/{_escape(path)}"
        if not str(path).startswith("/"):
            raise OpenAPIError(f"{origin}: {at}: a path must start with '/'")
        if isinstance(item, dict) and "$ref" in item:
            item = builder.resolver.resolve(item, at)
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
    if include is not None:
        wanted = list(include)
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise OpenAPIError(f"{origin}: include names unknown operations {unknown}; "
                               f"the operations are: {sorted(names)}")
        found = [entry for entry in found if entry[0] in wanted]
    operations: list[Operation] = []
    skipped: list[str] = []
    for name, method, path, item, pointer in found:
        try:
            operations.append(builder.build(name, method, path, item, pointer))
        except _Skip as why:
            skipped.append(f"{name}: {why}")
            builder.warn(name, method, path, f"skipped: {why}")
    if not operations:
        detail = f" (skipped: {'; '.join(skipped)})" if skipped else ""
        raise OpenAPIError(f"{origin}: no usable operations{detail}")
    return operations


def api_key_name(doc: OpenAPIDocument, location: str) -> str | None:
    """The parameter name of the document's first API-key security scheme in ``location``."""
    schemes = (doc.data.get("components") or {}).get("securitySchemes") or {}
    resolver = _Resolver(doc.data, doc.origin)
    for key, scheme in schemes.items():
        scheme = resolver.resolve(scheme, f"#/components/securitySchemes/{_escape(key)}")
        if isinstance(scheme, dict) and scheme.get("type") == "apiKey" \
                and scheme.get("in") == location and scheme.get("name"):
            return str(scheme["name"])
    return None


__all__ = ["METHODS", "OpenAPIDocument", "OpenAPIError", "OpenAPIWarning", "Operation",
           "api_key_name", "inline_refs", "load_document", "read_operations", "server_url",
           "tool_name"]
