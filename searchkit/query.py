"""The read path: retrieve candidates with a method, restrict by filters, group, highlight.

``Index.search`` calls :func:`search`. Methods are named retrievers (dense, tfidf, bm25,
glove, hybrid); filters restrict the candidate chunk ids *before* retrieval, so ``k`` hits
come back whenever ``k`` matching chunks exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .types import Hit

if TYPE_CHECKING:
    from .index import Index

#: The method used when none is named: hybrid (RRF, k=60, of dense and bm25, bm25 ranks scaled
#: by query coverage cubed, see retrieval/hybrid.py), the best on the dev set, SciFact's train
#: split (figures: benchmarks/results/eval_scifact.json and eval_scifact_train_coverage3.json,
#: tabled in benchmarks/RESULTS_eval.md). Keyword and contextual matches fail on different
#: queries, so fusing them beats either alone.
DEFAULT_METHOD = "hybrid"
#: How many chunks to fetch per wanted document when grouping by document.
GROUP_FETCH = 4
#: With ``diverse``, MMR picks k hits from this many times k candidates ...
MMR_POOL = 4
#: ... weighing relevance against redundancy (1.0 = relevance only).
MMR_LAMBDA = 0.7


def retrieve(idx: "Index", query: str, k: int, method: str,
             allowed: np.ndarray | None = None, fusion=None,
             group: bool = False) -> list[tuple[int, float]]:
    """Ranked ``(chunk_id, score)`` for one method of the registry
    (:data:`searchkit.retrieval.METHODS`: ``dense``, ``tfidf``, ``bm25``, ``glove``,
    ``hybrid`` ...).

    Args:
        fusion: what ``hybrid`` fuses (a :class:`~searchkit.retrieval.hybrid.Fusion`).
        group: the caller keeps one chunk per document; ``hybrid`` then fuses document
            ranks rather than chunk ranks.
    """
    return list(idx.retriever(method, fusion=fusion, by_document=group).search(
        query, k, allowed))


def search(idx: "Index", query: str, k: int = 10, method: str | None = None,
           allowed: np.ndarray | None = None, group: bool = False,
           fusion=None, diverse: bool = False, highlight: bool = False) -> list[Hit]:
    """Top ``k`` hits: one per document when ``group``, re-ranked by MMR when ``diverse``,
    with best-sentence ``highlights`` when ``highlight``."""
    method = method or DEFAULT_METHOD
    if allowed is not None and len(allowed) == 0:
        return []
    want = k * MMR_POOL if diverse else k
    ranked = _grouped(idx, query, want, method, allowed, fusion) if group else \
        retrieve(idx, query, want, method, allowed, fusion)
    if diverse:
        ranked = mmr(idx, ranked, k)
    hits = with_relevance(idx._hits(ranked[:k], method), method, fusion)
    if highlight and hits:
        from .highlight import highlight_hits

        stored = idx.store.sentence_vectors(idx.vector_key, [h.chunk_id for h in hits])
        hits = highlight_hits(idx.encoder, query, hits, stored=stored)
    return hits




def relevance(score: float, method: str, fusion=None) -> float | None:
    """``score`` of ``method`` on a 0-1 scale that means the same for every query:

    * ``dense``, ``tfidf``, ``glove`` (the methods registered as ``cosine``): the cosine
      similarity, negatives as 0;
    * ``hybrid``: the fused score over the best a text can get, first in every fused ranking
      with full query coverage: ``sum(weights) / (rrf_k + 1)``; 1 means every method ranked
      it first, about 0.5 that one of two did;
    * ``bm25``: None (its scores grow with the query's length and the corpus; no scale).
    """
    from .retrieval import METHODS

    if method in METHODS and METHODS[method].cosine:
        return round(min(max(score, 0.0), 1.0), 4)
    if method == "hybrid":
        from .retrieval.hybrid import Fusion

        f = fusion or Fusion()
        best = sum(f.weights or [1.0] * len(f.methods)) / (f.k + 1)
        return round(min(max(score / best, 0.0), 1.0), 4) if best > 0 else None
    return None


def with_relevance(hits: list[Hit], method: str, fusion=None) -> list[Hit]:
    """``hits`` with :attr:`Hit.relevance` set (see :func:`relevance`)."""
    import dataclasses

    return [dataclasses.replace(h, relevance=relevance(h.score, method, fusion)) for h in hits]


def _grouped(idx: "Index", query: str, k: int, method: str,
             allowed: np.ndarray | None, fusion) -> list[tuple[int, float]]:
    fetch = k * GROUP_FETCH
    while True:
        ranked = retrieve(idx, query, fetch, method, allowed, fusion, group=True)
        best = _best_per_doc(idx, ranked)
        total = len(idx._load_vectors()) if allowed is None else len(allowed)
        if len(best) >= k or len(ranked) < fetch or fetch >= total:
            return best[:k]
        fetch *= 4


def mmr(idx: "Index", ranked: list[tuple[int, float]], k: int,
        lam: float = MMR_LAMBDA) -> list[tuple[int, float]]:
    """Maximal marginal relevance: pick, one at a time, the candidate that best trades its
    relevance (scores min-max scaled, so any method works) against its cosine to those
    already picked (their dense vectors). Scores are kept as retrieved."""
    if len(ranked) <= 1:
        return ranked[:k]
    vec = idx._load_vectors()
    vecs = np.stack([vec.reconstruct(c) for c, _ in ranked])
    rel = np.asarray([s for _, s in ranked], dtype=np.float32)
    span = float(rel.max() - rel.min())
    rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    sim = vecs @ vecs.T
    picked = [0]
    max_sim = sim[0].copy()
    while len(picked) < min(k, len(ranked)):
        gain = lam * rel - (1 - lam) * max_sim
        gain[picked] = -np.inf
        j = int(np.argmax(gain))
        picked.append(j)
        max_sim = np.maximum(max_sim, sim[j])
    return [ranked[j] for j in picked]


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
