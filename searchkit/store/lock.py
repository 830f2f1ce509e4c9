"""One writer per index: an exclusive ``flock`` on ``write.lock`` that holds the writer's pid."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import IndexLocked


class WriteLock:
    """``with WriteLock(folder):`` holds the lock for the block (or ``acquire()`` and
    ``release()``); IndexLocked when another process holds it."""

    def __init__(self, directory: Path):
        self.path = directory / "write.lock"
        self.fd: int | None = None

    def acquire(self) -> "WriteLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise IndexLocked(
                f"index {self.path.parent} is being written by another process (pid {pid})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "WriteLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
