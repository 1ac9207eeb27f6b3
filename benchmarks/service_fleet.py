"""The processes ``service.py`` measures: the model server, one ``hanlin api``, ``hanlin
worker``s. Each is started by pid and stopped by pid (SIGTERM, then SIGKILL), on failure too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import redis
from service_app import MODEL_URL_ENV

from hanlin.service.keys import QUEUE_GROUP, ServiceKeys

HERE = Path(__file__).parent
APP = "service_app:app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Fleet:
    """Every process started for one benchmark run, with a log file each."""

    redis_url: str
    prefix: str
    logs: Path
    model_url: str = ""
    api_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis_pid_file: Path | None = None
    roles: dict[int, str] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        env[MODEL_URL_ENV] = self.model_url
        env.pop("HANLIN_API_KEYS", None)
        return env

    def _spawn(self, name: str, role: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self._env())
        self.processes.append(proc)
        self.roles[proc.pid] = role
        return proc

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]

    def _alive(self, proc: subprocess.Popen[bytes], name: str) -> None:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_of(name)}")

    def start_model(self, delay: float) -> None:
        port = free_port()
        script = str(HERE / "service_app.py")
        proc = self._spawn(
            "model", "model", [sys.executable, script, "--port", str(port), "--delay", str(delay)]
        )
        self.model_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(f"{self.model_url}/health") or proc.poll() is not None, "model")
        self._alive(proc, "model")

    def start_api(self, name: str = "api", redis_url: str | None = None) -> str:
        """An API process (the first one is ``api_url``); its URL."""
        port = free_port()
        proc = self._spawn(
            name,
            "api",
            [sys.executable, "-m", "hanlin.cli.main", "api", "--app", APP, "--port", str(port)]
            + ["--redis-url", redis_url or self.redis_url, "--prefix", self.prefix],
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(f"{url}/ok") or proc.poll() is not None, f"the API {name}")
        self._alive(proc, name)
        self.api_url = self.api_url or url
        return url

    def start_workers(self, count: int, *, lease_s: float, concurrency: int) -> list[str]:
        """Start ``count`` workers and wait until each reads the queue; their ids."""
        started = []
        for _ in range(count):
            worker_id = f"bench-w{len(self.processes)}"
            self.workers[worker_id] = self._spawn(
                worker_id,
                "worker",
                [sys.executable, "-m", "hanlin.cli.main", "worker", "--app", APP]
                + ["--redis-url", self.redis_url, "--prefix", self.prefix]
                + ["--lease-seconds", str(lease_s), "--concurrency", str(concurrency)]
                + ["--worker-id", worker_id, "--log-level", "warning"],
            )
            started.append(worker_id)
        for worker_id in started:
            proc = self.workers[worker_id]
            wait_for(partial(self._reading, worker_id, proc), f"worker {worker_id}")
            self._alive(proc, worker_id)
        return started

    def _reading(self, worker_id: str, proc: subprocess.Popen[bytes]) -> bool:
        """The worker reads the queue (or is gone, which the caller reports)."""
        return worker_id in self.consumers() or proc.poll() is not None

    def consumers(self) -> set[str]:
        """Workers that have read the queue (the group's consumers)."""
        keys = ServiceKeys(self.prefix)
        with redis.Redis.from_url(self.redis_url, decode_responses=True) as client:
            try:
                found = client.xinfo_consumers(keys.queue, QUEUE_GROUP)
            except redis.ResponseError:  # no stream or group yet
                return set()
        return {str(c["name"]) for c in found}

    def cpu_seconds(self) -> dict[int, tuple[str, float]]:
        """CPU time (user + system) so far of each live process started here and of Redis,
        with its role (``api``, ``worker``, ``model``, ``redis``), by pid."""
        roles = {p.pid: self.roles[p.pid] for p in self.processes if p.poll() is None}
        if self.redis_pid_file is not None and self.redis_pid_file.exists():
            roles[int(self.redis_pid_file.read_text().strip())] = "redis"
        return {
            pid: (role, used) for pid, role in roles.items() if (used := _cpu_of(pid)) is not None
        }

    def live_workers(self) -> list[str]:
        return [w for w, p in self.workers.items() if p.poll() is None]

    def kill9(self, worker_id: str) -> None:
        proc = self.workers[worker_id]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_workers(self) -> None:
        """SIGTERM: each hands its unfinished runs back, then exits."""
        live = [self.workers[w] for w in self.live_workers()]
        for proc in live:
            os.kill(proc.pid, signal.SIGTERM)
        for proc in live:
            _reap(proc)

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            _reap(proc)


def _cpu_of(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
