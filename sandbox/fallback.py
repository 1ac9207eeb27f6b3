"""Confinement applied in the child between fork and exec, for hosts without namespaces.

Order matters: limits first; the Landlock ruleset is built while still root (opening the
allowed paths may need it); then groups, gid, uid are dropped; then Landlock and seccomp are
enforced, which both need no_new_privs and can never be lifted by the program.
"""

from __future__ import annotations

import os
import resource
import stat
import sys
from collections.abc import Callable, Sequence

from hanlin.sandbox import landlock, seccomp
from hanlin.sandbox.bwrap import python_roots
from hanlin.sandbox.config import SANDBOX_GID, SANDBOX_UID, Limits

SYSTEM_READ_PATHS: tuple[str, ...] = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/lib32",
    "/etc/ld.so.cache",
    "/etc/alternatives",
    "/etc/localtime",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
)
DEVICE_WRITE_PATHS: tuple[str, ...] = ("/dev/null",)
DEBIAN_PYTHON = "/usr/bin/python3"


def apply_rlimits(limits: Limits, *, cpu: bool = True) -> None:
    """Soft and hard limits in the calling process; the program may lower, never raise them."""
    mib = 1024 * 1024
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def reachable_by_sandbox_uid(path: str) -> bool:
    """Whether uid 65534 could open `path`: every directory above it must be world-searchable."""
    real = os.path.realpath(path)
    if not os.path.exists(real):
        return False
    directory = os.path.dirname(real)
    while True:
        if not os.stat(directory).st_mode & stat.S_IXOTH:
            return False
        if directory == "/":
            return True
        directory = os.path.dirname(directory)


def fallback_python() -> str:
    """An interpreter the sandbox uid can start without namespaces to bind one in.

    The running interpreter when its path is world-searchable, else the system Python.
    """
    if os.geteuid() != 0 or reachable_by_sandbox_uid(sys.executable):
        return sys.executable
    return DEBIAN_PYTHON


def read_paths() -> list[str]:
    return [*SYSTEM_READ_PATHS, *python_roots()]


def landlock_preexec(
    limits: Limits,
    scratch: str,
    *,
    cpu: bool = True,
    extra_read: Sequence[str] = (),
    extra_write: Sequence[str] = (),
) -> Callable[[], None]:
    """A `preexec_fn` confining the child to read system dirs and write only `scratch`
    (and `extra_write`, such as its private temporary folder)."""
    program = seccomp.filter_program(without_namespaces=True)  # built here, not after fork
    readable = [*read_paths(), *extra_read]
    writable = [scratch, *extra_write, *DEVICE_WRITE_PATHS]
    drop_uid = os.geteuid() == 0

    def confine() -> None:
        apply_rlimits(limits, cpu=cpu)
        ruleset = landlock.build_ruleset(readable, writable)
        if drop_uid:
            os.setgroups([])
            os.setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID)
            os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        landlock.enforce(ruleset)
        seccomp.install_filter(program)

    return confine


def unsafe_preexec(limits: Limits, *, cpu: bool = True) -> Callable[[], None]:
    """Only resource limits: for the explicit opt-in mode without isolation."""

    def limit() -> None:
        apply_rlimits(limits, cpu=cpu)

    return limit
