"""The managed Redis Stack server and capability detection, against real redis-server processes."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from hanlin.redis_stack.connection import (
    REDIS_URL_ENV,
    RedisCapabilities,
    RedisUnavailableError,
    describe_missing_modules,
    detect_capabilities,
    resolve_redis_url,
)
from hanlin.redis_stack.install import (
    RedisStackBinaries,
    RedisStackInstallError,
    install_redis_stack,
)
from hanlin.redis_stack.server import (
    RedisPortInUseError,
    RedisServerConfig,
    RedisServerError,
    ensure_redis_server,
    redis_server_status,
    stop_redis_server,
)

pytestmark = pytest.mark.redis
FALLBACK = "checkpoints in hanlin's plain-Redis checkpointer and vector search in-process"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kill_redis(pid: int | None) -> None:
    """SIGKILL ``pid`` if it is still a redis-server process (never a reused pid)."""
    if pid is None:
        return
    try:
        if b"redis-server" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


def pid_of(config: RedisServerConfig) -> int | None:
    try:
        return int((config.data_dir / "redis.pid").read_text())
    except (OSError, ValueError):
        return None


def wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def stack() -> RedisStackBinaries:
    try:
        return install_redis_stack()
    except RedisStackInstallError as error:
        pytest.skip(f"no Redis Stack binaries available: {error}")


@pytest.fixture
def make_config(
    stack: RedisStackBinaries, tmp_path: Path
) -> Iterator[Callable[..., RedisServerConfig]]:
    """Build configs on free ports; every server they start is stopped, or killed, afterwards."""
    configs: list[RedisServerConfig] = []

    def make(**overrides: object) -> RedisServerConfig:
        fields: dict[str, object] = {
            "port": free_port(),
            "data_dir": tmp_path / f"redis-{len(configs)}",
            "stack_dir": stack.root,
        }
        fields.update(overrides)
        config = RedisServerConfig(**fields)
        configs.append(config)
        return config

    yield make
    for config in configs:
        pid = pid_of(config)
        try:
            stop_redis_server(config.model_copy(update={"shutdown_timeout_s": 5}))
        except (RedisServerError, redis.exceptions.RedisError, OSError) as error:
            print(f"stopping the Redis on port {config.port} failed ({error}); killing it")
        kill_redis(pid)


@pytest.fixture
def plain_redis(stack: RedisStackBinaries, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start redis-server processes we own directly (not managed); return their URLs."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*extra: str, port: int | None = None) -> str:
        port = port or free_port()
        data = tmp_path / f"plain-{port}"
        data.mkdir()
        command = [str(stack.redis_server), "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--dir", str(data), "--save", "", "--appendonly", "no", *extra]
        log = data / "out.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        deadline = time.monotonic() + 15
        while "Ready to accept connections" not in log.read_text():
            assert process.poll() is None, f"redis-server failed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"redis-server not ready:\n{log.read_text()}"
            time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    yield start
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def test_ensure_starts_a_loopback_server_with_only_search_and_json(
    make_config: Callable[..., RedisServerConfig],
) -> None:
    config = make_config()

    url = ensure_redis_server(config)

    assert url == f"redis://127.0.0.1:{config.port}/0"
    client = redis.Redis.from_url(url, decode_responses=True)
    assert client.ping() is True
    settings = client.config_get("*")
    assert settings["bind"] == "127.0.0.1"
    assert settings["protected-mode"] == "yes"
    assert settings["appendonly"] == "yes"
    assert settings["appendfsync"] == "everysec"
    assert settings["dir"] == str(config.data_dir.resolve())
    status = redis_server_status(config)
    assert status.running and status.pid == pid_of(config)
    assert sorted(status.modules) == ["ReJSON", "search"]
    assert status.version is not None and status.version.startswith("7.4")
    assert (config.data_dir / "redis.log").read_text().count("Ready to accept connections") == 1


def test_ensure_reuses_the_running_server(make_config: Callable[..., RedisServerConfig]) -> None:
    config = make_config()
    ensure_redis_server(config)
    first_pid = redis_server_status(config).pid

    assert ensure_redis_server(config) == config.url
    assert redis_server_status(config).pid == first_pid


def test_data_survives_kill_9_thanks_to_the_aof(
    make_config: Callable[..., RedisServerConfig],
) -> None:
    config = make_config(appendfsync="always")
    client = redis.Redis.from_url(ensure_redis_server(config), decode_responses=True)
    for index in range(200):
        client.set(f"key:{index}", f"value-{index}")
    client.execute_command("JSON.SET", "doc", "$", '{"name": "hanlin"}')
    old_pid = redis_server_status(config).pid
    assert old_pid is not None

    os.kill(old_pid, signal.SIGKILL)
    assert wait_gone(old_pid)
    assert not redis_server_status(config).running

    client = redis.Redis.from_url(ensure_redis_server(config), decode_responses=True)
    assert redis_server_status(config).pid not in (None, old_pid)
    assert client.dbsize() == 201
    assert client.get("key:199") == "value-199"
    assert client.execute_command("JSON.GET", "doc", "$.name") == '["hanlin"]'


def test_processes_calling_ensure_at_once_share_one_server(
    make_config: Callable[..., RedisServerConfig],
) -> None:
    config = make_config()
    script = (
        "import sys\n"
        "from hanlin.redis_stack.server import *\n"
        "config = RedisServerConfig.model_validate_json(sys.argv[1])\n"
        "ensure_redis_server(config)\n"
        "print(redis_server_status(config).pid)\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, config.model_dump_json()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [worker.communicate(timeout=60) for worker in workers]

    assert all(worker.returncode == 0 for worker in workers), outputs
    pids = {int(stdout.strip()) for stdout, _ in outputs}
    assert pids == {pid_of(config)}
    assert (config.data_dir / "redis.log").read_text().count("Ready to accept connections") == 1
    # The server was started by short-lived processes and outlives all of them.
    assert redis.Redis(port=config.port).ping() is True


def test_stop_shuts_down_cleanly(make_config: Callable[..., RedisServerConfig]) -> None:
    config = make_config()
    client = redis.Redis.from_url(ensure_redis_server(config))
    client.set("kept", "yes")
    pid = redis_server_status(config).pid
    assert pid is not None

    assert stop_redis_server(config) is True

    assert wait_gone(pid, timeout_s=0.1), "stop returned before the process exited"
    log = (config.data_dir / "redis.log").read_text()
    assert "ready to exit, bye bye" in log
    assert "Calling fsync() on the AOF file" in log
    status = redis_server_status(config)
    assert (status.running, status.pid, status.modules) == (False, None, [])
    assert stop_redis_server(config) is False

    ensure_redis_server(config)
    assert redis.Redis.from_url(config.url).get("kept") == b"yes"


def test_port_held_by_another_program_is_a_clear_error(
    make_config: Callable[..., RedisServerConfig],
) -> None:
    listener = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler
    )
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        config = make_config(port=listener.server_address[1])

        with pytest.raises(RedisPortInUseError) as raised:
            ensure_redis_server(config)

        message = str(raised.value)
        assert f"port {config.port}" in message
        assert "does not speak Redis" in message
        assert "Choose another port" in message
        status = redis_server_status(config)
        assert not status.running and status.problem == message
        assert not (config.data_dir / "redis.pid").exists()
    finally:
        listener.shutdown()
        listener.server_close()


def test_port_held_by_a_foreign_redis_is_a_clear_error(
    make_config: Callable[..., RedisServerConfig], plain_redis: Callable[..., str]
) -> None:
    port = free_port()
    plain_redis(port=port)
    config = make_config(port=port)

    with pytest.raises(RedisPortInUseError, match=f"port {port} .* data folder .*plain-{port}"):
        ensure_redis_server(config)
    with pytest.raises(RedisPortInUseError):
        stop_redis_server(config)
    assert redis.Redis(port=port).ping() is True


def test_a_server_that_dies_at_startup_reports_its_log(
    stack: RedisStackBinaries, make_config: Callable[..., RedisServerConfig], tmp_path: Path
) -> None:
    broken = tmp_path / "broken-stack"
    (broken / "bin").mkdir(parents=True)
    (broken / "lib").mkdir()
    (broken / "bin" / "redis-server").symlink_to(stack.redis_server)
    (broken / "lib" / "rejson.so").symlink_to(stack.json_module)
    (broken / "lib" / "redisearch.so").write_bytes(b"not a shared object")
    config = make_config(stack_dir=broken, startup_timeout_s=10)

    with pytest.raises(RedisServerError) as raised:
        ensure_redis_server(config)

    message = str(raised.value)
    assert "Log tail" in message and "redisearch.so" in message
    assert "Module" in message


def test_capabilities_of_the_managed_server(
    make_config: Callable[..., RedisServerConfig],
) -> None:
    url = ensure_redis_server(make_config())

    caps = detect_capabilities(url)

    assert caps.has_search and caps.has_json
    assert sorted(caps.modules) == ["ReJSON", "search"]
    assert caps.version.startswith("7.4")
    assert describe_missing_modules(url, caps, FALLBACK) == ""


def test_capabilities_of_a_server_without_modules(plain_redis: Callable[..., str]) -> None:
    url = plain_redis()

    caps = detect_capabilities(url)

    assert caps == RedisCapabilities(
        version=caps.version, has_search=False, has_json=False, modules=[]
    )
    message = describe_missing_modules(url, caps, FALLBACK)
    assert url in message
    assert f"hanlin will use {FALLBACK} instead" in message
    assert "search module" in message and "JSON module" in message


def test_capabilities_when_module_and_info_commands_are_forbidden(
    stack: RedisStackBinaries, plain_redis: Callable[..., str]
) -> None:
    # Like hosted services: modules loaded, but MODULE and INFO denied by the ACL.
    url = plain_redis(
        "--loadmodule", str(stack.search_module),
        "--loadmodule", str(stack.json_module),
        "--user", "default", "on", "nopass", "~*", "&*", "+@all", "-module", "-info",
    )  # fmt: skip
    with pytest.raises(redis.exceptions.NoPermissionError):
        redis.Redis.from_url(url).execute_command("MODULE", "LIST")

    caps = detect_capabilities(url)

    assert (caps.has_search, caps.has_json, caps.modules) == (True, True, [])
    assert caps.version == "unknown"


def test_only_json_missing_names_only_json(
    stack: RedisStackBinaries, plain_redis: Callable[..., str]
) -> None:
    url = plain_redis("--loadmodule", str(stack.search_module))

    caps = detect_capabilities(url)

    assert (caps.has_search, caps.has_json) == (True, False)
    message = describe_missing_modules(url, caps, FALLBACK)
    assert "JSON module" in message and "search module" not in message


def test_unreachable_server_names_the_url_and_hides_the_password() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"

    with pytest.raises(RedisUnavailableError) as raised:
        detect_capabilities(url, timeout_s=1)

    message = str(raised.value)
    assert "s3cret" not in message
    assert "redis://:***@127.0.0.1:" in message
    assert "Check that the server is running" in message and REDIS_URL_ENV in message


def test_explicit_or_environment_url_wins(
    make_config: Callable[..., RedisServerConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config()
    monkeypatch.setenv(REDIS_URL_ENV, "redis://cache.internal:6379/2")

    assert resolve_redis_url("rediss://db.example:6380/0", config) == "rediss://db.example:6380/0"
    assert resolve_redis_url(None, config) == "redis://cache.internal:6379/2"
    assert not redis_server_status(config).running
    with pytest.raises(ValueError, match="must start with redis://"):
        resolve_redis_url("http://localhost:6379", config)


def test_without_a_url_the_managed_server_is_started(
    make_config: Callable[..., RedisServerConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    config = make_config()

    url = resolve_redis_url(None, config)

    assert url == config.url
    assert redis.Redis.from_url(url).ping() is True


def test_config_rejects_bad_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    with pytest.raises(ValueError):
        RedisServerConfig(port=70000, data_dir=tmp_path)
    with pytest.raises(ValueError):
        RedisServerConfig(data_dir=tmp_path, appendfsync="sometimes")  # type: ignore[arg-type]
    assert RedisServerConfig().data_dir == Path.home() / ".local/share/hanlin/redis"
