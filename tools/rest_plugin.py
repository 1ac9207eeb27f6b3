"""REST services as tools: every operation of an OpenAPI 3.x document, or one endpoint by hand.

    plugin = RestPlugin.from_openapi("https://api.example.com/openapi.json",
                                     auth=RestAuth(kind="bearer", env="EXAMPLE_TOKEN"))
    agent = Agent(name="a", model=model, tools=plugin.tools)

The tools are ordinary ``Tool``s: the registry validates the model's arguments against the
operation's schema, and an HTTP failure comes back to the model as a clear tool error. The
credentials are added to each request and are never part of a schema, result or message.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel

from hanlin.llm.chat_model import ToolSpec
from hanlin.tools.http_call import (
    CallSettings,
    Endpoint,
    ParamBinding,
    RestAuth,
    RestCallError,
    call_endpoint,
)
from hanlin.tools.json_schema_model import (
    DEFAULT_LIMITS,
    accepts_null,
    args_model_from_schema,
    clean_schema,
)
from hanlin.tools.openapi import (
    MAX_DOCUMENT_BYTES,
    OpenAPIError,
    OpenAPIWarning,
    Operation,
    api_key_name,
    inline_refs,
    load_document,
    read_operations,
    text_field,
)
from hanlin.tools.schema import flat_json_schema
from hanlin.tools.schema_limits import InvalidSchema, SchemaBatch, SchemaLimits, check_size
from hanlin.tools.tool import Tool
from hanlin.tools.toolkit import Toolkit

_NO_BODY_METHODS = {"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"}


class RestTool(Tool):
    """A tool that makes one HTTP call with its validated arguments.

    ``parameters`` is the JSON schema the model sees; when ``None`` it is derived from
    ``args_model``, as for any tool. With ``omit_unset`` (schema-defined tools) arguments the
    model did not give are not sent, so the server applies its own defaults.
    """

    def __init__(
        self,
        *,
        name: str,
        description: str,
        endpoint: Endpoint,
        args_model: type[BaseModel],
        settings: CallSettings,
        auth: RestAuth | None = None,
        parameters: dict[str, Any] | None = None,
        omit_unset: bool = True,
        requires_approval: bool = False,
    ) -> None:
        self.name = name
        self.description = description
        self.Args = args_model
        self.endpoint = endpoint
        self.settings = settings
        self.auth = auth
        self.requires_approval = requires_approval
        self.timeout = settings.budget(endpoint.method)
        self._parameters = parameters
        self._omit_unset = omit_unset
        properties = (parameters or {}).get("properties", {})
        self._nullable = {key for key, schema in properties.items() if accepts_null(schema)}
        self._check_definition()

    @functools.cached_property
    def spec(self) -> ToolSpec:
        self._check_definition()
        parameters = (
            self._parameters if self._parameters is not None else flat_json_schema(self.args_model)
        )
        return ToolSpec(name=self.name, description=self.description, parameters=parameters)

    def arguments(self, args: BaseModel) -> dict[str, Any]:
        """The validated arguments as JSON values under their wire names; ``null`` means absent
        unless the schema gives ``null`` a meaning."""
        dumped = args.model_dump(mode="json", by_alias=True, exclude_unset=self._omit_unset)
        return {
            key: value
            for key, value in dumped.items()
            if value is not None or key in self._nullable
        }

    async def run(self, args: BaseModel) -> Any:
        return await call_endpoint(self.endpoint, self.arguments(args), self.settings, self.auth)

    def __repr__(self) -> str:
        return f"<RestTool {self.name!r}: {self.endpoint.shown()}>"


class RestPlugin:
    """The tools of one REST service, built from its OpenAPI document."""

    def __init__(
        self, tools: Iterable[RestTool], *, title: str = "", description: str = ""
    ) -> None:
        self.tools: list[Tool] = list(tools)
        self.title = title
        self.description = description

    @classmethod
    def from_openapi(
        cls,
        source: str | Path | Mapping[str, Any],
        *,
        base_url: str | None = None,
        auth: RestAuth | None = None,
        include: Iterable[str] | None = None,
        timeout: float = 30,
        max_response_bytes: int = 200_000,
        retries: int = 2,
        retry_post: bool = False,
        backoff: float = 0.5,
        headers: Mapping[str, str] | None = None,
        prefix: str = "",
        document_timeout: float = 30,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        schema_limits: SchemaLimits = DEFAULT_LIMITS,
    ) -> RestPlugin:
        """One tool per operation of the document at ``source`` (path, URL or parsed mapping).

        ``base_url`` overrides the document's ``servers``; ``include`` keeps only the named
        operations; ``timeout`` is per call attempt, while fetching the document from a URL
        has its own ``document_timeout`` (a tight per-call limit should not make loading a
        large or slowly generated document fail); ``retries`` apply to idempotent methods (and to
        POST/PATCH with ``retry_post``); ``prefix`` is put before every tool name.
        A document over ``max_document_bytes`` is refused; an operation whose argument schema
        is malformed or exceeds ``schema_limits`` is skipped with an ``OpenAPIWarning``.
        Raises ``OpenAPIError`` for a document that is broken or has nothing usable.
        """
        doc = load_document(source, timeout=document_timeout, max_bytes=max_document_bytes)
        if auth is not None and auth.kind != "bearer" and auth.name is None:
            named = api_key_name(doc, auth.location)
            if named:
                auth = auth.model_copy(update={"name": named})
        reserved = [(auth.location, auth.parameter)] if auth is not None else []
        if include is not None:  # names with or without the prefix
            include = [n.removeprefix(prefix) if prefix else n for n in include]
        batch = SchemaBatch(schema_limits)
        operations = read_operations(
            doc, base_url=base_url, include=include, reserved=reserved, batch=batch
        )
        settings = CallSettings(
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            retries=retries,
            retry_post=retry_post,
            backoff=backoff,
            headers=dict(headers or {}),
        )
        tools: list[RestTool] = []
        for operation in operations:
            try:
                tools.append(_operation_tool(operation, settings, auth, prefix, batch))
            except InvalidSchema as exc:  # what pydantic refuses beyond clean_schema's checks
                warnings.warn(
                    f"{doc.origin}: operation {operation.name} skipped: its argument "
                    f"schema cannot be validated ({exc})",
                    OpenAPIWarning,
                    stacklevel=2,
                )
        if not tools:
            raise OpenAPIError(f"{doc.origin}: no usable operations")
        info = doc.data.get("info")
        description = text_field(info.get("description")) if isinstance(info, dict) else ""
        return cls(tools, title=doc.title, description=description)

    def toolkit(self, name: str | None = None) -> Toolkit:
        """The tools as a named group; the name defaults to the document's title as a slug."""
        slug = re.sub(r"[^a-z0-9]+", "_", self.title.lower()).strip("_")
        return Toolkit(
            name or slug or "rest", self.tools, description=self.description or self.title
        )

    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def get(self, name: str) -> Tool:
        for found in self.tools:
            if found.name == name:
                return found
        raise KeyError(f"no operation tool named {name!r}; the tools are {self.names()}")

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def __repr__(self) -> str:
        return f"<RestPlugin {self.title!r}: {', '.join(self.names())}>"


