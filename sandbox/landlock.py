"""Landlock through raw syscalls: file-system (and, where the kernel can, network and signal)
confinement for hosts without user namespaces.

A process that restricts itself can never undo it, and the rules pass to every child, so the
fallback mode applies them between fork and exec of the sandboxed program.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

_SYS_CREATE_RULESET = 444  # x86_64 and every other architecture use the same numbers
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_NET_ALL = 0b11  # bind and connect TCP, ABI 4
_SCOPE_ALL = 0b11  # abstract unix sockets and signals outside the domain, ABI 6

_READ = EXECUTE | READ_FILE | READ_DIR
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI (0 when Landlock is absent or disabled)."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def _fs_rights(abi: int) -> int:
    return _FS_RIGHTS_BY_ABI.get(abi, (1 << 16) - 1)


def _ruleset_attr(abi: int) -> bytes:
    fs = _fs_rights(abi)
    if abi >= 6:
        return struct.pack("=QQQ", fs, _NET_ALL, _SCOPE_ALL)
    if abi >= 4:
        return struct.pack("=QQ", fs, _NET_ALL)
    return struct.pack("=Q", fs)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what} failed: {os.strerror(err)}")
    return result


def build_ruleset(read_paths: Iterable[str], write_paths: Iterable[str]) -> int:
    """A ruleset fd allowing reads under `read_paths` and everything under `write_paths`.

    Everything else handled by the ABI (other files, TCP, signals to outside processes) is
    denied once enforced. Paths that do not exist are skipped. Call before dropping privileges
    (opening a path may need them), enforce after.
    """
    abi = abi_version()
    if abi < 1:
        raise OSError(38, "Landlock is not available on this kernel")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    attr = _ruleset_attr(abi)
    ruleset = _check(
        libc.syscall(_SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), 0), "create_ruleset"
    )
    everything = _fs_rights(abi)
    for paths, rights in ((read_paths, _READ), (write_paths, everything)):
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                allowed = rights if os.path.isdir(path) else rights & _FILE_ONLY & everything
                rule = struct.pack("=Qi", allowed, fd)
                _check(
                    libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0), "add_rule"
                )
            finally:
                os.close(fd)
    return ruleset


def enforce(ruleset_fd: int) -> None:
    """Confine the calling thread (and all it starts) to the ruleset; needs no_new_privs."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    _check(libc.prctl(38, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    _check(libc.syscall(_SYS_RESTRICT_SELF, ruleset_fd, 0), "restrict_self")
    os.close(ruleset_fd)
