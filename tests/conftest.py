"""Shared fixtures: a real Redis Stack server managed by hanlin, on a private port and folder."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests_support import free_port

from hanlin.redis_stack.install import install_redis_stack
from hanlin.redis_stack.server import RedisServerConfig, ensure_redis_server, stop_redis_server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerConfig]:
    """One managed Redis Stack (search + JSON, AOF fsync always) for the whole test session."""
    config = RedisServerConfig(
        port=free_port(), data_dir=Path(tmp_path_factory.mktemp("redis-data")), appendfsync="always"
    )
    ensure_redis_server(config)
    yield config
    stop_redis_server(config)


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServerConfig) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def plain_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server with no modules loaded, as many hosted services are, on a free port."""
    binaries = install_redis_stack(None)
    data_dir = Path(tmp_path_factory.mktemp("plain-redis"))
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(binaries.redis_server),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--appendonly",
            "no",
            "--save",
            "",
            "--daemonize",
            "no",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        with redis.Redis.from_url(url) as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"redis-server did not start: {(data_dir / 'server.log').read_text()}"
                        ) from None
                    time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
