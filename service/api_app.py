"""``hanlin api``: the Agent Protocol over HTTP, as the LangGraph SDK speaks it.

It keeps no state of its own: threads, runs, the queue and every run's events are in Redis,
so replicas can sit behind one load balancer and a restart loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hanlin.service import routes_assistants, routes_runs, routes_threads
from hanlin.service.api_auth import ApiAuth, AuthPolicy
from hanlin.service.api_context import ApiContext, reply
from hanlin.service.api_errors import EXCEPTION_HANDLERS
from hanlin.service.api_limits import BodyLimit
from hanlin.service.app_registry import AppRunners, ServiceApp
from hanlin.service.keys import ServiceKeys
from hanlin.service.queue import ensure_group
from hanlin.service.run_events import RunEvents
from hanlin.service.store import ServiceStore


@dataclass(frozen=True)
class ApiSettings:
    redis_url: str
    prefix: str = "hanlin"
    max_body_bytes: int = 1024 * 1024
    events_ttl_s: int = 86400
    # Each open stream, wait or join holds a connection for its blocking read; past the limit
    # a request waits for one (up to redis_wait_s) instead of failing at once.
    redis_connections: int = 2048
    redis_wait_s: float = 30.0


async def ok(_request: Request) -> Response:
    return reply({"ok": True})


async def info(_request: Request) -> Response:
    from hanlin import __version__

    return reply({"version": __version__, "flags": {"assistants": True, "crons": False}})


def build_api(app: ServiceApp, settings: ApiSettings, policy: AuthPolicy) -> Starlette:
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        max_connections=settings.redis_connections,
        timeout=settings.redis_wait_s,
    )
    client = Redis(connection_pool=pool)
    keys = ServiceKeys(settings.prefix)
    ctx = ApiContext(
        app=app,
        store=ServiceStore(client, keys, events_ttl_s=settings.events_ttl_s),
        runners=AppRunners(app, settings.redis_url, prefix=settings.prefix),
        events=RunEvents(client, keys),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await ensure_group(client, keys)  # runs queued before any worker starts are kept
        yield
        await client.aclose()
        await pool.aclose()

    api = Starlette(
        routes=[
            Route("/ok", ok, methods=["GET"]),
            Route("/info", info, methods=["GET"]),
            *routes_assistants.ROUTES,
            *routes_threads.ROUTES,
            *routes_runs.ROUTES,
        ],
        middleware=[
            Middleware(ApiAuth, policy=policy),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    api.state.ctx = ctx
    return api


def serve_api(
    app: ServiceApp, settings: ApiSettings, policy: AuthPolicy, *, host: str, port: int
) -> None:
    import uvicorn

    uvicorn.run(
        build_api(app, settings, policy),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
