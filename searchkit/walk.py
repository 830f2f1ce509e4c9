"""Find the files to index under the given paths: recursive, hidden folders skipped,
include/exclude globs honoured, symlink loops detected."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from .readers import supported


@dataclass(frozen=True)
class Found:
    path: Path  # absolute, symlinks in the folder part kept as walked
    size: int = 0
    mtime: float = 0.0
    skip: str | None = None  # reason, when the file is seen but not to be read


def _matches(rel: str, name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g) for g in globs)


def walk(roots: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
         max_bytes: int | None = None) -> Iterator[Found]:
    """Yield every candidate file under ``roots`` once. Unsupported types, files over
    ``max_bytes``, names that are not UTF-8, symlink loops and unreadable folders (reason
    ``unreadable folder (...)``) come back with ``skip`` set. A folder that vanishes while
    walking is passed over silently: its files are gone."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        root = Path(os.path.abspath(root))
        if root.is_file():
            yield from _file(root, root.parent, include, exclude, max_bytes, seen_files, True)
            continue
        stack = [root]
        while stack:
            d = stack.pop()
            try:
                st = d.stat()
            except FileNotFoundError:
                continue
            except OSError as e:
                yield Found(d, skip=f"unreadable folder ({e.strerror or e})")
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                if d.is_symlink():
                    yield Found(d, skip="symlink loop")
                continue
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as e:
                yield Found(d, skip=f"unreadable folder ({e.strerror or e})")
                continue
            subdirs = []
            for e in entries:
                if e.name.startswith("."):
                    continue
                p = Path(e.path)
                try:
                    is_dir = e.is_dir(follow_symlinks=True)
                except OSError:
                    is_dir = False
                if is_dir:
                    if exclude and _matches(str(p.relative_to(root)), e.name, exclude):
                        continue
                    subdirs.append(p)
                elif e.is_symlink() and not p.exists():
                    yield Found(p, skip="broken symlink or symlink loop")
                else:
                    yield from _file(p, root, include, exclude, max_bytes, seen_files, False)
            stack.extend(reversed(subdirs))


def _file(p: Path, root: Path, include, exclude, max_bytes, seen: set[str], explicit: bool):
    rel = str(p.relative_to(root)) if p != root else p.name
    if not explicit:
        if include and not _matches(rel, p.name, include):
            return
        if exclude and _matches(rel, p.name, exclude):
            return
    key = str(p)
    if key in seen:
        return
    seen.add(key)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        yield Found(p, skip="file name is not valid UTF-8")
        return
    if not supported(p):
        yield Found(p, skip=f"unsupported file type {p.suffix or '(none)'}")
        return
    try:
        st = p.stat()
    except FileNotFoundError:
        yield Found(p, skip="file vanished")
        return
    except OSError as e:
        yield Found(p, skip=f"unreadable ({e.strerror or e})")
        return
    if max_bytes is not None and st.st_size > max_bytes:
        yield Found(p, st.st_size, st.st_mtime,
                    skip=f"over the size limit ({st.st_size / 1048576:.1f} MB > "
                         f"{max_bytes / 1048576:.1f} MB)")
        return
    yield Found(p, st.st_size, st.st_mtime)
