"""An OpenAI-compatible HTTP server around any hanlin ``ChatModel`` (``hanlin serve``).

Any OpenAI client, SDK or tool can then drive a hanlin model: the embedded local model, a
scripted model in tests, or a backend that itself fronts another server. Requests are read
by ``wire``, bounded by ``limits`` and authenticated by ``access``; this module answers them
(in the shapes of ``completion_shapes``), streams server-sent events and keeps failures of one
request, or a client that goes away, from touching the others; ``shutdown`` ends what is in
flight when the server stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hanlin.llm.chat_model import (
    ChatModel,
    ChatOptions,
    Completed,
    ModelError,
    StreamItem,
    TextDelta,
    ToolSpec,
)
from hanlin.llm.messages import Message
from hanlin.serving.access import BearerAuth, KeyRing, check_exposure, is_authorized
from hanlin.serving.completion_shapes import (
    ChunkWriter,
    completion_body,
    error_response,
    finish_reason,
    model_failure,
    validation_message,
    wire_tool_calls,
)
from hanlin.serving.limits import (
    Admission,
    BodyTimeout,
    BodyTooLarge,
    Busy,
    ClientGone,
    ServerLimits,
    Slot,
    nesting_exceeds,
    read_body,
)
from hanlin.serving.shutdown import Stoppable
from hanlin.serving.wire import (
    AttachmentStore,
    ChatCompletionRequest,
    WireError,
    to_chat_options,
    to_hanlin_messages,
    to_hanlin_tools,
)

logger = logging.getLogger(__name__)


CLIENT_CLOSED_REQUEST = 499


class _Refused(Exception):
    """A request answered before it reaches a model."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Prepared:
    """A validated request, converted into what the model takes."""

    def __init__(
        self,
        request: ChatCompletionRequest,
        model: ChatModel,
        messages: list[Message],
        tools: list[ToolSpec],
        options: ChatOptions,
        store: AttachmentStore,
    ) -> None:
        self.request, self.model, self.store = request, model, store
        self.messages, self.tools, self.options = messages, tools, options


async def _read_payload(http_request: Request, limits: ServerLimits) -> Any:
    """The JSON body, within the size, time and nesting limits."""
    try:
        body = await read_body(http_request.receive, http_request.headers, limits)
    except BodyTooLarge as exc:
        raise _Refused(
            error_response(
                413,
                f"{exc}; this server takes at most {limits.max_body_bytes} bytes per request",
                code="request_too_large",
                headers=None if exc.complete else {"Connection": "close"},
            )
        ) from None
    except BodyTimeout as exc:
        raise _Refused(
            error_response(408, str(exc), code="request_timeout", headers={"Connection": "close"})
        ) from None
    except ClientGone:
        raise _Refused(Response(status_code=CLIENT_CLOSED_REQUEST)) from None
    # Parsing and walking megabytes of JSON takes a while: keep it off the event loop.
    return await run_in_threadpool(_parse_json, body, limits.max_json_depth)


def _parse_json(body: bytes, max_depth: int) -> Any:
    too_deep = _Refused(
        error_response(
            400,
            f"the request body nests arrays and objects deeper than {max_depth} levels",
            code="too_deeply_nested",
        )
    )
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Refused(error_response(400, f"the request body is not valid JSON: {exc}")) from None
    except RecursionError:
        raise too_deep from None
    if nesting_exceeds(payload, max_depth):
        raise too_deep
    return payload


def _convert(
    request: ChatCompletionRequest, store: AttachmentStore
) -> tuple[list[Message], list[ToolSpec], ChatOptions]:
    return (
        to_hanlin_messages(request.messages, store),
        to_hanlin_tools(request),
        to_chat_options(request),
    )


async def _prepare(
    http_request: Request, models: Mapping[str, ChatModel], limits: ServerLimits
) -> _Prepared | Response:
    try:
        payload = await _read_payload(http_request, limits)
    except _Refused as refused:
        return refused.response
    try:
        request = await run_in_threadpool(ChatCompletionRequest.model_validate, payload)
    except ValidationError as exc:
        message, param = validation_message(exc)
        return error_response(400, message, param=param)
    model = models.get(request.model)
    if model is None:
        return error_response(
            404,
            f"The model {request.model!r} does not exist. Available models: "
            f"{', '.join(sorted(models)) or 'none'}.",
            param="model",
            code="model_not_found",
        )
    store = AttachmentStore()
    try:
        # Decoding inline files and checking schemas is blocking work: keep it off the loop.
        messages, tools, options = await run_in_threadpool(_convert, request, store)
    except WireError as exc:
        store.cleanup()
        return error_response(400, exc.message, param=exc.param)
    except BaseException:
        store.cleanup()
        raise
    return _Prepared(request, model, messages, tools, options, store)


