"""The bubblewrap command line: which parts of the host a sandboxed program can see.

Layout inside: read-only /usr (with the /bin, /lib, ... links), the Python installation and
its site-packages read-only at their host paths, a fresh /proc, a minimal /dev, a private
size-limited /tmp, and the scratch directory read-write at /sandbox (both host tmpfs mounts
with a size and inode quota where the host may mount, see ``scratch.py``). Nothing else of the host
file system, no network, an empty environment.

Why bwrap runs as root and the program as uid 65534 (and not `--uid` in a user namespace):
bwrap maps the sandbox uid onto the *caller's* uid. Called by root, the program would be
kernel uid 0: it would own every root-owned file that is bound in, and RLIMIT_NPROC is never
enforced for uid 0, so a fork bomb would go unchecked. Dropping to 65534 before bwrap does
not work either: uid 65534 cannot traverse the directories holding the Python installation
(here under /root) to bind them. So root's bwrap builds the mounts without a user namespace,
keeps only CAP_SETUID/CAP_SETGID/CAP_SETPCAP, and `setpriv` (already under seccomp and
no_new_privs) switches to 65534, clears groups, capabilities and the bounding set, and execs
the program. The program then is a real unprivileged uid: file permissions apply, the
process limit applies, and it has no capabilities anywhere.

Without root (a developer's machine), bwrap creates a user namespace itself, nested user
namespaces are disabled, and the program runs as the caller's uid seen as 65534 inside.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Sequence

from hanlin.sandbox.config import SANDBOX_GID, SANDBOX_UID, Limits

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"
SCRATCH_INSIDE = "/sandbox"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
_TOP_LEVEL_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Small, secret-free parts of /etc that programs expect: the dynamic loader cache and the
# Debian alternatives links (awk, editor, ...). Users and groups stay out.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")


def python_roots() -> list[str]:
    """Host directories that make up the running Python: installation, venv, site-packages."""
    candidates = [sys.base_prefix, sys.prefix, *site.getsitepackages()]
    candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    # Both spellings: the interpreter is started under its unresolved name.
    paths = {os.path.abspath(p) for p in candidates} | {os.path.realpath(p) for p in candidates}
    roots: list[str] = []
    for path in sorted(p for p in paths if os.path.isdir(p)):
        if path == "/usr" or path.startswith("/usr/"):
            continue  # bound already
        if not any(path == r or path.startswith(r + "/") for r in roots):
            roots.append(path)
    return roots


def prlimit_argv(limits: Limits, *, cpu: bool = True) -> list[str]:
    """`prlimit` setting soft and hard limits (a program may lower but never raise them)."""
    mib = 1024 * 1024
    cpu_limit = f"{limits.cpu_s}:{limits.cpu_s + 1}" if cpu else "unlimited"
    return [
        PRLIMIT,
        f"--cpu={cpu_limit}",  # SIGXCPU at the soft limit, SIGKILL one second later
        f"--as={limits.memory_mb * mib}",
        f"--fsize={limits.file_size_mb * mib}",
        f"--nofile={limits.open_files}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _TOP_LEVEL_LINKS:
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    args += ["--perms", "0755", "--dir", "/etc"]
    for path in _ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def _python_binds() -> list[str]:
    """Binds for the running Python. They come after the private ``/tmp`` is mounted, so a
    virtual environment that lives under the host's ``/tmp`` is still visible."""
    args: list[str] = []
    made: set[str] = {"/", "/tmp"}
    for root in python_roots():
        parents: list[str] = []
        parent = os.path.dirname(root)
        while parent not in made:
            parents.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(parents):
            # Directories bwrap creates on its own are 0700 root: unreadable to uid 65534.
            args += ["--perms", "0755", "--dir", directory]
            made.add(directory)
        args += ["--ro-bind", root, root]
        made.add(root)
    return args


def bwrap_argv(
    program: Sequence[str],
    *,
    scratch: str,
    limits: Limits,
    seccomp_fd: int,
    privileged: bool | None = None,
    tmp: str | None = None,
) -> list[str]:
    """Full command line: rlimits, bwrap with its mounts, privilege drop, then `program`.

    ``tmp``: a host tmpfs (size- and inode-limited) to bind as ``/tmp``; without one, bwrap
    mounts a tmpfs of ``limits.tmp_mb`` (whose inode count bwrap cannot limit)."""
    if privileged is None:
        privileged = os.geteuid() == 0
    args = [BWRAP]
    if privileged:
        # Every namespace but the user one; see the module docstring.
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        args += ["--unshare-cgroup-try"]
    else:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
        args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
    args += ["--die-with-parent", "--new-session"]
    args += _system_binds()
    if tmp is None:
        args += ["--perms", "1777", "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    else:
        args += ["--bind", tmp, "/tmp"]
    args += _python_binds()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--bind", scratch, SCRATCH_INSIDE, "--chdir", SCRATCH_INSIDE]
    args += ["--cap-drop", "ALL"]
    if privileged:
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
            args += ["--cap-add", cap]
    args += ["--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", SCRATCH_INSIDE]
    args += ["--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp"]
    args += ["--seccomp", str(seccomp_fd), "--"]
    if privileged:
        args += [
            SETPRIV,
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_GID}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    return args + list(program)
