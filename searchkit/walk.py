"""Find the files to index under the given paths: recursive, hidden folders skipped,
include/exclude globs and ``.gitignore``/``.searchignore`` files honoured, symlink loops
detected, special files (FIFOs, sockets, devices) and symlinks that leave the folder reported.

A file is stored under the name it has below the folder the user named (``notes/a.md``),
and reached once: folders and files that are symlinks are walked after everything real, so
a file that a symlinked folder also reaches keeps its real name, whatever the names sort as.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Sequence

from .fileio import inside, special_kind
from .readers import supported

#: Files in a folder whose gitignore-style patterns exclude paths below it.
IGNORE_FILES = (".gitignore", ".searchignore")


@dataclass(frozen=True)
class Found:
    path: Path  # absolute, symlinks in the folder part kept as walked
    size: int = 0
    mtime: float = 0.0
    skip: str | None = None  # reason, when the file is seen but not to be read


def _matches(rel: str, name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g) for g in globs)


def is_index_dir(path: str) -> bool:
    """A searchkit index folder (its database and manifest side by side)."""
    return (os.path.exists(os.path.join(path, "index.db"))
            and os.path.exists(os.path.join(path, "manifest.json")))


def _ignore_spec(folder: str):
    """The patterns of ``folder``'s ignore files, or None."""
    lines: list[str] = []
    for name in IGNORE_FILES:
        f = os.path.join(folder, name)
        try:
            if os.path.isfile(f):
                from .fileio import read_limited

                lines += read_limited(f, 1 << 20).decode("utf-8", "replace").splitlines()
        except Exception:  # an unreadable ignore file ignores nothing
            continue
    if not lines:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(chain: tuple, path: str, is_dir: bool) -> bool:
    """Git's rule: the deepest ignore file with a pattern that decides wins, and within a
    file the last matching pattern (``!pattern`` re-includes)."""
    for folder, spec in reversed(chain):
        rel = os.path.relpath(path, folder).replace(os.sep, "/") + ("/" if is_dir else "")
        res = spec.check_file(rel)
        if res.include is not None:
            return bool(res.include)
    return False


def walk(roots: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
         max_bytes: int | None = None, follow_outside: bool = False, ignore: bool = True,
         skip_dirs: Sequence[str | Path] = ()) -> Iterator[Found]:
    """Yield every candidate file under ``roots`` once. Unsupported types, files over
    ``max_bytes``, names that are not UTF-8, symlink loops, special files, symlinks that
    resolve outside their root (unless ``follow_outside``) and unreadable folders (reason
    ``unreadable folder (...)``) come back with ``skip`` set. A folder that vanishes while
    walking is passed over silently: its files are gone.

    Args:
        ignore: honour ``.gitignore`` and ``.searchignore`` files found below each root.
        skip_dirs: folders never entered (the index's own folder); any folder that holds a
            searchkit index is passed over too.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    never = {os.path.realpath(p) for p in skip_dirs}
    for root in roots:
        root = Path(os.path.abspath(root))
        if root.is_file() or (root.exists() and not root.is_dir()):
            yield from _file(root, root.parent, include, exclude, max_bytes, seen_files, True)
            continue
        real_root = os.path.realpath(root)
        # (folder, ignore chain); symlinked entries wait until every real one is walked
        stack: list[tuple[Path, tuple]] = [(root, ())]
        later: list[tuple[Path, tuple, bool]] = []  # (path, chain, is_dir)
        while stack or later:
            if not stack:
                p, chain, is_dir = later.pop(0)
                real = os.path.realpath(p)
                if not follow_outside and not inside(real, real_root):
                    yield Found(p, skip="symlink to outside the indexed folder "
                                        "(--follow-outside indexes it)")
                    continue
                if is_dir:
                    stack.append((p, chain))
                else:
                    yield from _file(p, root, include, exclude, max_bytes, seen_files, False)
                continue
            d, chain = stack.pop()
            try:
                st = d.stat()
            except FileNotFoundError:
                continue
            except OSError as e:
                yield Found(d, skip=f"unreadable folder ({e.strerror or e})")
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                if d.is_symlink() and inside(real_root, os.path.realpath(d)):
                    yield Found(d, skip="symlink loop")
                continue  # reached already under its real name
            seen_dirs.add(key)
            real_d = os.path.realpath(d)
            if d != root and (real_d in never or is_index_dir(str(d))):
                continue
            if ignore:
                spec = _ignore_spec(str(d))
                if spec is not None:
                    chain = chain + ((str(d), spec),)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as e:
                yield Found(d, skip=f"unreadable folder ({e.strerror or e})")
                continue
            subdirs = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                p = Path(entry.path)
                try:
                    is_dir = entry.is_dir(follow_symlinks=True)
                except OSError:
                    is_dir = False
                if ignore and chain and _ignored(chain, entry.path, is_dir):
                    continue
                if is_dir:
                    if exclude and _matches(str(p.relative_to(root)), entry.name, exclude):
                        continue
                    if entry.is_symlink():
                        later.append((p, chain, True))
                    else:
                        subdirs.append((p, chain))
                elif entry.is_symlink() and not p.exists():
                    yield Found(p, skip="broken symlink or symlink loop")
                elif entry.is_symlink():
                    later.append((p, chain, False))
                else:
                    yield from _file(p, root, include, exclude, max_bytes, seen_files, False)
            stack.extend(reversed(subdirs))


def _file(p: Path, root: Path, include, exclude, max_bytes, seen: set, explicit: bool):
    rel = str(p.relative_to(root)) if p != root else p.name
    if not explicit:
        if include and not _matches(rel, p.name, include):
            return
        if exclude and _matches(rel, p.name, exclude):
            return
    key = str(p)
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
    if (st.st_dev, st.st_ino) in seen:
        return  # the same file under another name (a symlink, a hard link)
    seen.add((st.st_dev, st.st_ino))
    kind = special_kind(st.st_mode)
    if kind:
        yield Found(p, skip=f"not a regular file ({kind})")
        return
    if max_bytes is not None and st.st_size > max_bytes:
        yield Found(p, st.st_size, st.st_mtime,
                    skip=f"over the size limit ({st.st_size / 1048576:.1f} MB > "
                         f"{max_bytes / 1048576:.1f} MB)")
        return
    yield Found(p, st.st_size, st.st_mtime)
