"""Real ``hanlin api`` and ``hanlin worker`` processes for the service tests, serving
``tests/workers/service_app.py`` against the test Redis under a private key prefix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

TESTS = Path(__file__).parent
APP = "workers.service_app:app"


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@dataclass
class Service:
    """A Redis prefix, a folder for the tools' traces, and the processes serving them."""

    redis_url: str
    prefix: str
    workdir: Path
    logs: Path
    lease_s: float = 2.0
    max_attempts: int = 3
    api_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_of: dict[int, Path] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
        env["HANLIN_TEST_SERVICE_DIR"] = str(self.workdir)
        env.pop("HANLIN_API_KEYS", None)
        return env

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        path = self.logs / f"{name}-{len(self.processes)}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hanlin.cli.main", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env or self._env(),
            )
        self.log_of[proc.pid] = path
        self.processes.append(proc)
        return proc

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        return self._spawn(
            "worker",
            [
                "worker",
                "--app",
                APP,
                "--redis-url",
                self.redis_url,
                "--prefix",
                self.prefix,
                "--lease-seconds",
                str(self.lease_s),
                "--max-attempts",
                str(self.max_attempts),
                "--concurrency",
                "2",
                "--log-level",
                "info",
                *extra,
            ],
        )

    def start_api(
        self, port: int, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            "api",
            [
                "api",
                "--app",
                APP,
                "--redis-url",
                self.redis_url,
                "--prefix",
                self.prefix,
                "--port",
                str(port),
                *extra,
            ],
            env={**self._env(), **(env or {})},
        )
        wait_for(lambda: _answers(port) or proc.poll() is not None, "the API to answer", 90)
        assert proc.poll() is None, "the API exited"
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return self.log_of[proc.pid].read_text(errors="replace")

    def wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        wait_for(lambda: "ready" in self.log(proc) or proc.poll() is not None, "a worker", 90)
        assert proc.poll() is None, f"the worker exited: {self.log(proc)}"

    def run_field(self, run_id: str, name: str) -> str | None:
        value = redis.Redis.from_url(self.redis_url).hget(f"{self.prefix}:svc:run:{run_id}", name)
        return None if value is None else value.decode()

    def holder(self, run_id: str) -> subprocess.Popen[bytes]:
        """The worker process that holds the run's lease now."""
        worker = self.run_field(run_id, "worker") or ""
        pid = int(worker.rsplit("-", 2)[1])
        return next(p for p in self.processes if p.pid == pid)

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
