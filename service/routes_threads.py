"""``/threads``: each caller's conversations, with their checkpointed state and history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hanlin.service.api_context import context, owned_thread, parse_body, reply, user_of
from hanlin.service.api_errors import ApiError, not_found
from hanlin.service.api_models import (
    HistoryRequest,
    ThreadCreate,
    ThreadOut,
    ThreadPatch,
    ThreadSearch,
)
from hanlin.service.records import ThreadRecord
from hanlin.service.store import ThreadTaken
from hanlin.service.thread_state import (
    empty_state,
    interrupts_by_task,
    thread_history,
    thread_state,
)


async def state_of(
    request: Request, thread: ThreadRecord, checkpoint_id: str | None = None
) -> dict[str, Any]:
    ctx = context(request)
    assistant = ctx.app.find(thread.assistant_id) if thread.assistant_id else None
    found = None
    if assistant is not None:
        runner = ctx.runners.reader(assistant, thread.config)
        found = await thread_state(
            runner, thread.thread_id, thread.owner, checkpoint_id=checkpoint_id
        )
    elif checkpoint_id is None:
        found = empty_state(thread.thread_id)
    if found is None:
        raise not_found("checkpoint", str(checkpoint_id))
    return found


async def thread_out(request: Request, thread: ThreadRecord) -> dict[str, Any]:
    state = await state_of(request, thread)
    return ThreadOut(
        thread_id=thread.thread_id,
        created_at=thread.created_at,
        updated_at=thread.updated_at,
        metadata=thread.metadata,
        status=thread.status,
        values=state["values"] or None,
        interrupts=interrupts_by_task(state),
    ).model_dump(mode="json")


async def create(request: Request) -> Response:
    body = await parse_body(request, ThreadCreate)
    store, user = context(request).store, user_of(request)
    try:
        thread = await store.create_thread(user, thread_id=body.thread_id, metadata=body.metadata)
    except ThreadTaken as exc:
        existing = await store.get_thread(user, str(exc))
        if body.if_exists == "do_nothing" and existing is not None:
            return reply(await thread_out(request, existing))
        raise ApiError(409, f"thread {str(exc)!r} already exists", code="thread_exists") from exc
    return reply(await thread_out(request, thread))


def _matches(thread: ThreadRecord, query: ThreadSearch) -> bool:
    if query.status and thread.status != query.status:
        return False
    if query.ids is not None and thread.thread_id not in query.ids:
        return False
    return all(thread.metadata.get(k) == v for k, v in (query.metadata or {}).items())


async def _search(request: Request) -> tuple[ThreadSearch, list[ThreadRecord]]:
    query = await parse_body(request, ThreadSearch)
    threads = await context(request).store.list_threads(user_of(request))
    found = [t for t in threads if _matches(t, query)]
    found.sort(key=lambda t: getattr(t, query.sort_by), reverse=query.sort_order == "desc")
    return query, found


async def search(request: Request) -> Response:
    query, found = await _search(request)
    page = found[query.offset : query.offset + query.limit]
    return reply([await thread_out(request, t) for t in page])


async def count(request: Request) -> Response:
    _query, found = await _search(request)
    return reply(len(found))


async def get(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    return reply(await thread_out(request, thread))


async def patch(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    body = await parse_body(request, ThreadPatch)
    updated = await context(request).store.update_thread(thread, metadata=body.metadata)
    return reply(await thread_out(request, updated))


async def delete(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    ctx = context(request)
    await ctx.store.delete_thread(thread.owner, thread.thread_id)
    await ctx.runners.forget_thread(thread.thread_id)
    return Response(status_code=204)


async def state(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    return reply(await state_of(request, thread))


async def state_at(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    return reply(await state_of(request, thread, request.path_params["checkpoint_id"]))


async def history(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    body = await parse_body(request, HistoryRequest)
    ctx = context(request)
    assistant = ctx.app.find(thread.assistant_id) if thread.assistant_id else None
    if assistant is None:
        return reply([])
    before = body.before
    if isinstance(before, dict):
        before = before.get("checkpoint_id")
    runner = ctx.runners.reader(assistant, thread.config)
    states = await thread_history(
        runner, thread.thread_id, thread.owner, limit=body.limit, before=before
    )
    return reply(states)


ROUTES = [
    Route("/threads", create, methods=["POST"]),
    Route("/threads/search", search, methods=["POST"]),
    Route("/threads/count", count, methods=["POST"]),
    Route("/threads/{thread_id}", get, methods=["GET"]),
    Route("/threads/{thread_id}", patch, methods=["PATCH"]),
    Route("/threads/{thread_id}", delete, methods=["DELETE"]),
    Route("/threads/{thread_id}/state", state, methods=["GET"]),
    Route("/threads/{thread_id}/state/{checkpoint_id}", state_at, methods=["GET"]),
    Route("/threads/{thread_id}/history", history, methods=["POST"]),
]
