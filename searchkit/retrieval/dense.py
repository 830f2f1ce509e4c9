"""The contextual encoder's retriever: the index's own FAISS vectors, seen as a Retriever."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Allowed, ScoredId, allowed_array, check_k

if TYPE_CHECKING:
    from ..index import Index


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
        return [ScoredId(i, s) for i, s in vec.search(qv, k, allowed_array(allowed))[0]]

    def __len__(self) -> int:
        return len(self.index._load_vectors())
