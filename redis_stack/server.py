"""Start, stop and inspect the Redis Stack server hanlin runs for itself when none is configured.

The server listens on 127.0.0.1 only, keeps its data in one folder with AOF persistence, and
is daemonized, so it outlives the process that started it and is shared by every hanlin
process on the machine. Starting is serialized with an ``flock`` on a file in the data folder,
and a server counts as ours only when its ``dir`` is that folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import redis
from pydantic import BaseModel, Field
from redis.backoff import NoBackoff
from redis.retry import Retry

from hanlin.redis_stack.install import RedisStackBinaries, install_redis_stack

LOOPBACK_HOST = "127.0.0.1"
DEFAULT_PORT = 6390
_LOCK_FILE = "server.lock"
_CONFIG_FILE = "redis.conf"
_PID_FILE = "redis.pid"
_LOG_FILE = "redis.log"
_STARTUP_LOG_FILE = "startup.log"
_POLL_INTERVAL_S = 0.05


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/hanlin/redis``, i.e. ``~/.local/share/hanlin/redis`` by default."""
    data_home = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home).expanduser() if data_home else Path.home() / ".local" / "share"
    return base / "hanlin" / "redis"


class RedisServerError(RuntimeError):
    """The managed Redis server could not be started, stopped or reached."""


class RedisPortInUseError(RedisServerError):
    """The configured port answers, but not as hanlin's server for this data folder."""


class RedisServerConfig(BaseModel):
    """How the managed server runs: its port, data folder, binaries and AOF fsync policy."""

    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    stack_dir: Path | None = None
    appendfsync: Literal["always", "everysec", "no"] = "everysec"
    startup_timeout_s: float = Field(default=30.0, gt=0)
    shutdown_timeout_s: float = Field(default=30.0, gt=0)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK_HOST}:{self.port}/0"

    @property
    def resolved_data_dir(self) -> Path:
        return Path(os.path.realpath(self.data_dir.expanduser()))


class RedisServerStatus(BaseModel):
    """What ``hanlin redis status`` reports."""

    running: bool
    pid: int | None
    port: int
    url: str
    data_dir: Path
    version: str | None
    modules: list[str]
    problem: str | None = None


class _Probe(BaseModel):
    """What answers on the port: nothing, our server, or something else."""

    state: Literal["free", "ours", "foreign"]
    pid: int | None = None
    version: str | None = None
    modules: list[str] = []
    loading: bool = False
    detail: str = ""


def ensure_redis_server(config: RedisServerConfig) -> str:
    """Return the URL of the managed server, starting it first if nothing answers on the port.

    Safe to call from many processes at once: the check-then-start runs under an exclusive
    lock, so exactly one of them starts the server and the others find it running.
    """
    data_dir = _prepare_data_dir(config)
    with _exclusive_lock(data_dir / _LOCK_FILE, timeout_s=config.startup_timeout_s + 30):
        probe = _probe(config)
        if probe.state == "foreign":
            raise RedisPortInUseError(_port_in_use_message(config, probe.detail))
        if probe.state == "ours" and not probe.loading:
            return config.url
        if probe.state == "free":
            binaries = install_redis_stack(config.stack_dir)
            _launch(config, binaries)
        _wait_until_ready(config)
    return config.url


def stop_redis_server(config: RedisServerConfig) -> bool:
    """Shut the managed server down cleanly; return False if it was not running.

    ``SHUTDOWN`` makes Redis fsync the AOF before exiting; this waits until the process is gone
    so a following start cannot race the old one for the port or the files.
    """
    data_dir = _prepare_data_dir(config)
    with _exclusive_lock(data_dir / _LOCK_FILE, timeout_s=config.shutdown_timeout_s + 30):
        probe = _probe(config)
        if probe.state == "free":
            return False
        if probe.state == "foreign":
            raise RedisPortInUseError(_port_in_use_message(config, probe.detail))
        client = _client(config.port, timeout_s=config.shutdown_timeout_s)
        try:
            client.shutdown()
        except redis.exceptions.ResponseError as error:
            raise RedisServerError(
                f"Redis on port {config.port} refused to shut down: {error}. "
                f"See {data_dir / _LOG_FILE}."
            ) from error
        finally:
            client.close()
        if probe.pid is not None and not _wait_for_exit(probe.pid, config.shutdown_timeout_s):
            raise RedisServerError(
                f"Redis (pid {probe.pid}) was told to shut down but is still running after "
                f"{config.shutdown_timeout_s:.0f}s. Log tail:\n{_log_tail(data_dir)}"
            )
        return True


def redis_server_status(config: RedisServerConfig) -> RedisServerStatus:
    """Describe the managed server without starting or changing anything."""
    probe = _probe(config)
    problem = _port_in_use_message(config, probe.detail) if probe.state == "foreign" else None
    return RedisServerStatus(
        running=probe.state == "ours",
        pid=probe.pid if probe.state == "ours" else None,
        port=config.port,
        url=config.url,
        data_dir=config.resolved_data_dir,
        version=probe.version if probe.state == "ours" else None,
        modules=probe.modules if probe.state == "ours" else [],
        problem=problem,
    )


def render_server_config(config: RedisServerConfig, binaries: RedisStackBinaries) -> str:
    """The ``redis.conf`` text: loopback only, AOF on, and only the search and JSON modules."""
    data_dir = config.resolved_data_dir
    lines = [
        f"bind {LOOPBACK_HOST}",
        f"port {config.port}",
        "protected-mode yes",
        "daemonize yes",
        f"pidfile {_quote(data_dir / _PID_FILE)}",
        f"logfile {_quote(data_dir / _LOG_FILE)}",
        f"dir {_quote(data_dir)}",
        "appendonly yes",
        f"appendfsync {config.appendfsync}",
        f"loadmodule {_quote(binaries.search_module)}",
        f"loadmodule {_quote(binaries.json_module)}",
    ]
    return "\n".join(lines) + "\n"


