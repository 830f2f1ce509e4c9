"""The contextual encoder's retriever: the index's own FAISS vectors, seen as a Retriever."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from .base import Allowed, ScoredId, allowed_array, check_k

if TYPE_CHECKING:
    from ..index import Index


_lock = threading.Lock()


@contextmanager
def one_faiss_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread for the duration. One query against a flat index of
    ~10k vectors takes ~1 ms on one thread but 100+ ms with OpenMP's workers on a busy
    2-core machine (measured: p50 1.1 ms against 124 ms). The setting is process-wide,
    hence the lock and the restore."""
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


def check_scores(index: "Index", found) -> None:
    """Refuse scores that unit vectors cannot give (NaN, inf, above 1): a damaged store."""
    import math

    from ..errors import IndexDamaged

    bad = [s for _, s in found if not math.isfinite(s) or abs(s) > MAX_SCORE]
    if bad:
        raise IndexDamaged(
            f"index {index.path} gives impossible similarity scores ({bad[0]:.3g}): its "
            f"vectors are damaged; repair them with: search check --repair --index "
            f"{index.path}")


class DenseRetriever:
    """Cosine search over the index's chunk vectors with the index's encoder.

    It is built and kept in sync by the index's write path, so :meth:`build`, :meth:`save`
    and :meth:`load` do not apply.
    """

    name = "dense"

    def __init__(self, index: "Index"):
        self.index = index

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        k = check_k(k)
        if k == 0 or not query or not query.strip():
            return []
        vec = self.index._load_vectors()
        qv = self.index.encoder.encode_query(query)
        with one_faiss_thread():
            found = vec.search(qv, k, allowed_array(allowed))[0]
        check_scores(self.index, found)
        return [ScoredId(i, s) for i, s in found]

    def __len__(self) -> int:
        return len(self.index._load_vectors())
