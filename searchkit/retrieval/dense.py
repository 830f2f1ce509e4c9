"""The contextual encoder's retriever: the index's own FAISS vectors, seen as a Retriever."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Allowed, ScoredId, allowed_array, check_k

if TYPE_CHECKING:
    import numpy as np

    from ..store.vectors import VectorIndex


_lock = threading.Lock()


@contextmanager
def one_faiss_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread for the duration. One query against a flat index of
    ~10k vectors is little work; OpenMP's worker threads cost far more than they save on a
    busy 2-core machine (measured once, at p50). The setting is process-wide, hence the
    lock and the restore."""
    import faiss

    with _lock:
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(threads)


#: Cosine scores of unit vectors lie in [-1, 1]; beyond this the stored vectors are damaged.
MAX_SCORE = 1.01


def checked_search(where: Path, vec, qv, k: int, allowed=None) -> list[tuple[int, float]]:
    """``vec.search`` for one query, refused when the vector file shows damage (the index
    folder ``where`` is named in the error)."""
    found = vec.search(qv, k, allowed)[0]
    if vec.kind == "flat":
        expect = min(k, len(vec) if allowed is None else len(allowed))
    else:
        expect = None
    check_scores(where, found, vec, expect)
    return found


def check_scores(where: Path, found, vec=None, expect: int | None = None) -> None:
    """Refuse scores that unit vectors cannot give (NaN, inf, above 1), hits whose vectors
    are not of unit length, and an exact search that returns fewer than ``expect`` hits
    (FAISS drops NaN scores): a damaged vector file. O(k): the file is hashed only
    when its size or modification time changed (see searchkit.store.vectors), so this is
    what catches damage in place, on the vectors a query returns; `search check` looks at
    every vector."""
    import math

    import numpy as np

    from ..errors import IndexDamaged

    what = None
    bad = [s for _, s in found if not math.isfinite(s) or abs(s) > MAX_SCORE]
    if expect is not None and len(found) < expect:
        what = "fewer hits than it holds vectors (vectors that are not numbers score nothing)"
    elif bad:
        what = f"impossible similarity scores ({bad[0]:.3g})"
    elif vec is not None and found:
        _, vs = vec.vectors_of([i for i, _ in found])
        norms = np.linalg.norm(vs, axis=1) if len(vs) else np.ones(1)
        if not np.isfinite(norms).all() or (np.abs(norms[norms > 0] - 1) > 0.01).any():
            what = "vectors that are not of unit length"
    if what:
        raise IndexDamaged(
            f"index {where} gives {what}: its vector file is damaged; repair it with: "
            f"search check --repair --index {where}")


class DenseRetriever:
    """Cosine search over an index's chunk vectors with its encoder.

    The vectors are built and kept in sync by the index's write path, so :meth:`build`,
    :meth:`save` and :meth:`load` do not apply.

    Args:
        vectors: gives the chunk vectors of the index's current generation.
        encode_query: the query's unit vector (the index's encoder).
        where: the index folder, named when its vectors show damage.
    """

    name = "dense"

    def __init__(self, vectors: Callable[[], VectorIndex],
                 encode_query: Callable[[str], np.ndarray], where: Path):
        self.vectors, self.encode_query, self.where = vectors, encode_query, where

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        k = check_k(k)
        if k == 0 or not query or not query.strip():
            return []
        vec = self.vectors()
        qv = self.encode_query(query)
        with one_faiss_thread():
            found = checked_search(self.where, vec, qv, k, allowed_array(allowed))
        return [ScoredId(i, s) for i, s in found]

    def __len__(self) -> int:
        return len(self.vectors())


