"""Planning and rebuilding whole indexes (:meth:`Index.plan <searchkit.index.Index.plan>`,
:meth:`Index.rebuild <searchkit.index.Index.rebuild>`): a dry run against a throw-away
index, and a complete new index built beside the old one and swapped in when finished."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from .config import DB_FILE, MANIFEST_FILE, ChunkSettings, Manifest
from .errors import IndexDamaged
from .types import IndexReport


def manifest_file(path: Path) -> Manifest | None:
    """The :class:`~searchkit.config.Manifest` that ``path/manifest.json`` holds, or None
    when it is missing or unreadable."""
    try:
        data = json.loads((path / MANIFEST_FILE).read_text())
        return Manifest.from_dict(data) if isinstance(data, dict) and "encoder" in data \
            else None
    except (OSError, ValueError, TypeError):
        return None


def orphan_manifest(path: Path) -> Manifest | None:
    """The manifest of ``path/manifest.json`` when the folder has one but no database
    (deleted by hand), else None."""
    if (path / DB_FILE).exists() or not (path / MANIFEST_FILE).exists():
        return None
    return manifest_file(path)


def plan_new(Index, paths, include, exclude, encoder, chunking, max_bytes,
             reuse: Path | None = None, walk_opts: dict | None = None) -> IndexReport:
    """The dry run of a new index: the same planning as a sync, against an empty index
    (of class ``Index``) in a temporary folder (so the chunk counts and skipped files are
    the real ones); with ``reuse``, holding that index's cached vectors, as a rebuild
    would."""
    with tempfile.TemporaryDirectory(prefix="searchkit-plan-") as tmp:
        idx = Index.create(Path(tmp) / "idx", encoder=encoder, chunking=chunking)
        try:
            if reuse is not None:
                idx.import_embeddings(reuse)
            return idx.add_paths(paths, include, exclude, dry_run=True, max_bytes=max_bytes,
                                 **(walk_opts or {}))
        finally:
            idx.close()


def rebuild(Index, path: Path, paths, include, exclude, encoder, chunking, progress,
            max_bytes, vector_index: str | None = None,
            walk_opts: dict | None = None, pipeline=None) -> IndexReport:
    """Build into ``<path>.rebuild``, then swap directories atomically. The old index stays
    locked (no other writer) and readable until the swap; killed before it, the old index
    is untouched (the next rebuild starts over). Vectors already computed for a chunk text
    (by any encoder) are copied over, so rebuilding with the same encoder, or switching
    back to an earlier one, embeds only new text. ``Index`` is the index class."""
    from .store.lock import WriteLock

    damaged = False
    old_chunking: ChunkSettings | None
    try:
        old = Index.open(path, readonly=True)
        manifest = old.manifest
        old_chunking = old.chunk_settings
        old.close()
    except IndexDamaged:  # rebuilt from the documents, with what manifest.json says
        damaged = True
        manifest = manifest_file(path)  # type: ignore[assignment]
        old_chunking = (ChunkSettings(max_tokens=manifest.chunking.get("max_tokens", 256),
                                      overlap=manifest.chunking.get("overlap", 32))
                        if manifest else None)
    encoder = encoder or (manifest.encoder if manifest else None)
    chunking = chunking or old_chunking
    vector_index = vector_index or (manifest.vector_index if manifest else None)
    tmp = path.with_name(path.name + ".rebuild")
    with WriteLock(path):
        for leftover in (tmp, path.with_name(path.name + ".swap")):
            if leftover.exists():
                shutil.rmtree(leftover)  # an interrupted earlier rebuild
        new = Index.create(tmp, chunking=chunking, exist_ok=False, vector_index=vector_index,
                           **({"encoder": encoder} if encoder else {}))
        try:
            if not damaged:
                try:
                    new.import_embeddings(path)
                except sqlite3.DatabaseError:  # damaged pages: their texts are embedded again
                    pass
            report = new.add_paths(paths, include, exclude, progress=progress,
                                   max_bytes=max_bytes, pipeline=pipeline,
                                   **(walk_opts or {}))
        finally:
            new.close()
        swap_directories(tmp, path)
        shutil.rmtree(tmp, ignore_errors=True)  # now the old index
        return report


def swap_directories(a: Path, b: Path) -> None:
    """Exchange two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); where
    that is unavailable, by two renames that :func:`recover_swap` completes after a crash."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)),
                     rename_exchange) == 0:
            return
    # Fallback: b -> b.swap, a -> b, b.swap -> a. recover_swap(b) finishes a broken swap.
    parked = b.with_name(b.name + ".swap")
    os.replace(b, parked)
    os.replace(a, b)
    os.replace(parked, a)


def recover_swap(path: Path) -> None:
    """Finish a directory swap that a crash interrupted between its renames."""
    parked = path.with_name(path.name + ".swap")
    if parked.exists() and not path.exists():
        rebuilt = path.with_name(path.name + ".rebuild")
        if rebuilt.exists():
            os.replace(rebuilt, path)  # the new index was complete: it was being moved in
        else:
            os.replace(parked, path)
