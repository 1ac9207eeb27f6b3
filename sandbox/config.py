"""The vocabulary of the sandbox: isolation modes, resource limits and execution results.

Kept free of any process logic so callers (tools, the runtime) can build limits and read
results without importing the machinery that enforces them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SANDBOX_UID = 65534  # "nobody": owns no files, so a sandboxed process can only touch its scratch
SANDBOX_GID = 65534

KilledReason = Literal["timeout", "memory", "output_limit", "cpu", "signal", "disk"]


class SandboxMode(StrEnum):
    """How untrusted code is isolated, strongest first."""

    BWRAP = "bwrap"  # namespaces + read-only system + seccomp + rlimits + uid 65534
    LANDLOCK = "landlock"  # Landlock file rules + seccomp + rlimits + uid 65534, no namespaces
    # No isolation at all: only rlimits, a clean environment and a scratch working directory.
    # Never chosen automatically; a caller must ask for it by name.
    UNSAFE_SUBPROCESS = "unsafe_subprocess"


class Limits(BaseModel):
    """Resource ceilings for one execution (or one session cell)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(10.0, gt=0, le=3600, description="Wall-clock limit, parent-side.")
    cpu_s: int = Field(10, ge=1, le=3600, description="CPU seconds (RLIMIT_CPU).")
    memory_mb: int = Field(512, ge=64, le=65536, description="Address space (RLIMIT_AS).")
    file_size_mb: int = Field(
        64, ge=1, le=65536, description="Largest file written (RLIMIT_FSIZE)."
    )
    open_files: int = Field(256, ge=16, le=65536, description="Descriptors (RLIMIT_NOFILE).")
    processes: int = Field(
        64,
        ge=4,
        le=4096,
        description="Tasks of the sandbox uid (RLIMIT_NPROC). The kernel counts this per uid, so "
        "every sandbox running at the same time shares the budget.",
    )
    output_bytes: int = Field(
        1_000_000, ge=1024, le=64_000_000, description="Cap on stdout and on stderr, each."
    )
    tmp_mb: int = Field(64, ge=1, le=65536, description="Size of the private /tmp (bwrap mode).")
    scratch_mb: int = Field(
        256,
        ge=1,
        le=65536,
        description="Quota of the scratch dir, all files together (a run's, or a whole "
        "session's). A tmpfs where the host may mount: past it, writes fail with ENOSPC.",
    )
    scratch_files: int = Field(
        10_000,
        ge=16,
        le=10_000_000,
        description="Most files, folders and links in the scratch dir (and, separately, in "
        "the private /tmp where it is a host tmpfs).",
    )


class FileInfo(BaseModel):
    """A regular file left in the scratch directory, path relative to it."""

    path: str
    size: int


class ExecResult(BaseModel):
    """What one execution produced, and why it stopped if it did not finish on its own."""

    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    exit_code: int | None = Field(
        None, description="Exit status; 128+N when the program died from signal N."
    )
    killed_reason: KilledReason | None = None
    duration_s: float = 0.0
    files: list[FileInfo] = Field(default_factory=list)
    mode: SandboxMode
    session_restarted: bool = Field(
        False, description="A session's sandbox was killed and started afresh: state was lost."
    )

    @property
    def truncated(self) -> bool:
        return self.stdout_truncated or self.stderr_truncated

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.killed_reason is None


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up (not a failure of the code it runs)."""
