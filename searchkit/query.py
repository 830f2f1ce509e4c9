"""The read path: retrieve candidates with a method, restrict by filters, group, highlight.

``Index.search`` calls :func:`search`. Methods are named retrievers (dense, tfidf, bm25,
glove, hybrid); filters restrict the candidate chunk ids *before* retrieval, so ``k`` hits
come back whenever ``k`` matching chunks exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .errors import BadInput
from .types import Hit

if TYPE_CHECKING:
    from .index import Index

#: The method used when none is named.
DEFAULT_METHOD = "dense"
#: How many chunks to fetch per wanted document when grouping by document.
GROUP_FETCH = 4


def dense_search(idx: "Index", query: str, k: int, allowed: np.ndarray | None = None
                 ) -> list[tuple[int, float]]:
    """Chunk ids and cosine scores from the index's encoder and FAISS."""
    from .retrieval.dense import one_faiss_thread

    vec = idx._load_vectors()
    qv = idx.encoder.encode_query(query)
    with one_faiss_thread():
        return vec.search(qv, k, allowed)[0]


def retrieve(idx: "Index", query: str, k: int, method: str,
             allowed: np.ndarray | None = None, fusion=None,
             group: bool = False) -> list[tuple[int, float]]:
    """Ranked ``(chunk_id, score)`` for one method (``dense``, ``tfidf``, ``bm25``,
    ``glove``, ``hybrid``; see :mod:`searchkit.retrieval.methods`).

    Args:
        fusion: what ``hybrid`` fuses (a :class:`~searchkit.retrieval.hybrid.Fusion`).
        group: the caller keeps one chunk per document; ``hybrid`` then fuses document
            ranks rather than chunk ranks.
    """
    if method == "dense":
        return dense_search(idx, query, k, allowed)
    return list(idx.retriever(method, fusion=fusion, by_document=group).search(
        query, k, allowed))


def search(idx: "Index", query: str, k: int = 10, method: str | None = None,
           allowed: np.ndarray | None = None, group: bool = False,
           fusion=None) -> list[Hit]:
    method = method or DEFAULT_METHOD
    if allowed is not None and len(allowed) == 0:
        return []
    if not group:
        return idx._hits(retrieve(idx, query, k, method, allowed, fusion), method)
    fetch = k * GROUP_FETCH
    while True:
        ranked = retrieve(idx, query, fetch, method, allowed, fusion, group=True)
        best = _best_per_doc(idx, ranked)
        total = len(idx._load_vectors()) if allowed is None else len(allowed)
        if len(best) >= k or len(ranked) < fetch or fetch >= total:
            return idx._hits(best[:k], method)
        fetch *= 4


def _best_per_doc(idx: "Index", ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    docs = idx.store.doc_ids_of_chunks([c for c, _ in ranked])
    seen, out = set(), []
    for cid, score in ranked:
        d = docs.get(cid)
        if d is None or d in seen:
            continue
        seen.add(d)
        out.append((cid, score))
    return out
