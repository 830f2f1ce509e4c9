"""Looking after an index: what it holds (:func:`sources`), and whether its files can be
trusted (:func:`check`, with repair). ``Index.sources`` and ``Index.check`` call these."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .config import VECTORS_FILE

if TYPE_CHECKING:
    from .index import Index

#: A stored unit vector whose norm is further than this from 1 is damaged.
NORM_TOLERANCE = 1e-3
#: The FAISS copy of a vector may differ from the database's by this much (float32 noise).
VECTOR_TOLERANCE = 1e-4


@dataclass
class Source:
    """A folder or file given to ``search index``, and how many documents it holds now.
    ``path`` is None for documents under no recorded root (texts added through the API,
    documents of an index made before roots were recorded)."""

    path: str | None
    documents: int
    last_sync: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def sources(idx: "Index") -> list[Source]:
    """The roots recorded by syncs, each with its document count, then the rest."""
    roots = idx.store.sources()
    docs = idx.store.document_paths()
    out, counted = [], set()
    for root, last in roots:
        prefix = root.rstrip(os.sep) + os.sep
        mine = {p for p in docs if p == root or p.startswith(prefix)}
        counted |= mine
        out.append(Source(root, len(mine), last))
    rest = len(docs) - len(counted)
    if rest:
        out.append(Source(None, rest))
    return out


@dataclass
class CheckReport:
    """What :func:`check` found and, with ``repair``, fixed.

    Attributes:
        ok: nothing is wrong now (after the repairs made).
        problems: what was found, one line each.
        repaired: what was fixed, one line each.
        notes: what is not wrong but worth knowing (a cache to write again), one line each.
        chunks: chunks in the database; vectors: vectors in the FAISS file.
    """

    path: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    vectors: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def check(idx: "Index", repair: bool = False) -> CheckReport:
    """Check the database (SQLite ``quick_check``, a stored vector for every chunk, unit
    norms) and the FAISS file (its SHA-256 against the sidecar, its count and every vector
    against the database). With ``repair`` (takes the write lock): missing or damaged stored
    vectors are embedded again from the chunk text, and a damaged, stale or missing FAISS
    file is rebuilt from the database's vectors. A damaged database cannot be repaired in
    place: the report says to rebuild from the documents.
    """
    t0 = time.perf_counter()
    rep = CheckReport(path=str(idx.path))
    with idx.writing() if repair else nullcontext():
        try:
            _check_database(idx, rep, repair)
            if not any(p.startswith("database") for p in rep.problems):
                vector_problems = _check_vector_file(idx, rep)
                rep.problems += vector_problems
                if vector_problems and repair:
                    vec = idx.build_vectors()
                    idx.save_vectors(vec)
                    rep.vectors = vec.index.ntotal
                    rep.repaired.append(f"vector file rebuilt from the {len(vec)} vectors "
                                        "stored in the database")
                _check_sentence_matrix(idx, rep, repair)
        except sqlite3.DatabaseError as e:
            rep.problems.append(f"database damaged ({e})")
    if any(p.startswith("database") for p in rep.problems):
        rep.problems.append(f"the database cannot be repaired in place: rebuild the index "
                            f"from your documents with: search index PATHS --index "
                            f"{idx.path} --rebuild")
    fixed = len(rep.repaired)
    rep.ok = not rep.problems or (repair and fixed > 0 and not any(
        p.startswith("database") for p in rep.problems))
    rep.seconds = time.perf_counter() - t0
    return rep


def _check_sentence_matrix(idx: "Index", rep: CheckReport, repair: bool) -> None:
    """The sentence matrix file (:mod:`searchkit.store.sentences`) is a cache: when it is
    missing or stale, queries read the database's copy; a note, and ``repair`` writes it."""
    if idx.sentence_matrix is not None or not rep.chunks:
        return
    if repair:
        n = idx.save_sentence_matrix()
        rep.repaired.append(f"sentence matrix written for {n} chunks")
    else:
        rep.notes.append("sentence matrix: missing or stale (queries read the sentence "
                         "vectors from the database, a little slower; --repair writes it)")