def _prepare_data_dir(config: RedisServerConfig) -> Path:
    data_dir = config.data_dir.expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise RedisServerError(
            f"cannot create the Redis data folder {data_dir}: {error}"
        ) from error
    return config.resolved_data_dir


@contextmanager
def _exclusive_lock(path: Path, *, timeout_s: float) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on ``path``; give up with a clear error after ``timeout_s``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RedisServerError(
                        f"another process has held {path} for over {timeout_s:.0f}s while "
                        "starting or stopping Redis; check for a stuck hanlin process"
                    ) from None
                time.sleep(_POLL_INTERVAL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _client(port: int, *, timeout_s: float = 2.0) -> redis.Redis:
    return redis.Redis(
        host=LOOPBACK_HOST,
        port=port,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # a probe must answer now, not after backoff
    )


def _port_is_free(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK_HOST, port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True
    except OSError as error:
        return error.errno in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL)


def _probe(config: RedisServerConfig) -> _Probe:
    if _port_is_free(config.port):
        return _Probe(state="free")
    client = _client(config.port)
    try:
        server_dir = client.config_get("dir").get("dir")
        if not server_dir:
            return _Probe(state="foreign", detail="a Redis server that hides its data folder")
        if os.path.realpath(server_dir) != str(config.resolved_data_dir):
            return _Probe(state="foreign", detail=f"a Redis server with data folder {server_dir}")
        info = client.info("server")
        modules = [entry["name"] for entry in client.info("modules").get("modules", [])]
        loading = False
        try:
            client.ping()
        except redis.exceptions.BusyLoadingError:
            loading = True
        return _Probe(
            state="ours",
            pid=int(info["process_id"]),
            version=str(info.get("redis_version")),
            modules=modules,
            loading=loading,
        )
    except redis.exceptions.AuthenticationError:
        return _Probe(state="foreign", detail="a Redis server that requires a password")
    except redis.exceptions.ResponseError as error:
        return _Probe(state="foreign", detail=f"a server that answered {str(error)[:120]!r}")
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
        return _Probe(state="foreign", detail=f"a program that does not speak Redis ({error})")
    finally:
        client.close()


def _launch(config: RedisServerConfig, binaries: RedisStackBinaries) -> None:
    data_dir = config.resolved_data_dir
    config_path = data_dir / _CONFIG_FILE
    config_path.write_text(render_server_config(config, binaries), encoding="utf-8")
    (data_dir / _PID_FILE).unlink(missing_ok=True)  # a stale one from a killed server misleads
    startup_log = data_dir / _STARTUP_LOG_FILE
    with open(startup_log, "wb") as log:
        try:
            completed = subprocess.run(
                [str(binaries.redis_server), str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,
                timeout=config.startup_timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RedisServerError(f"could not run {binaries.redis_server}: {error}") from error
    if completed.returncode != 0:
        raise RedisServerError(
            f"{binaries.redis_server} exited with status {completed.returncode} before "
            f"daemonizing:\n{_tail(startup_log)}\n{_log_tail(data_dir)}"
        )


def _wait_until_ready(config: RedisServerConfig) -> None:
    """Poll until our server answers PING; fail early if it dies, with the log tail."""
    data_dir = config.resolved_data_dir
    deadline = time.monotonic() + config.startup_timeout_s
    while time.monotonic() < deadline:
        probe = _probe(config)
        if probe.state == "ours" and not probe.loading:
            return
        if probe.state == "foreign":
            raise RedisPortInUseError(_port_in_use_message(config, probe.detail))
        pid = _read_pid(data_dir / _PID_FILE)
        if probe.state == "free" and pid is not None and not _pid_alive(pid):
            raise RedisServerError(
                f"Redis (pid {pid}) exited during startup on port {config.port}. "
                f"Log tail ({data_dir / _LOG_FILE}):\n{_log_tail(data_dir)}"
            )
        time.sleep(_POLL_INTERVAL_S)
    raise RedisServerError(
        f"Redis did not answer PING on {config.url} within {config.startup_timeout_s:.0f}s. "
        f"Log tail ({data_dir / _LOG_FILE}):\n{_log_tail(data_dir)}"
    )


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(_POLL_INTERVAL_S)
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie waiting for its parent counts as exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _port_in_use_message(config: RedisServerConfig, detail: str) -> str:
    return (
        f"port {config.port} on {LOOPBACK_HOST} is already used by {detail}, not by hanlin's "
        f"Redis for {config.resolved_data_dir}. Choose another port for hanlin's Redis "
        "(redis.port in the settings, or HANLIN_REDIS__PORT=6391 for example), stop the other "
        "program, or set HANLIN_REDIS_URL to use that server instead."
    )


def _log_tail(data_dir: Path, lines: int = 20) -> str:
    return _tail(data_dir / _LOG_FILE, lines)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"  ({path} is missing)"
    return "\n".join("  " + line for line in text.strip().splitlines()[-lines:]) or "  (empty)"


def _quote(path: Path) -> str:
    """Quote a path for redis.conf, whose parser understands C-style escapes in double quotes."""
    text = str(path)
    if any(ord(char) < 0x20 for char in text):
        raise RedisServerError(f"path {text!r} contains control characters")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
