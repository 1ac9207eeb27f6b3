"""Isolated execution of untrusted, model-written Python and shell commands.

Default isolation is bubblewrap (namespaces, read-only system, one writable scratch dir,
no network) plus seccomp, rlimits and uid 65534; Landlock + seccomp + rlimits is the
fallback where bwrap cannot run. `check_host()` says which layers this host supports.
"""

from hanlin.sandbox.capabilities import HostReport, check_host, detect_mode
from hanlin.sandbox.config import (
    ExecResult,
    FileInfo,
    KilledReason,
    Limits,
    SandboxError,
    SandboxMode,
)
from hanlin.sandbox.runner import run_program, run_python, run_shell
from hanlin.sandbox.session import SandboxSession

__all__ = [
    "ExecResult",
    "FileInfo",
    "HostReport",
    "KilledReason",
    "Limits",
    "SandboxError",
    "SandboxMode",
    "SandboxSession",
    "check_host",
    "detect_mode",
    "run_program",
    "run_python",
    "run_shell",
]
