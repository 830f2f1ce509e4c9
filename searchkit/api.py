"""Task-level functions behind the CLI commands (also usable from Python)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import ChunkSettings, default_index_path, max_file_bytes
from .errors import BadInput, BadUsage, EncoderMismatch
from .types import Answer, Hit, IndexReport


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
                progress=None, max_file_mb: float | None = None,
                vector_index: str | None = None, follow_outside: bool = False,
                ignore: bool = True, engine: str | None = None,
                address: str | None = None, actors: int | None = None,
                store: str | None = None) -> IndexReport:
    """Create or sync the index at ``index`` from ``paths`` (what ``search index`` does).

    With ``rebuild``, a complete new index is built beside the old one and swapped in only
    when finished, so an interruption leaves the old index as it was. With ``dry_run``,
    nothing is written and the report holds what a real run would do (also for an index
    that does not exist yet). ``max_file_mb`` overrides ``SEARCHKIT_MAX_FILE_MB``.
    ``vector_index`` (``auto``, ``flat``, ``hnsw``) sets the FAISS index kind, also of an
    existing index (see :mod:`searchkit.store.vectors`). ``follow_outside`` indexes files
    that symlinks lead to outside ``paths`` (skipped and reported by default); ``ignore=False``
    disregards ``.gitignore``/``.searchignore`` files. ``engine`` ``ray`` reads, chunks
    and embeds on Ray (a cluster at ``address``, else one started for the run, with
    ``actors`` encoder actors): see :mod:`searchkit.engines.ray_ingest`. ``store``, a
    ``postgresql://`` URL, loads the synced index into Postgres (not with ``dry_run``):
    see :mod:`searchkit.store.postgres`.

    An index folder whose database is missing keeps the encoder and chunking its
    ``manifest.json`` names (another ``encoder`` needs ``rebuild``); one whose database is
    damaged is rebuilt from ``paths`` with ``rebuild``.

    Raises:
        BadInput: a path does not exist, or chunk settings that the index does not use.
        EncoderMismatch: ``encoder`` is not the index's encoder (and no ``rebuild``).
        IndexLocked: another process is writing the index.
    """
    from .index import Index, index_exists, recover_swap
    from .rebuild import orphan_manifest

    path = Path(index) if index else default_index_path()
    for p in paths:
        if not os.path.exists(p):
            raise BadUsage(f"path not found: {p}")
    chunking = _chunking(chunk_size, overlap)
    max_bytes = _max_bytes(max_file_mb)
    from .engines import get_pipeline

    pipeline = get_pipeline(engine, address, actors)
    if store is not None:
        from .store.postgres import check_url

        check_url(store)
    recover_swap(path)
    exists = index_exists(path)
    if store is not None and not dry_run:  # sync the folder, then load it into Postgres
        report = index_paths(paths, path, include, exclude, encoder, chunk_size, overlap,
                             dry_run, rebuild, progress, max_file_mb, vector_index,
                             follow_outside=follow_outside, ignore=ignore, engine=engine,
                             address=address, actors=actors)
        from .store.postgres import load_index

        with Index.open(path) as idx:
            load_index(idx, store)
        return report
    walk_opts: dict[str, Any] = {"follow_outside": follow_outside, "ignore": ignore}
    orphan = None if exists else orphan_manifest(path)
    if orphan and rebuild:
        encoder = encoder or orphan.encoder
    elif orphan:
        if encoder and not _same_encoder(encoder, orphan.encoder):
            raise EncoderMismatch(
                f"index {path} was built with encoder {orphan.encoder!r} (its manifest.json "
                f"says so; its database is missing), not {encoder!r}; add --rebuild")
        encoder = orphan.encoder
        chunking = chunking or ChunkSettings(max_tokens=orphan.chunking.get("max_tokens", 256),
                                             overlap=orphan.chunking.get("overlap", 32))
    if rebuild and exists:
        if dry_run:  # what a rebuild would do: a new index, with the old one's vectors
            with Index.open(path) as old:
                return Index.plan(paths, include, exclude, encoder or old.manifest.encoder,
                                  chunking or old.chunk_settings, max_bytes, reuse=path,
                                  **walk_opts)
        return Index.rebuild(path, paths, include, exclude, encoder, chunking, progress,
                             max_bytes, vector_index, pipeline, **walk_opts)
    if not exists:
        if dry_run:
            return Index.plan(paths, include, exclude, encoder, chunking, max_bytes,
                              **walk_opts)
        idx = Index.create(path, encoder=encoder, chunking=chunking,
                           vector_index=vector_index)
    else:
        idx = Index.open(path, readonly=dry_run)
        if encoder and not rebuild and not _same_encoder(encoder, idx.manifest.encoder):
            idx.close()
            raise EncoderMismatch(
                f"index {path} was built with encoder {idx.manifest.encoder!r}, not "
                f"{encoder!r}; add --rebuild to rebuild it with {encoder!r}")
        if chunking and chunking != idx.chunk_settings and not rebuild:
            idx.close()
            raise BadInput(f"index {path} uses chunk size {idx.chunk_settings.max_tokens} "
                           f"and overlap {idx.chunk_settings.overlap}; add --rebuild to change them")
        if vector_index is not None and not dry_run:
            idx.set_vector_index(vector_index)
    try:
        return idx.add_paths(paths, include, exclude, dry_run=dry_run, progress=progress,
                             max_bytes=max_bytes, pipeline=pipeline, **walk_opts)
    finally:
        idx.close()


def _max_bytes(max_file_mb: float | None) -> int:
    if max_file_mb is None:
        return max_file_bytes()
    if max_file_mb <= 0:
        raise BadInput("the file size limit must be positive")
    return int(max_file_mb * 1024 * 1024)


def search(query: str, index: str | Path | None = None, k: int = 10,
           store: str | None = None, **kwargs) -> list[Hit]:
    """Open the index at ``index`` (or in ``store``, a ``postgresql://`` URL) read-only
    and search it."""
    from .index import Index

    with Index.open(index, readonly=True, store=store) as idx:
        return idx.search(query, k=k, **kwargs)


def stats(index: str | Path | None = None) -> dict:
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        return idx.stats()


def _same_encoder(name: str, recorded: str) -> bool:
    from .encoders import same_encoder

    return same_encoder(name, recorded)


def evaluate_dataset(dataset: str | Path, methods: Sequence[str] | None = None,
                     split: str = "test", index: str | Path | None = None,
                     encoder: str | None = None, chunk_size: int | None = None,
                     overlap: int | None = None, fuse=None, weights=None,
                     rrf_k: float | None = None, combine: str | None = None,
                     progress=None, on_result=None):
    """Evaluate search methods on a BEIR-format dataset (what ``search eval`` does).

    Builds an index of the corpus (``<index home>/eval/<name>-<encoder>-<size>-<overlap>``
    unless ``index`` is given; reused while the corpus is unchanged), runs every judged
    query of ``split`` with each method (default: the default method) and scores the runs.

    Returns:
        An :class:`~searchkit.eval.runner.EvalReport`.

    Raises:
        BadInput: a missing or malformed dataset, unknown split or method.
    """
    from .eval import load_beir
    from .eval.runner import run_eval
    from .query import DEFAULT_METHOD
    from .retrieval.hybrid import Fusion

    ds = load_beir(dataset, split)
    fusion = (Fusion.parse(fuse, weights, rrf_k, combine)
              if any(x is not None for x in (fuse, weights, rrf_k, combine)) else None)
    return run_eval(ds, list(methods or [DEFAULT_METHOD]), index=index,
                    encoder=encoder,
                    chunking=_chunking(chunk_size, overlap) or ChunkSettings(),
                    fusion=fusion, progress=progress, on_result=on_result)


def compare(query: str, methods: Sequence[str] | None = None,
            index: str | Path | None = None, k: int = 5, **kwargs) -> dict[str, list[Hit]]:
    """The top ``k`` hits of several methods for one query: ``{method: hits}``, in the
    order given (default: every method). ``kwargs`` go to :meth:`Index.search`."""
    from .index import Index
    from .retrieval.methods import METHODS, check_method

    methods = list(methods or METHODS)
    for m in methods:
        check_method(m)
    with Index.open(index, readonly=True) as idx:
        return {m: idx.search(query, k=k, method=m, **kwargs) for m in methods}


def ask(question: str, index: str | Path | None = None, **filters) -> "Answer":
    """Open the index at ``index`` read-only and answer ``question`` (see ``Index.ask``)."""
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        return idx.ask(question, **filters)


def senses(word: str, index: str | Path | None = None, max: int = 400,
           senses: int | str = "auto", seed: int = 0, encoder: str | None = None):
    """Open the index at ``index`` read-only and cluster the uses of ``word`` into senses
    (what ``search senses`` does); see :meth:`searchkit.index.Index.senses`."""
    from .index import Index
    from .senses import word_pattern

    word_pattern(word)  # an empty word is a usage error, whether or not there is an index
    with Index.open(index, readonly=True) as idx:
        return idx.senses(word, max=max, senses=senses, seed=seed, encoder=encoder)


def check(index: str | Path | None = None, repair: bool = False):
    """Check (and with ``repair`` fix) the index at ``index`` (what ``search check`` does).
    An index whose database cannot even be opened gets a report that says so.

    Returns:
        A :class:`searchkit.maintenance.CheckReport`.
    """
    from .errors import IndexDamaged
    from .index import Index, as_index_path
    from .maintenance import CheckReport

    path = as_index_path(index)
    try:
        idx = Index.open(path, readonly=not repair)
    except IndexDamaged as e:
        return CheckReport(path=str(path), ok=False, problems=[str(e)])
    with idx:
        return idx.check(repair=repair)


def sources(index: str | Path | None = None):
    """The roots indexed into ``index`` with their document counts (``search sources``)."""
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        return idx.sources()


def remove(paths, index: str | Path | None = None) -> int:
    """Remove a folder's (or file's) documents from ``index`` (``search remove``)."""
    from .index import Index

    with Index.open(index, readonly=False) as idx:
        return idx.remove(paths)
