"""A ``serve`` process around a slow, logging model (``workers/serve_ticker.py``) for tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests_support import free_port

WORKER = Path(__file__).parent / "workers" / "serve_ticker.py"


@dataclass
class Ticker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    errors: Path

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def count(self, line: str) -> int:
        return self.lines().count(line)

    def health(self) -> dict[str, object]:
        return httpx.get(f"{self.url}/health", timeout=5).json()


@contextmanager
def ticker_server(
    folder: Path, limits: dict[str, object], pause: float = 0.1, env: dict[str, str] | None = None
) -> Iterator[Ticker]:
    port = free_port()
    log, errors = folder / f"ticker-{port}.log", folder / f"ticker-{port}.err"
    log.touch()
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(port), str(log), json.dumps(limits), str(pause)],
            stdout=stderr,
            stderr=stderr,
            env=env,
        )
    server = Ticker(f"http://127.0.0.1:{port}", process, log, errors)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, errors.read_text()
            try:
                httpx.get(f"{server.url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def post_quietly(url: str, body: dict[str, object]) -> None:
    """A request whose outcome does not matter (the server may be stopped under it)."""
    try:
        httpx.post(url, json=body, timeout=60)
    except httpx.HTTPError:
        pass


def chat(tag: str, words: int = 3, **extra: object) -> dict[str, object]:
    return {
        "model": "ticker",
        "messages": [{"role": "user", "content": tag}],
        "max_tokens": words,
        **extra,
    }
