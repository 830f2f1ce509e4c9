"""Search methods over one index, made from the registry :data:`searchkit.retrieval.METHODS`:
``dense`` (the index's encoder), the static baselines (``tfidf``, ``bm25``, ``glove``) and
``hybrid`` (RRF of several of them).

Static baselines index the index's chunks (id = chunk id). They are built lazily, on their
first use, and saved under ``<index>/baselines/<name>/`` with a ``source.json`` stamp: the
SQLite generation of the chunks they were built from and the index's creation time. Every
committed write bumps the generation, so a baseline whose stamp differs is stale (so is one
saved with other parameters than the method's current ones, e.g. BM25's k1): it is
rebuilt from the chunks (in memory, then saved atomically when the folder is writable, which
also serves read-only opens; a reader that cannot write simply rebuilds). Within a process,
a built baseline is kept and reused until the generation changes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from . import METHODS, REGISTRY, check_method

if TYPE_CHECKING:
    from ..cache import IndexCache
    from ..store.meta import MetaStore
    from .hybrid import Fusion

log = logging.getLogger("searchkit")

BASELINES_DIR = "baselines"
STAMP_FILE = "source.json"
#: Bumped when the text a static baseline indexes for a chunk changes.
TEXT_FORMAT = 2


def installed_methods() -> tuple[str, ...]:
    """The methods whose optional packages are installed (all of them with searchkit[all])."""
    from ..extras import available

    return tuple(m for m, spec in METHODS.items()
                 if spec.needs is None or available(spec.needs[0]))


def get_method(idx, name: str, fusion: Fusion | None = None, by_document: bool = False):
    """A retriever over the chunks of ``idx`` (an :class:`~searchkit.index.Index`) for
    method ``name`` (see the module docstring).

    Args:
        fusion: for ``hybrid``: what to fuse (default dense + bm25, equal weights, k=60).
        by_document: for ``hybrid``: fuse document ranks and return each document's best
            chunk only (what a grouped search wants), instead of fusing chunk ranks.
    """
    spec = METHODS[check_method(name)]
    if spec.static:
        return static_baseline(idx.store, idx.path, idx.cache, name)
    return spec.load()(idx, fusion=fusion, by_document=by_document)


def static_baseline(store: MetaStore, path: Path, cache: IndexCache, name: str):
    """The static retriever ``name`` over the chunks in ``store`` (of the index folder
    ``path``), fresh for its current generation; kept in ``cache`` and saved under
    ``path/baselines/NAME``."""
    gen = store.generation()
    key = f"baseline:{name}"
    cached = cache.get(key, gen)
    if cached is not None:
        return cached
    want = _stamp(store, gen)
    folder = path / BASELINES_DIR / name
    retriever = _load(folder, name, want)
    if retriever is None:
        t0 = time.perf_counter()
        gen, ids, texts = chunk_texts(store)
        want = _stamp(store, gen)
        retriever = REGISTRY[name]()
        retriever.build(ids, texts)
        log.debug("searchkit: built %s over %d chunks in %.1f s", name, len(ids),
                  time.perf_counter() - t0)
        _save(retriever, folder, {**want, "chunks": len(ids),
                                  "build_seconds": round(time.perf_counter() - t0, 3)})
    cache.put(key, gen, retriever)
    return retriever


def baseline_text(text: str, ord: int, title: str | None) -> str:
    """What a static baseline indexes for a chunk: its text, after its document's title
    when the chunk is not the first (the first holds the title already, when there is one).
    On SciFact's train split this lifts BM25's and tf-idf's nDCG@10 (the figures are in
    benchmarks/RESULTS_eval.md): a later chunk of an abstract rarely repeats its topic's
    words."""
    return f"{title}\n\n{text}" if ord and title else text


def chunk_texts(store) -> tuple[int, list[int], list[str]]:
    """``(generation, chunk ids, baseline texts)`` of the chunks in ``store`` (a
    :class:`~searchkit.store.meta.MetaStore`, or an index: its ``.store``), read as one
    consistent state (the generation is bumped in the same transaction as any chunk
    change, so equal generations before and after the read mean the rows belong to it)."""
    store = getattr(store, "store", store)
    while True:
        gen = store.generation()
        rows = store.chunks_with_titles()
        if store.generation() == gen:
            return gen, [r[0] for r in rows], [baseline_text(r[1], r[2], r[3]) for r in rows]


def _stamp(store: MetaStore, gen: int) -> dict:
    return {"generation": gen, "index_created_at": store.get_meta("created_at"),
            "text_format": TEXT_FORMAT}


def _load(folder: Path, name: str, want: dict):
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text())
        if any(stamp.get(k) != v for k, v in want.items()):
            return None
        loaded = REGISTRY[name].load(folder)
        params = getattr(loaded, "params", None)  # e.g. BM25's k1 and b, saved with it
        if params is not None and params() != REGISTRY[name]().params():
            return None  # built with other parameters than the method's current ones
        return loaded
    except FileNotFoundError:
        return None
    except Exception as e:  # unreadable or half-written by an older version: rebuild
        log.warning("searchkit: baseline %s is unreadable (%s); rebuilding it", folder, e)
        return None


def _save(retriever, folder: Path, stamp: dict) -> None:
    """Write ``retriever`` with its stamp to ``folder``, all or nothing. A folder that cannot
    be written (a read-only index) or a concurrent save of the same baseline only costs a
    rebuild later, never a wrong result: readers check the stamp."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.build-", dir=folder.parent))
    except OSError as e:
        log.debug("searchkit: cannot save baseline %s: %s", folder, e)
        return
    old = None
    try:
        built = work / folder.name
        retriever.save(built)
        (built / STAMP_FILE).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        if folder.exists():  # (renamed away, not deleted, so a failed swap loses nothing)
            old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(folder, old)
        os.rename(built, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        log.debug("searchkit: cannot save baseline %s: %s", folder, e)
        if old is not None:
            try:
                os.rename(old, folder)  # put the previous one back: another reader may use it
            except OSError:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["METHODS", "get_method", "static_baseline", "chunk_texts",
           "check_method"]