def _check_database(idx: "Index", rep: CheckReport, repair: bool) -> None:
    store = idx.store
    rows = store.quick_check()
    if rows != ["ok"]:
        rep.problems.append("database: quick_check found " + "; ".join(rows[:3])
                            + (f" (+{len(rows) - 3} more)" if len(rows) > 3 else ""))
        return
    rep.chunks = store.count("chunks")
    key, dim = idx.vector_key, idx.manifest.dim
    missing = store.chunks_without_vector(key)
    bad_hashes: set[str] = set()
    for h, blob in store.stored_vectors(key):
        v = np.frombuffer(blob, dtype=np.float32) if len(blob) == 4 * dim else None
        if v is None or not np.isfinite(v).all():
            bad_hashes.add(h)
            continue
        n = float(np.linalg.norm(v))
        if n != 0.0 and abs(n - 1.0) > NORM_TOLERANCE:
            bad_hashes.add(h)
    if not missing and not bad_hashes:
        return
    if bad_hashes:
        rep.problems.append(f"vectors: {len(bad_hashes)} stored vectors are damaged "
                            "(not unit length, or not numbers)")
    if missing:
        rep.problems.append(f"vectors: {len(missing)} chunks have no stored vector")
    if repair:
        texts = store.texts_without_vector(key)
        for h in bad_hashes:
            text = store.chunk_text_of_hash(h)
            if text is not None:
                texts[h] = text
        hashes = list(texts)
        vecs = idx.encoder.encode_documents([texts[h] for h in hashes]) if hashes else None
        with store.transaction():
            if vecs is not None:
                store.put_vectors(key, hashes, vecs)
            store.bump_generation()  # the FAISS file is now stale: rebuilt below
        rep.repaired.append(f"{len(hashes)} chunk texts embedded again")


def _check_vector_file(idx: "Index", rep: CheckReport) -> list[str]:
    """Problems of the FAISS file (an empty list when it is sound)."""
    import json

    from .store.vectors import VectorIndex, file_sha256, sidecar

    path = idx.path / VECTORS_FILE
    if not path.exists():
        return ["vector file: missing"] if rep.chunks else []
    try:
        meta = json.loads(sidecar(path).read_text())
    except (OSError, ValueError):
        return ["vector file: its sidecar (vectors.faiss.json) is missing or unreadable"]
    if meta.get("sha256") and file_sha256(path) != meta["sha256"]:
        return ["vector file: its SHA-256 differs from the one recorded when it was written "
                "(damaged)"]
    gen = idx.store.generation()
    if meta.get("generation") != gen:
        return [f"vector file: built from generation {meta.get('generation')}, the database "
                f"is at {gen} (stale)"]
    vec = VectorIndex.load(path, gen, idx.vector_key, idx.manifest.dim)
    if vec is None:
        return ["vector file: unreadable or not the index's encoder/dimension"]
    rep.vectors = vec.index.ntotal
    if len(vec) != rep.chunks:
        return [f"vector file: holds {len(vec)} vectors for {rep.chunks} chunks"]
    worst = 0.0
    with idx.store.transaction():
        for ids, vecs in idx.store.iter_chunk_vectors(idx.vector_key, idx.manifest.dim):
            try:
                got = vec.index.reconstruct_batch(np.ascontiguousarray(ids))
            except RuntimeError:
                return ["vector file: lacks vectors of chunks in the database"]
            if not np.isfinite(got).all():
                return ["vector file: holds values that are not numbers"]
            worst = max(worst, float(np.abs(got - vecs).max()) if len(ids) else 0.0)
    if worst > VECTOR_TOLERANCE:
        return [f"vector file: vectors differ from the database's (by up to {worst:.3g})"]
    return []
