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

import re
import warnings
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlparse

from pydantic import BaseModel

from hanlin.tools.http_call import Endpoint, ParamBinding
from hanlin.tools.json_schema_model import DEFAULT_LIMITS, clean_schema
from hanlin.tools.openapi_document import (
    MAX_DOCUMENT_BYTES,
    OpenAPIDocument,
    OpenAPIError,
    OpenAPIWarning,
    clip,
    load_document,
    safe_repr,
    text_field,
)
from hanlin.tools.openapi_refs import RefResolver, inline_refs
from hanlin.tools.schema_limits import (
    InvalidSchema,
    SchemaBatch,
    check_size,
    child,
    render,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # the spec says: ignore these
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DESCRIPTION = 1024


class _Skip(Exception):
    """This operation cannot be called faithfully; the message says why."""


class Operation(BaseModel):
    """One usable operation: its tool name and text, argument schema and HTTP endpoint."""

    name: str
    description: str
    parameters: dict[str, Any]
    endpoint: Endpoint
    pointer: str


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
            f"{doc.origin}: {at}: must be an array of server objects, got {safe_repr(servers)}"
        )
    first, at = servers[0], f"{at}/0"
    if not isinstance(first, dict) or not isinstance(first.get("url", ""), str):
        raise OpenAPIError(f"{doc.origin}: {at}: a server must be an object with a `url` string")
    url = str(first.get("url", ""))
    variables = first.get("variables") or {}
    if not isinstance(variables, dict):
        raise OpenAPIError(
            f"{doc.origin}: {at}/variables: must be an object mapping each "
            f'variable name to {{"default": ...}}, got {safe_repr(variables)}'
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
        self.resolver = RefResolver(doc.data, doc.origin, batch.limits, batch)
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
        shown = safe_repr(wire)
        if location not in ("path", "query", "header"):
            return unsupported(f"{clip(location)} parameter {shown}")
        if "schema" not in param:
            return unsupported(f"{location} parameter {shown} described by `content`")
        style = param.get("style") or ("form" if location == "query" else "simple")
        delimiters = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|", "simple": ","}
        if (
            not isinstance(style, str)
            or style not in delimiters
            or (location != "query" and style != "simple")
        ):
            return unsupported(f"{location} parameter {shown} with style {safe_repr(style)}")
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
            why = f"request body of type {', '.join(clip(m) for m in types)}"
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
    doc: OpenAPIDocument, resolver: RefResolver
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
    resolver = RefResolver(doc.data, doc.origin)
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
    "MAX_DOCUMENT_BYTES",
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
