"""A scratch quota for hosts that cannot mount a tmpfs: measure often, kill when over.

Without mount rights (a host that is not root, or a container without CAP_SYS_ADMIN, which
is where the Landlock fallback runs) the scratch directory is a plain folder on the host's
disk. RLIMIT_FSIZE caps each file, not their sum or their number, so this watch walks the
folder (iteratively, links not followed) and kills the sandbox once it holds more than the
quota in bytes or entries, or once it keeps moving folders so that no look can finish. It
is a soft quota: between two looks a program can write more, about its write rate times the
interval (0.1 s, longer for large trees), but never for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from hanlin.sandbox.tree import walk

MIN_INTERVAL_S = 0.1
MAX_INTERVAL_S = 1.0
MAX_UNMEASURED_LOOKS = 10
_BLOCK = 512  # st_blocks unit


@dataclass(frozen=True)
class Usage:
    """What a folder holds: bytes allocated (all entries) and entries (files, folders, links).

    ``complete`` is False when a folder moved during the walk, which then saw only part."""

    bytes: int
    entries: int
    complete: bool = True


def measure(root: str, *, max_entries: int) -> Usage:
    """Allocated bytes and entry count under ``root``, counting at most ``max_entries``.
    Raises ``OSError`` when ``root`` itself cannot be opened (removed, for one)."""
    total = entries = 0
    walker = walk(root, max_entries=max_entries)
    try:
        for entry in walker:
            total += entry.info.st_blocks * _BLOCK
            entries += 1
    except OSError:
        if entries == 0 and not os.path.isdir(root):
            raise
        return Usage(total, entries, complete=False)
    finally:
        walker.close()
    return Usage(total, entries)


def settled_usage(root: str, *, max_entries: int, tries: int = 3) -> Usage:
    """``measure`` again while folders keep moving under it; the largest count seen."""
    usage = measure(root, max_entries=max_entries)
    for _ in range(tries - 1):
        if usage.complete:
            break
        again = measure(root, max_entries=max_entries)
        usage = Usage(
            max(usage.bytes, again.bytes), max(usage.entries, again.entries), again.complete
        )
    return usage


class UsageWatch:
    """Calls ``on_exceeded`` once when ``root`` holds more than ``max_bytes`` or
    ``max_entries``; ``exceeded`` says whether it did."""

    def __init__(
        self, root: str, *, max_bytes: int, max_entries: int, on_exceeded: Callable[[], None]
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.exceeded = False
        self._unmeasured = 0  # looks in a row that folders moving under the walk cut short
        self._on_exceeded = on_exceeded
        self._task: asyncio.Task[None] | None = None

    def over(self, usage: Usage) -> bool:
        """Over the quota, or kept from being measured: code that moves its folders around
        all the time could otherwise hide what it stores from every look."""
        self._unmeasured = 0 if usage.complete else self._unmeasured + 1
        if self._unmeasured >= MAX_UNMEASURED_LOOKS:
            return True
        return usage.bytes > self.max_bytes or usage.entries > self.max_entries

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                usage = await asyncio.to_thread(
                    settled_usage, self.root, max_entries=self.max_entries + 1
                )
            except OSError:
                return  # the folder is gone: nothing left to watch
            if self.over(usage):
                self.exceeded = True
                self._on_exceeded()
                return
            spent = time.monotonic() - started
            await asyncio.sleep(min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, 10 * spent)))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
