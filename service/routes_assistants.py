"""``/assistants``: the registered agents and teams (read-only: they are registered in code)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hanlin.llm.messages import Message
from hanlin.service.api_context import context, find_assistant, parse_body, reply
from hanlin.service.api_models import AssistantOut, AssistantSearch
from hanlin.service.app_registry import Assistant

_MESSAGES_SCHEMA = TypeAdapter(list[Message]).json_schema()
INPUT_SCHEMA: dict[str, Any] = {
    "title": "Input",
    "type": "object",
    "properties": {"messages": {**_MESSAGES_SCHEMA, "maxItems": 1, "minItems": 1}},
    "required": ["messages"],
}
STATE_SCHEMA: dict[str, Any] = {
    "title": "State",
    "type": "object",
    "properties": {
        "messages": _MESSAGES_SCHEMA,
        "final_answer": {"type": ["string", "null"]},
        "steps": {"type": "integer"},
    },
}


def assistant_out(assistant: Assistant) -> AssistantOut:
    return AssistantOut(
        assistant_id=assistant.assistant_id,
        graph_id=assistant.name,
        name=assistant.name,
        description=assistant.description,
        metadata=assistant.metadata,
        created_at=assistant.created_at,
        updated_at=assistant.created_at,
    )


def _matches(assistant: Assistant, query: AssistantSearch) -> bool:
    if query.graph_id and query.graph_id != assistant.name:
        return False
    if query.name and query.name.lower() not in assistant.name.lower():
        return False
    return all(assistant.metadata.get(k) == v for k, v in (query.metadata or {}).items())


async def search(request: Request) -> Response:
    query = await parse_body(request, AssistantSearch)
    found = [a for a in context(request).app.assistants() if _matches(a, query)]
    page = found[query.offset : query.offset + query.limit]
    return reply([assistant_out(a).model_dump(mode="json") for a in page])


async def count(request: Request) -> Response:
    query = await parse_body(request, AssistantSearch)
    return reply(sum(_matches(a, query) for a in context(request).app.assistants()))


async def get(request: Request) -> Response:
    assistant = find_assistant(request, request.path_params["assistant_id"])
    return reply(assistant_out(assistant).model_dump(mode="json"))


async def graph(request: Request) -> Response:
    assistant = find_assistant(request, request.path_params["assistant_id"])
    runner = context(request).runners.reader(assistant)
    return reply(runner.graph.get_graph().to_json())


async def schemas(request: Request) -> Response:
    assistant = find_assistant(request, request.path_params["assistant_id"])
    return reply(
        {
            "graph_id": assistant.name,
            "input_schema": INPUT_SCHEMA,
            "output_schema": STATE_SCHEMA,
            "state_schema": STATE_SCHEMA,
            "config_schema": (
                assistant.config_schema.model_json_schema() if assistant.config_schema else None
            ),
            "context_schema": None,
        }
    )


async def subgraphs(request: Request) -> Response:
    find_assistant(request, request.path_params["assistant_id"])
    return reply({})


ROUTES = [
    Route("/assistants/search", search, methods=["POST"]),
    Route("/assistants/count", count, methods=["POST"]),
    Route("/assistants/{assistant_id}", get, methods=["GET"]),
    Route("/assistants/{assistant_id}/graph", graph, methods=["GET"]),
    Route("/assistants/{assistant_id}/schemas", schemas, methods=["GET"]),
    Route("/assistants/{assistant_id}/subgraphs", subgraphs, methods=["GET"]),
]