def _busy_response(exc: Busy) -> JSONResponse:
    code = "rate_limit_exceeded" if exc.status == 429 else "server_busy"
    return error_response(
        exc.status,
        exc.message,
        type_=code,
        code=code,
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _answer(prepared: _Prepared, admission: Admission, limits: ServerLimits) -> Response:
    """Wait for a slot, then run the request; a streamed answer takes the slot along."""
    try:
        slot = await admission.acquire()
    except Busy as exc:
        return _busy_response(exc)
    if prepared.request.stream:
        return await _stream(prepared, slot, limits)
    try:
        return await _complete(prepared)
    finally:
        slot.release()


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has closed the connection (the body is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _unless_client_leaves(http_request: Request, work: Awaitable[Response]) -> Response:
    """Run ``work`` while watching the connection. A client that hangs up cancels it, so the
    model stops generating for nobody and a request waiting for a slot leaves the line."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(http_request.receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            # Let the work release its slot and stop the model before going on.
            await asyncio.wait({task})
    if task.cancelled():
        logger.info("the client left; its request was cancelled")
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    return task.result()


async def _complete(prepared: _Prepared) -> Response:
    request = prepared.request
    try:
        result = await prepared.model.chat(
            prepared.messages, tools=prepared.tools, options=prepared.options
        )
    except Exception as exc:  # noqa: BLE001 - any model failure becomes an error response
        return model_failure(request.model, exc)
    finally:
        prepared.store.cleanup()
    body = completion_body(
        result,
        model=request.model,
        completion_id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
    )
    return JSONResponse(body)


async def _aclose(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()


class _Stalled(Exception):
    """The client stopped reading a stream."""


class _GuardedStream(StreamingResponse):
    """Server-sent events that release what their request holds (slot, model stream, inline
    files) however the response ends: finished, client gone, client no longer reading for
    ``stall_s`` (a half-open connection would otherwise hold the slot forever), or the
    server stopping; also when it never starts."""

    def __init__(
        self, events: AsyncIterator[str], release: Callable[[], Awaitable[None]], stall_s: float
    ) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._events, self._release, self._stall_s = events, release, stall_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_while_read(message: Any) -> None:
            try:
                async with asyncio.timeout(self._stall_s):
                    await send(message)
            except TimeoutError:
                raise _Stalled() from None

        try:
            await super().__call__(scope, receive, send_while_read)
        except _Stalled:
            logger.warning(
                "a client read nothing of its stream for %gs; dropping it", self._stall_s
            )
        finally:
            await _aclose(self._events)
            await self._release()


async def _stream(prepared: _Prepared, slot: Slot, limits: ServerLimits) -> Response:
    """Stream a completion; failures before the first item still get a proper status code."""
    request = prepared.request
    items = prepared.model.stream(prepared.messages, tools=prepared.tools, options=prepared.options)

    async def release() -> None:
        try:
            await _aclose(items)
        finally:
            prepared.store.cleanup()
            slot.release()

    try:
        first = await items.__anext__()
    except StopAsyncIteration:
        await release()
        return model_failure(request.model, ModelError("the stream ended without a result"))
    except Exception as exc:  # noqa: BLE001
        await release()
        return model_failure(request.model, exc)
    except BaseException:  # cancelled: the client left or the server is stopping
        await release()
        raise
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    events = _events(first, items, ChunkWriter(request.model), include_usage)
    return _GuardedStream(events, release, limits.stream_stall_s)


async def _events(
    first: StreamItem, source: AsyncIterator[StreamItem], writer: ChunkWriter, include_usage: bool
) -> AsyncIterator[str]:
    try:
        yield writer.delta({"role": "assistant", "content": ""})
        item = first
        while not isinstance(item, Completed):
            if isinstance(item, TextDelta) and item.text:
                yield writer.delta({"content": item.text})
            try:
                item = await source.__anext__()
            except StopAsyncIteration:
                raise ModelError("the stream ended without a result") from None
        result = item.result
        if result.message.tool_calls:
            calls = [{"index": i, **call} for i, call in enumerate(wire_tool_calls(result))]
            yield writer.delta({"tool_calls": calls})
        yield writer.delta({}, finish_reason=finish_reason(result))
        if include_usage:
            yield writer.usage(result)
        yield writer.done()
    except Exception as exc:  # the status line is sent; report in-band
        error_type = "model_error" if isinstance(exc, ModelError) else "server_error"
        logger.warning(
            "model %s failed while streaming: %s",
            writer.model,
            exc,
            exc_info=not isinstance(exc, ModelError),
        )
        yield writer.error(f"model {writer.model!r} failed while streaming: {exc}", error_type)


async def _chat_completion(
    http_request: Request,
    models: Mapping[str, ChatModel],
    limits: ServerLimits,
    admission: Admission,
) -> Response:
    prepared = await _prepare(http_request, models, limits)
    if isinstance(prepared, Response):
        return prepared
    try:
        response = await _unless_client_leaves(http_request, _answer(prepared, admission, limits))
    except BaseException:
        prepared.store.cleanup()
        raise
    if not isinstance(response, _GuardedStream):  # a stream removes its files at its end
        prepared.store.cleanup()
    return response


# --- the app ------------------------------------------------------------------------------


def _model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "hanlin"}


def create_app(
    models: Mapping[str, ChatModel],
    *,
    limits: ServerLimits | None = None,
    api_keys: Sequence[str] = (),
) -> ASGIApp:
    """The ASGI app serving ``models`` under their mapping keys, OpenAI-style.

    With ``api_keys``, every route but ``/health`` needs ``Authorization: Bearer <key>``.
    """
    if not models:
        raise ValueError("create_app needs at least one model to serve")
    served = dict(models)
    started = int(time.time())
    limits = limits or ServerLimits()
    keys = KeyRing(api_keys)
    admission = Admission(limits)

    async def list_models(_: Request) -> Response:
        data = [_model_card(name, started) for name in served]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(request: Request) -> Response:
        name = request.path_params["model"]
        if name not in served:
            return error_response(
                404,
                f"The model {name!r} does not exist. Available "
                f"models: {', '.join(sorted(served))}.",
                param="model",
                code="model_not_found",
            )
        return JSONResponse(_model_card(name, started))

    async def chat_completions(request: Request) -> Response:
        return await _chat_completion(request, served, limits, admission)

    async def health(request: Request) -> Response:
        """Open to all: whether the server is up and how loaded; model names need a key."""
        body: dict[str, Any] = {
            "status": "ok",
            "active": admission.active,
            "waiting": admission.waiting,
        }
        if is_authorized(request.scope, keys):
            body["models"] = list(served)
        return JSONResponse(body)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail))

    async def unexpected_error(_: Request, exc: Exception) -> Response:
        return error_response(
            500,
            f"internal error: {type(exc).__name__}: {exc}",
            type_="server_error",
            code="internal_error",
        )

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    handlers = {HTTPException: http_error, Exception: unexpected_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return Stoppable(BearerAuth(app, keys, limits) if keys else app)


def uvicorn_config(app: ASGIApp, limits: ServerLimits, **kwargs: Any) -> Any:
    """uvicorn settings every server of ``app`` shares: on SIGTERM, requests still running
    after ``shutdown_grace_s`` are cancelled (which stops their generation) rather than
    awaited; connections beyond ``max_connections`` get 503."""
    import uvicorn

    return uvicorn.Config(
        app,
        timeout_graceful_shutdown=math.ceil(limits.shutdown_grace_s),
        limit_concurrency=limits.max_connections,
        **kwargs,
    )


def serve(
    models: Mapping[str, ChatModel],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    log_level: str = "info",
    limits: ServerLimits | None = None,
    api_keys: Sequence[str] = (),
    allow_no_auth: bool = False,
) -> None:
    """Serve ``models`` until interrupted (SIGINT/SIGTERM stop it within the grace period).

    A host that binds beyond loopback needs ``api_keys`` unless ``allow_no_auth``.
    """
    check_exposure(host, api_keys, allow_no_auth=allow_no_auth)
    limits = limits or ServerLimits()
    app = create_app(models, limits=limits, api_keys=api_keys)
    config = uvicorn_config(app, limits, host=host, port=port, log_level=log_level)
    _stopping_server(config, app).run()


def _stopping_server(config: Any, app: ASGIApp) -> Any:
    """A uvicorn server that, once told to exit, first ends what a ``Stoppable`` app runs."""
    import uvicorn

    class StoppingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if isinstance(app, Stoppable):
                app.stop()
            await super().shutdown(sockets)

    return StoppingServer(config)


class BackgroundServer:
    """Runs an ASGI app with uvicorn on a daemon thread, for embedding in a process and tests.

    ``port=0`` picks a free port; the socket is bound before the thread starts, so ``url`` is
    valid immediately and no other process can take the port in between.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        limits: ServerLimits | None = None,
    ) -> None:
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP; without it every keep-alive response waits ~40 ms on delayed ACKs.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn_config(app, limits or ServerLimits(), log_level=log_level)
        self._server = _stopping_server(config, app)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start within {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
