"""Size- and inode-limited tmpfs mounts made by the host, where the host may mount.

A scratch directory that is its own tmpfs has a hard quota: past ``size`` bytes or
``nr_inodes`` files and folders, writes inside fail with ENOSPC, and nothing reaches the
host's disk. Mounting it on the host (not only inside the sandbox) keeps its files visible to
the host's tools, and alive across a session's sandbox restarts. Unmounting frees all of it
at once, however deep or large the tree inside is.

Needs CAP_SYS_ADMIN in the host's mount namespace (root on a server or in a container that
may run bubblewrap); ``mount`` fails with EPERM elsewhere and callers fall back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MNT_DETACH = 0x2
_UMOUNT_NOFOLLOW = 0x8

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def mount_tmpfs(path: str, *, size_bytes: int, inodes: int, mode: int, uid: int, gid: int) -> None:
    """Mount a fresh tmpfs on ``path`` (an empty directory the caller just made)."""
    options = f"size={size_bytes},nr_inodes={inodes},mode={mode:o},uid={uid},gid={gid}"
    result = _libc.mount(
        b"hanlin-sandbox", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount tmpfs on {path}: {os.strerror(code)}")


def unmount(path: str) -> None:
    """Detach the mount on ``path``; the kernel frees it when nothing uses it any more."""
    if _libc.umount2(os.fsencode(path), _MNT_DETACH | _UMOUNT_NOFOLLOW) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unmount {path}: {os.strerror(code)}")


def is_mount_point(path: str) -> bool:
    """Whether ``path`` is the root of a mount (its device differs from its parent's)."""
    try:
        here = os.lstat(path)
        parent = os.lstat(os.path.join(path, ".."))
    except OSError:
        return False
    return here.st_dev != parent.st_dev
