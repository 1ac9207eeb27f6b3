"""``/threads/{id}/runs`` and ``/runs``: queue a run, stream or join it, wait for it, cancel it.

The API only enqueues; workers execute. A stream is read from the run's Redis stream, so it
survives an API restart (the SDK reconnects to ``Location`` with ``Last-Event-ID``) and any
replica can serve it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hanlin.service.api_context import (
    context,
    find_assistant,
    owned_thread,
    parse_body,
    reply,
    user_of,
)
from hanlin.service.api_errors import ApiError, not_found
from hanlin.service.api_models import RunCreate, RunOut
from hanlin.service.app_registry import AssistantConfigError
from hanlin.service.inputs import RunInputError, check_run_request
from hanlin.service.records import RunKwargs, RunRecord, ThreadRecord
from hanlin.service.run_events import ENTRY_ID
from hanlin.service.store import ThreadTaken
from hanlin.service.thread_state import thread_state


def run_out(run: RunRecord) -> dict[str, Any]:
    return RunOut(
        run_id=run.run_id,
        thread_id=run.thread_id,
        assistant_id=run.assistant_id,
        created_at=run.created_at,
        updated_at=run.updated_at,
        status=run.status,
        metadata=run.metadata,
        multitask_strategy=run.multitask_strategy,
        request=run.request.model_dump(mode="json"),
        attempt=run.attempts,
        error=run.error,
    ).model_dump(mode="json", by_alias=True)


def run_path(run: RunRecord) -> str:
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


async def _thread_for_run(request: Request, thread_id: str | None, body: RunCreate) -> ThreadRecord:
    store, user = context(request).store, user_of(request)
    if thread_id is not None:
        thread = await store.get_thread(user, thread_id)
        if thread is not None:
            return thread
        if body.if_not_exists != "create":
            raise not_found("thread", thread_id)
    try:
        return await store.create_thread(user, thread_id=thread_id)
    except ThreadTaken as exc:
        raise not_found("thread", str(exc)) from exc


async def submit(request: Request, thread_id: str | None) -> tuple[RunRecord, RunCreate]:
    body = await parse_body(request, RunCreate)
    assistant = find_assistant(request, body.assistant_id)
    try:
        check_run_request(body.input, body.command)
        assistant.check_config(body.config)
    except (RunInputError, AssistantConfigError) as exc:
        raise ApiError(422, str(exc), code="invalid_run") from exc
    thread = await _thread_for_run(request, thread_id, body)
    store = context(request).store
    run_request = RunKwargs(
        input=body.input, command=body.command, stream_mode=body.stream_mode, config=body.config
    )
    outcome, run = await store.submit_run(
        thread,
        assistant_id=assistant.name,
        request=run_request,
        metadata=body.metadata,
        strategy=body.multitask_strategy,
    )
    if outcome == "missing":
        raise not_found("thread", thread.thread_id)
    if outcome == "busy":
        raise ApiError(
            409,
            f"thread {thread.thread_id!r} is busy with another run; use "
            "multitask_strategy='enqueue' to run after it, or 'interrupt' to cancel it",
            code="thread_busy",
        )
    config = dict(body.config or {}) if assistant.config_schema is not None else None
    if thread.assistant_id != assistant.name or (config is not None and config != thread.config):
        meta = {"graph_id": assistant.name, "assistant_id": assistant.assistant_id}
        await store.update_thread(thread, metadata=meta, assistant_id=assistant.name, config=config)
    return run, body


async def final_values(request: Request, run: RunRecord) -> dict[str, Any]:
    """What ``join`` and ``wait`` answer: the thread's values (with pending interrupts), or
    ``__error__`` when the run failed."""
    ctx = context(request)
    fresh = await ctx.store.get_run(run.owner, run.thread_id, run.run_id) or run
    if fresh.status in ("error", "timeout"):
        return {"__error__": {"error": fresh.error_kind or "RunError", "message": fresh.error}}
    assistant = ctx.app.find(fresh.assistant_id)
    state = None
    if assistant is not None:
        runner = ctx.runners.reader(assistant, fresh.request.config)
        state = await thread_state(runner, run.thread_id, run.owner)
    if state is None:
        return {}
    values = dict(state["values"])
    if state["interrupts"]:
        values["__interrupt__"] = state["interrupts"]
    return values


def event_stream(
    request: Request,
    run: RunRecord,
    *,
    after: str | None,
    modes: Collection[str] | None,
    cancel_on_disconnect: bool,
) -> StreamingResponse:
    ctx = context(request)

    async def frames() -> AsyncIterator[bytes]:
        ended = False
        try:
            async for frame in ctx.events.follow(run.run_id, after=after, modes=modes):
                yield frame
            ended = True
        finally:
            if cancel_on_disconnect and not ended:
                with contextlib.suppress(Exception):
                    await asyncio.shield(ctx.store.cancel_run(run.run_id))

    headers = {
        "Location": f"{run_path(run)}/stream",
        "Content-Location": run_path(run),
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    }
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


async def create(request: Request) -> Response:
    run, _body = await submit(request, request.path_params.get("thread_id"))
    return reply(run_out(run), headers={"Content-Location": run_path(run)})


async def create_stream(request: Request) -> Response:
    run, body = await submit(request, request.path_params.get("thread_id"))
    return event_stream(
        request,
        run,
        after=None,
        modes=None,
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


async def create_wait(request: Request) -> Response:
    run, _body = await submit(request, request.path_params.get("thread_id"))
    await context(request).events.wait_end(run.run_id)
    headers = {"Location": f"{run_path(run)}/join", "Content-Location": run_path(run)}
    return reply(await final_values(request, run), headers=headers)


async def owned_run(request: Request) -> RunRecord:
    thread = await owned_thread(request, request.path_params["thread_id"])
    run_id = request.path_params["run_id"]
    run = await context(request).store.get_run(thread.owner, thread.thread_id, run_id)
    if run is None:
        raise not_found("run", run_id)
    return run


async def list_runs(request: Request) -> Response:
    thread = await owned_thread(request, request.path_params["thread_id"])
    params = request.query_params
    try:
        limit, offset = int(params.get("limit", 10)), int(params.get("offset", 0))
    except ValueError as exc:
        raise ApiError(422, "limit and offset must be integers") from exc
    if not (1 <= limit <= 1000 and offset >= 0):
        raise ApiError(422, "limit must be 1..1000 and offset >= 0")
    runs = await context(request).store.list_runs(
        thread.owner,
        thread.thread_id,
        limit=limit,
        offset=offset,
        status=params.get("status"),
    )
    return reply([run_out(r) for r in runs])


async def get(request: Request) -> Response:
    return reply(run_out(await owned_run(request)))


async def delete(request: Request) -> Response:
    run = await owned_run(request)
    if not run.is_final:
        raise ApiError(
            409, f"run {run.run_id!r} is {run.status}; cancel it first", code="run_active"
        )
    await context(request).store.delete_run(run)
    return Response(status_code=204)


async def cancel(request: Request) -> Response:
    run = await owned_run(request)
    action = request.query_params.get("action", "interrupt")
    if action != "interrupt":
        raise ApiError(422, f"cancel action {action!r} is not supported; use 'interrupt'")
    ctx = context(request)
    await ctx.store.cancel_run(run.run_id)
    if request.query_params.get("wait") in ("1", "true", "True"):
        await ctx.events.wait_end(run.run_id)
    return Response(status_code=202)


async def join(request: Request) -> Response:
    run = await owned_run(request)
    await context(request).events.wait_end(run.run_id)
    return reply(await final_values(request, run))


async def join_stream(request: Request) -> Response:
    run = await owned_run(request)
    after = request.headers.get("last-event-id") or None
    if after is not None and not ENTRY_ID.match(after):
        raise ApiError(422, f"Last-Event-ID {after!r} is not an event id of this run")
    modes = [m for m in request.query_params.getlist("stream_mode") if m]
    cancel_on_disconnect = request.query_params.get("cancel_on_disconnect") in ("1", "true")
    return event_stream(
        request,
        run,
        after=after,
        modes=modes or None,
        cancel_on_disconnect=cancel_on_disconnect,
    )


ROUTES = [
    Route("/threads/{thread_id}/runs", create, methods=["POST"]),
    Route("/threads/{thread_id}/runs", list_runs, methods=["GET"]),
    Route("/threads/{thread_id}/runs/stream", create_stream, methods=["POST"]),
    Route("/threads/{thread_id}/runs/wait", create_wait, methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}", get, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", delete, methods=["DELETE"]),
    Route("/threads/{thread_id}/runs/{run_id}/cancel", cancel, methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}/join", join, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/stream", join_stream, methods=["GET"]),
    Route("/runs", create, methods=["POST"]),
    Route("/runs/stream", create_stream, methods=["POST"]),
    Route("/runs/wait", create_wait, methods=["POST"]),
]
