"""One indexing run per catalog at a time, across processes (the window and a terminal, say).

SQLite's own locking keeps the data correct when two runs overlap, but both would analyse the same new
photos. An advisory lock on `<catalog>.lock` makes the second run wait; when it gets the lock the first run
has stored everything, so the second finds it unchanged. The operating system drops the lock when a process
dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised on Windows builds
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class RunLock:
    """`with RunLock(catalog_path, on_wait=..., cancelled=...)`: held for one indexing run."""

    def __init__(
        self,
        catalog_path: Path,
        on_wait: Callable[[], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.path = Path(str(catalog_path) + ".lock")
        self.on_wait = on_wait
        self.cancelled = cancelled or (lambda: False)
        self.poll_s = poll_s
        self._fd: int | None = None
        self.acquired = False

    def __enter__(self) -> RunLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        told = False
        while not _try_lock(self._fd):
            if not told and self.on_wait:
                self.on_wait()
                told = True
            if self.cancelled():
                return self
            time.sleep(self.poll_s)
        self.acquired = True
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            if self.acquired:
                _unlock(self._fd)
            os.close(self._fd)
            self._fd = None