class SentenceEvidence:
    """A dense ranking re-scored with sentence-level evidence: each passage of ``dense``'s
    top ``k`` scores ``(1 - weight) * its cosine + weight * its best sentence's cosine`` to
    the query, the sentence vectors being those stored at index time for highlights (pooled
    in context, int8; :mod:`searchkit.sentence_vectors`). A passage without stored sentence
    vectors keeps its own cosine. Only the order within the top ``depth`` changes (all of
    the top ``k`` when ``depth`` is None); the passages below keep their places and scores.

    Args:
        dense: the passage retriever (its ``search`` and ``encode_query``).
        sentence_vectors: ``chunk ids -> {chunk id: packed sentence vectors}``.
        weight: the best sentence's share, in [0, 1].
        depth: how many of the dense ranking's first passages are re-scored (None: all).
        matrix: gives the same vectors as a memory-mapped matrix
            (:class:`searchkit.store.sentences.SentenceMatrix`), or None when its file is
            missing or stale; ``sentence_vectors`` is read then.
    """

    name = "dense"

    def __init__(self, dense: DenseRetriever,
                 sentence_vectors: Callable[[list[int]], dict[int, bytes]], weight: float,
                 depth: int | None = None, matrix: Callable[[], Any] | None = None):
        self.dense, self.sentence_vectors, self.weight = dense, sentence_vectors, weight
        self.depth, self.matrix = depth, matrix

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        ranked = self.dense.search(query, k, allowed)
        if not ranked or self.weight <= 0:
            return ranked
        head, tail = ranked[:self.depth], ranked[len(ranked[:self.depth]):]
        best = self.best_sentence(query, [i for i, _ in head])
        w = self.weight
        scored = [ScoredId(i, (1 - w) * s + w * best[i] if i in best else s) for i, s in head]
        return sorted(scored, key=lambda x: -x[1]) + list(tail)

    def best_sentence(self, query: str, ids: list[int]) -> dict[int, float]:
        """``{chunk id: its best sentence's cosine to the query}`` for the chunks of ``ids``
        that have stored sentence vectors."""
        import numpy as np

        from ..sentence_vectors import SCALE

        qv = np.asarray(self.dense.encode_query(query), dtype=np.float32).reshape(-1)
        held = self.matrix() if self.matrix is not None else None
        if held is not None:
            keys, counts, mat = held.rows_of(ids)
        else:
            keys, counts, mat = self._from_blobs(ids, qv.shape[0])
        if not len(keys):
            return {}
        # one pass over every sentence of every chunk; einsum, not ``@``: numpy hands an
        # int8 @ float32 product to the multi-threaded BLAS, whose threads wait on the
        # encoder's that have just run (300 chunks on 2 cores: 2.543 ms against 0.246 ms;
        # benchmarks/results/sentence_product.json)
        sims = np.einsum("ij,j->i", mat, (qv / SCALE).astype(np.float32))
        starts = np.concatenate(([0], np.cumsum(counts[:-1])))
        return dict(zip(np.asarray(keys).tolist(), np.maximum.reduceat(sims, starts).tolist()))

    def _from_blobs(self, ids: list[int], dim: int):
        """``(ids, counts, int8 rows)`` of the chunks of ``ids`` with stored sentence
        vectors, read from the database's blobs."""
        import numpy as np

        from ..sentence_vectors import vectors_bytes

        keys, counts, parts = [], [], []
        for i, blob in self.sentence_vectors(ids).items():
            n, raw = vectors_bytes(blob, dim)
            if n and len(raw) == n * dim:
                keys.append(i)
                counts.append(n)
                parts.append(raw)
        mat = np.frombuffer(b"".join(parts), dtype=np.int8).reshape(-1, dim)
        return keys, np.asarray(counts, dtype=np.int64), mat

    def __len__(self) -> int:
        return len(self.dense)


def dense_method(index, fusion=None, by_document: bool = False) -> DenseRetriever:
    """The ``dense`` search method of ``index`` (an :class:`~searchkit.index.Index`;
    registered in :data:`searchkit.retrieval.METHODS`)."""
    return DenseRetriever(lambda: index.vectors, lambda q: index.encoder.encode_query(q),
                          index.path)
