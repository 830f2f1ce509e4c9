"""Task-level functions behind the CLI commands (also usable from Python)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Sequence

from .config import ChunkSettings, default_index_path, max_file_bytes
from .errors import BadInput, EncoderMismatch
from .types import Hit, IndexReport, Skipped


def _chunking(chunk_size, overlap) -> ChunkSettings | None:
    if chunk_size is None and overlap is None:
        return None
    try:
        return ChunkSettings(max_tokens=chunk_size or 256,
                             overlap=32 if overlap is None else overlap)
    except ValueError as e:
        raise BadInput(str(e)) from None


def index_paths(paths: Sequence[str], index: str | Path | None = None,
                include: Sequence[str] = (), exclude: Sequence[str] = (),
                encoder: str | None = None, chunk_size: int | None = None,
                overlap: int | None = None, dry_run: bool = False, rebuild: bool = False,
                progress=None) -> IndexReport:
    """Create or sync the index at ``index`` from ``paths`` (what ``search index`` does).

    With ``rebuild``, a complete new index is built beside the old one and swapped in only
    when finished, so an interruption leaves the old index as it was.
    """
    from .index import DB_FILE, Index

    path = Path(index) if index else default_index_path()
    for p in paths:
        if not os.path.exists(p):
            raise BadInput(f"path not found: {p}")
    chunking = _chunking(chunk_size, overlap)
    exists = (path / DB_FILE).exists()
    if rebuild and exists and not dry_run:
        return _rebuild(path, paths, include, exclude, encoder, chunking, progress)
    if not exists:
        if dry_run:
            return _plan_new(paths, include, exclude)
        idx = Index.create(path, encoder=encoder or "minilm", chunking=chunking)
    else:
        idx = Index.open(path, readonly=dry_run)
        if encoder and encoder != idx.manifest.encoder and not rebuild:
            idx.close()
            raise EncoderMismatch(
                f"index {path} was built with encoder {idx.manifest.encoder!r}, not "
                f"{encoder!r}; add --rebuild to rebuild it with {encoder!r}")
        if chunking and chunking != idx.chunk_settings and not rebuild:
            idx.close()
            raise BadInput(f"index {path} uses chunk size {idx.chunk_settings.max_tokens} "
                           f"and overlap {idx.chunk_settings.overlap}; add --rebuild to change them")
    try:
        return idx.add_paths(paths, include, exclude, dry_run=dry_run, progress=progress)
    finally:
        idx.close()


def _plan_new(paths, include, exclude) -> IndexReport:
    from .walk import walk

    report = IndexReport(dry_run=True)
    for f in walk([Path(p) for p in paths], include, exclude, max_file_bytes()):
        if f.skip:
            report.skipped.append(Skipped(str(f.path), f.skip))
        else:
            report.new.append(str(f.path))
    return report


def _rebuild(path: Path, paths, include, exclude, encoder, chunking, progress) -> IndexReport:
    """Build into ``<path>.rebuild``, then swap directories. The old index stays locked
    (no other writer) and readable until the swap."""
    from .index import Index
    from .store.lock import WriteLock

    old = Index.open(path, readonly=True)
    encoder = encoder or old.manifest.encoder
    chunking = chunking or old.chunk_settings
    old.close()
    lock = WriteLock(path).acquire()
    tmp = path.with_name(path.name + ".rebuild")
    try:
        if tmp.exists():
            shutil.rmtree(tmp)  # an interrupted earlier rebuild
        new = Index.create(tmp, encoder=encoder, chunking=chunking)
        try:
            report = new.add_paths(paths, include, exclude, progress=progress)
        finally:
            new.close()
        trash = path.with_name(path.name + f".old{os.getpid()}")
        os.replace(path, trash)
        os.replace(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
        return report
    finally:
        lock.release()


def search(query: str, index: str | Path | None = None, k: int = 10, **kwargs) -> list[Hit]:
    """Open the index at ``index`` read-only and search it."""
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        return idx.search(query, k=k, **kwargs)


def stats(index: str | Path | None = None) -> dict:
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        return idx.stats()
