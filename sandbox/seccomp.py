"""The seccomp filter every sandboxed process runs under.

Namespaces already hide the network and the host's mounts; the filter is the second wall
that also holds where namespaces are unavailable (Landlock mode) and against kernel attack
surface that namespaces do not remove (bpf, io_uring, keyrings, perf, ...). It is built with
libseccomp (through `pyseccomp`), which also checks the architecture in the filter and kills
any process making syscalls through a foreign ABI (i386, x32), so a 32-bit `socketcall`
cannot slip past the rules below.

Denied calls fail with an errno instead of killing the process, so programs see an ordinary
error ("Operation not permitted") and the tests can tell "blocked" from "crashed".
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
from functools import lru_cache
from types import ModuleType

from hanlin.sandbox.config import SandboxError

# Escape hatches from the sandbox or large kernel attack surface with no use in analysis code.
# fmt: off
DENIED_SYSCALLS: tuple[str, ...] = (
    # looking into or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # changing the file-system view
    "mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick",
    # entering or making namespaces
    "unshare", "setns",
    # large kernel attack surface (io_uring can also open sockets past this filter)
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
    # the machine itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "uselib", "nfsservctl",
)
# fmt: on

# Without namespaces the process group is the only handle the parent has on the whole tree,
# so in Landlock mode nobody may leave it.
DENIED_WITHOUT_NAMESPACES: tuple[str, ...] = ("setsid", "setpgid")

_CLONE_NAMESPACE_FLAGS: tuple[int, ...] = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
_AF_UNIX = 1
_TIOCSTI = 0x5412
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def _pyseccomp() -> ModuleType:
    try:
        import pyseccomp
    except (ImportError, OSError) as exc:  # OSError: libseccomp.so.2 missing
        raise SandboxError(
            "seccomp needs the 'pyseccomp' package and libseccomp2 "
            "(pip install pyseccomp; apt-get install libseccomp2)"
        ) from exc
    return pyseccomp


@lru_cache(maxsize=2)
def filter_program(*, without_namespaces: bool = False) -> bytes:
    """The filter as raw classic-BPF bytes (8 bytes per instruction), built once per process."""
    sc = _pyseccomp()
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    denied = DENIED_SYSCALLS + (DENIED_WITHOUT_NAMESPACES if without_namespaces else ())
    for name in denied:
        if sc.resolve_syscall(sc.system_arch(), name) < 0:
            continue  # older libseccomp without this name; the kernel may lack it as well
        flt.add_rule(sc.ERRNO(errno.EPERM), name)
    # Only local sockets: no inet, inet6, netlink, packet, vsock, alg, bluetooth, ...
    flt.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, _AF_UNIX))
    # New namespaces through clone flags; clone3 passes flags in memory a filter cannot read,
    # so it reports "not implemented" and libc falls back to clone.
    for flag in _CLONE_NAMESPACE_FLAGS:
        flt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        program = out.read()
    if not program or len(program) % 8:
        raise SandboxError(f"libseccomp exported a malformed filter ({len(program)} bytes)")
    return program


def filter_pipe(program: bytes) -> int:
    """A readable pipe holding the program, for `bwrap --seccomp FD`. The caller closes it."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)  # a few KiB: fits the pipe buffer, so this never blocks
    finally:
        os.close(write_fd)
    return read_fd


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(program: bytes) -> None:
    """Load the program into the calling process (and its future children) for good.

    Runs in the child between fork and exec, so it only uses prctl through ctypes.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