def _operation_tool(
    operation: Operation,
    settings: CallSettings,
    auth: RestAuth | None,
    prefix: str,
    batch: SchemaBatch,
) -> RestTool:
    name = (prefix + operation.name)[:64]
    schema = operation.parameters
    model = args_model_from_schema(name, schema["properties"], schema.get("required", []), batch)
    endpoint = operation.endpoint.model_copy(update={"operation": name})
    return RestTool(
        name=name,
        description=operation.description,
        endpoint=endpoint,
        args_model=model,
        settings=settings,
        auth=auth,
        parameters=schema,
    )


def http_tool(
    name: str,
    method: str,
    url: str,
    *,
    description: str,
    params_schema: Mapping[str, Any] | type[BaseModel],
    auth: RestAuth | None = None,
    send_as: Literal["auto", "query", "json", "form"] = "auto",
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
    max_response_bytes: int = 200_000,
    retries: int = 2,
    retry_post: bool = False,
    backoff: float = 0.5,
    requires_approval: bool = False,
    schema_limits: SchemaLimits = DEFAULT_LIMITS,
) -> RestTool:
    """One HTTP endpoint as a tool, defined from Python.

    ``url`` may hold ``{placeholders}``, filled from the argument of that name. The other
    arguments go in the query string (``send_as="auto"`` for GET, HEAD, DELETE, OPTIONS) or
    in a JSON body (``auto`` for POST, PUT, PATCH). ``params_schema`` is a JSON object
    schema or a pydantic model of the arguments.
    """
    method = method.upper()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"http_tool {name!r}: url must be an absolute http(s) URL, got {url!r}")
    path = parsed.path or "/"
    path += f"?{parsed.query}" if parsed.query else ""
    base = f"{parsed.scheme}://{parsed.netloc}"
    if isinstance(params_schema, type) and issubclass(params_schema, BaseModel):
        model, parameters = params_schema, None
        properties = flat_json_schema(params_schema)["properties"]
        required = set(flat_json_schema(params_schema).get("required", []))
    else:
        where = f"http_tool {name!r} params_schema"
        raw = inline_refs(dict(params_schema), where, schema_limits)
        try:
            parameters = clean_schema(raw, "#", schema_limits)
            if parameters.get("type", "object") != "object":
                raise ValueError(f"http_tool {name!r}: params_schema must be an object schema")
            parameters["type"] = "object"
            parameters.setdefault("properties", {})
            parameters["additionalProperties"] = False
            check_size(parameters, schema_limits)
        except InvalidSchema as exc:
            raise ValueError(f"{where}: {exc}") from None
        properties = parameters["properties"]
        required = set(parameters.get("required", []))
        model = args_model_from_schema(name, properties, required)
    placeholders = re.findall(r"\{([^}/]+)\}", path)
    for placeholder in placeholders:
        if placeholder not in properties or placeholder not in required:
            raise ValueError(
                f"http_tool {name!r}: the URL placeholder {{{placeholder}}} needs "
                "a required argument of that name in params_schema"
            )
    where = send_as if send_as != "auto" else ("query" if method in _NO_BODY_METHODS else "json")
    bindings = [
        ParamBinding(
            argument=key,
            location="path" if key in placeholders else "query" if where == "query" else "body",
            name=key,
        )
        for key in properties
    ]
    endpoint = Endpoint(
        operation=name,
        method=method,
        base_url=base,
        path=path,
        bindings=bindings,
        body_media_type=None
        if where == "query"
        else "application/x-www-form-urlencoded"
        if where == "form"
        else "application/json",
    )
    settings = CallSettings(
        timeout=timeout,
        max_response_bytes=max_response_bytes,
        retries=retries,
        retry_post=retry_post,
        backoff=backoff,
        headers=dict(headers or {}),
    )
    return RestTool(
        name=name,
        description=description,
        endpoint=endpoint,
        args_model=model,
        settings=settings,
        auth=auth,
        parameters=parameters,
        omit_unset=parameters is not None,
        requires_approval=requires_approval,
    )


__all__ = [
    "OpenAPIError",
    "OpenAPIWarning",
    "RestAuth",
    "RestCallError",
    "RestPlugin",
    "RestTool",
    "http_tool",
]
