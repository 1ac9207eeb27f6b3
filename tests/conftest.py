"""Shared fixtures: a real Redis Stack server managed by hanlin, on a private port and folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests_support import free_port

from hanlin.runtime.redis_server import RedisServerConfig, ensure_redis_server, stop_redis_server


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
