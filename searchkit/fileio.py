"""Reading files from folders that may be hostile: only regular files, never more bytes than
a limit, never blocking on a FIFO or a device."""

from __future__ import annotations

import os
import stat as stat_mod
from pathlib import Path

from .errors import ReadError


def special_kind(mode: int) -> str | None:
    """What a non-regular file is (``"FIFO"``, ``"socket"`` ...), None for a regular file."""
    if stat_mod.S_ISREG(mode):
        return None
    for test, name in ((stat_mod.S_ISFIFO, "FIFO"), (stat_mod.S_ISSOCK, "socket"),
                       (stat_mod.S_ISCHR, "character device"),
                       (stat_mod.S_ISBLK, "block device"), (stat_mod.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def read_limited(path: str | Path, limit: int | None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The file is opened non-blocking (a FIFO swapped in after a stat cannot hang us), its kind
    is checked on the open descriptor, and at most ``limit + 1`` bytes are read whatever its
    size claims (``/proc`` files and devices report 0; a growing file may pass its size).

    Raises:
        ReadError: not a regular file, over ``limit`` bytes, vanished or unreadable.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise ReadError("file vanished") from e
    except OSError as e:
        raise ReadError(f"unreadable ({e.strerror or e})") from e
    try:
        st = os.fstat(fd)
        kind = special_kind(st.st_mode)
        if kind:
            raise ReadError(f"not a regular file ({kind})")
        if limit is not None and st.st_size > limit:
            raise ReadError(_over(st.st_size, limit))
        want = (limit + 1) if limit is not None else None
        parts, got = [], 0
        while want is None or got < want:
            block = os.read(fd, min(1 << 20, want - got) if want is not None else 1 << 20)
            if not block:
                break
            parts.append(block)
            got += len(block)
        if limit is not None and got > limit:
            raise ReadError(_over(got, limit, grew=True))
        return b"".join(parts)
    except MemoryError as e:
        raise ReadError("out of memory while reading") from e
    except OSError as e:
        raise ReadError(f"unreadable ({e.strerror or e})") from e
    finally:
        os.close(fd)


def _over(size: int, limit: int, grew: bool = False) -> str:
    more = "more than " if grew else ""
    return (f"over the size limit ({more}{size / 1048576:.1f} MB > "
            f"{limit / 1048576:.1f} MB)")


def inside(path: str, root: str) -> bool:
    """Whether the resolved ``path`` lies in (or is) the resolved folder ``root``."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
