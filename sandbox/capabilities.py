"""What isolation this host can give, checked by trying it, and the mode that follows.

"bwrap is installed" is not enough (containers often forbid the mounts it needs), so the
check starts a real sandbox running `true`. The result is cached for the process.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache

from pydantic import BaseModel

from hanlin.sandbox import landlock, seccomp
from hanlin.sandbox.bwrap import BWRAP, PRLIMIT, SETPRIV, bwrap_argv, prlimit_argv
from hanlin.sandbox.config import Limits, SandboxError, SandboxMode
from hanlin.sandbox.fallback import fallback_python, reachable_by_sandbox_uid
from hanlin.sandbox.scratch import QuotaKind, Scratch


class HostReport(BaseModel):
    """Which isolation layers work here, and why the chosen mode was chosen."""

    is_root: bool
    bwrap_present: bool
    bwrap_works: bool
    bwrap_error: str | None = None
    user_namespaces: bool
    landlock_abi: int
    seccomp: bool
    seccomp_error: str | None = None
    setpriv_present: bool
    prlimit_present: bool
    landlock_python: str
    landlock_python_reachable: bool
    mode: SandboxMode | None
    scratch_quota: QuotaKind | None = None
    notes: list[str] = []


def _user_namespaces() -> bool:
    try:
        with open("/proc/sys/user/max_user_namespaces") as handle:
            if int(handle.read().strip() or 0) <= 0:
                return False
    except OSError:
        return False
    try:
        with open("/proc/sys/kernel/unprivileged_userns_clone") as handle:  # Debian knob
            return handle.read().strip() == "1" or os.geteuid() == 0
    except OSError:
        return True


def _try_bwrap() -> str | None:
    """None when a full sandbox starts and exits cleanly, else what went wrong."""
    scratch = Scratch()
    read_fd = -1
    try:
        read_fd = seccomp.filter_pipe(seccomp.filter_program())
        argv = prlimit_argv(Limits()) + bwrap_argv(
            ["/usr/bin/true"], scratch=scratch.path, limits=Limits(), seccomp_fd=read_fd
        )
        done = subprocess.run(
            argv, pass_fds=(read_fd,), capture_output=True, timeout=10, env={}, check=False
        )
        if done.returncode != 0:
            return done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        return None
    except (OSError, subprocess.SubprocessError, SandboxError) as exc:
        return str(exc)
    finally:
        if read_fd >= 0:
            os.close(read_fd)
        scratch.remove()


def _scratch_quota() -> tuple[QuotaKind | None, str | None]:
    """How a scratch dir's quota is kept here ("tmpfs" or "watch"), or why none can be made."""
    try:
        scratch = Scratch()
    except (OSError, SandboxError) as exc:
        return None, f"no scratch dir can be made: {exc}"
    scratch.remove()
    return scratch.quota, None


@lru_cache(maxsize=1)
def check_host() -> HostReport:
    """Probe every layer once; later calls return the cached report."""
    notes: list[str] = []
    seccomp_error: str | None = None
    try:
        seccomp.filter_program()
        seccomp.filter_program(without_namespaces=True)
    except SandboxError as exc:
        seccomp_error = str(exc)
    has_seccomp = seccomp_error is None
    bwrap_present = os.access(BWRAP, os.X_OK)
    is_root = os.geteuid() == 0
    tools_present = os.access(PRLIMIT, os.X_OK) and (not is_root or os.access(SETPRIV, os.X_OK))
    bwrap_error: str | None = None
    if not bwrap_present:
        bwrap_error = f"{BWRAP} not found (apt-get install bubblewrap)"
    elif not has_seccomp:
        bwrap_error = "seccomp filter unavailable"
    elif not tools_present:
        bwrap_error = f"{PRLIMIT} or {SETPRIV} missing (util-linux)"
    else:
        bwrap_error = _try_bwrap()
    abi = landlock.abi_version()
    python = fallback_python()
    python_ok = not is_root or reachable_by_sandbox_uid(python)
    mode: SandboxMode | None = None
    if bwrap_error is None:
        mode = SandboxMode.BWRAP
    elif abi >= 1 and has_seccomp:
        mode = SandboxMode.LANDLOCK
        notes.append("bwrap unavailable: falling back to Landlock + seccomp + rlimits")
        if abi < 6:
            notes.append(f"Landlock ABI {abi} < 6: signals to same-uid processes not scoped")
    else:
        notes.append("no isolation layer works here; only UNSAFE_SUBPROCESS can be requested")
    quota, quota_problem = _scratch_quota()
    if quota == "watch":
        notes.append(
            "no tmpfs can be mounted here: the scratch quota is a watch that kills the sandbox "
            "once the folder is over it, not a hard limit"
        )
    elif quota_problem:
        notes.append(quota_problem)
    return HostReport(
        is_root=is_root,
        bwrap_present=bwrap_present,
        bwrap_works=bwrap_error is None,
        bwrap_error=bwrap_error,
        user_namespaces=_user_namespaces(),
        landlock_abi=abi,
        seccomp=has_seccomp,
        seccomp_error=seccomp_error,
        setpriv_present=os.access(SETPRIV, os.X_OK),
        prlimit_present=os.access(PRLIMIT, os.X_OK),
        landlock_python=python,
        landlock_python_reachable=python_ok,
        mode=mode,
        scratch_quota=quota,
        notes=notes,
    )


def detect_mode() -> SandboxMode:
    """The strongest working mode; never the unsafe one, which must be asked for by name."""
    report = check_host()
    if report.mode is None:
        raise SandboxError(
            "no sandbox works on this host: "
            + "; ".join(
                filter(
                    None,
                    [
                        report.bwrap_error,
                        f"landlock ABI {report.landlock_abi}",
                        report.seccomp_error,
                    ],
                )
            )
        )
    return report.mode
