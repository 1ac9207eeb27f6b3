"""``hanlin api`` and one worker inside another program's process (the chat's one command).

The API listens on a loopback port the system picks, behind a front-end key made at start
(so other local users cannot call it, and the program can act for its own users); the
worker executes runs on its own event loop. Both use the same Redis as standalone ones would,
so more workers on other machines can join, and a restart loses no run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from hanlin.service.api_app import ApiSettings, build_api
from hanlin.service.api_auth import AuthPolicy
from hanlin.service.app_registry import ServiceApp
from hanlin.service.worker import Worker, WorkerSettings

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
FRONTEND_NAME = "embedded"


@dataclass(frozen=True)
class EmbeddedSettings:
    redis_url: str
    prefix: str = "hanlin"
    concurrency: int = 4
    lease_s: float = 10.0
    max_body_mb: int = 64  # the chat sends uploads inline
    start_timeout_s: float = 30.0


class EmbeddedService:
    """Start with ``start()``; ``url`` and ``api_key`` are then what a client needs."""

    def __init__(self, app: ServiceApp, settings: EmbeddedSettings) -> None:
        self.app = app
        self.settings = settings
        self.api_key = secrets.token_urlsafe(32)
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._threads: list[threading.Thread] = []
        self._worker_loop: asyncio.AbstractEventLoop | None = None
        self._worker_task: asyncio.Task[None] | None = None

    def start(self) -> EmbeddedService:
        import uvicorn

        settings = self.settings
        api = build_api(
            self.app,
            ApiSettings(
                redis_url=settings.redis_url,
                prefix=settings.prefix,
                max_body_bytes=settings.max_body_mb * 1024 * 1024,
            ),
            AuthPolicy({}, frontend_keys={self.api_key: FRONTEND_NAME}),
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(api, log_level="warning", timeout_graceful_shutdown=2)
        )
        self._server = server
        self._spawn("hanlin-api", lambda: server.run(sockets=[sock]))
        self._spawn("hanlin-worker", self._run_worker)
        self._wait_ready()
        return self

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_worker(self) -> None:
        settings = self.settings
        worker = Worker(
            self.app,
            WorkerSettings(
                redis_url=settings.redis_url,
                prefix=settings.prefix,
                lease_s=settings.lease_s,
                concurrency=settings.concurrency,
            ),
        )

        async def main() -> None:
            self._worker_loop = asyncio.get_running_loop()
            self._worker_task = asyncio.current_task()
            await worker.serve()

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ok", timeout=1.0).status_code == 200:
                    return
            if not all(t.is_alive() for t in self._threads):
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the embedded service did not start at {self.url}")

    def stop(self) -> None:
        """Stop both; runs in progress go back to the queue for the next start."""
        if self._server is not None:
            self._server.should_exit = True
        loop, task = self._worker_loop, self._worker_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
