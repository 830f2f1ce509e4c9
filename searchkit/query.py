"""The read path: retrieve candidates with a method, restrict by filters, group, highlight.

``Index.search`` calls :func:`search`. Methods are named retrievers (dense, tfidf, bm25,
glove, hybrid); filters restrict the candidate chunk ids *before* retrieval, so ``k`` hits
come back whenever ``k`` matching chunks exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import BadUsage
from .types import Hit

if TYPE_CHECKING:
    from .store.meta import MetaStore
    from .store.vectors import VectorIndex


class SearchIndex(Protocol):
    """What the read path needs of an index (:class:`searchkit.index.Index` has it)."""

    store: MetaStore

    @property
    def encoder(self) -> Any: ...

    @property
    def vectors(self) -> VectorIndex: ...

    @property
    def vector_key(self) -> str: ...

    def retriever(self, method: str, fusion=None, by_document: bool = False) -> Any: ...

    def hits(self, ranked: list[tuple[int, float]], method: str) -> list[Hit]: ...

#: The method used when none is named: hybrid (dense and bm25 fused by z-scores, the dense
#: side with sentence evidence; see retrieval/hybrid.py), the best on every dev set of issue
#: #17 (SciFact train, pydocs, manpages: benchmarks/results/levers_*.json, tabled in
#: benchmarks/RESULTS_eval.md). Keyword and contextual matches fail on different queries, so
#: fusing them beats either alone.
DEFAULT_METHOD = "hybrid"
#: How many chunks to fetch per wanted document when grouping by document.
GROUP_FETCH = 4
#: With ``diverse``, MMR picks k hits from this many times k candidates ...
MMR_POOL = 4
#: ... weighing relevance against redundancy (1.0 = relevance only).
MMR_LAMBDA = 0.7


def retrieve(idx: SearchIndex, query: str, k: int, method: str,
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


def search(idx: SearchIndex, query: str, k: int = 10, method: str | None = None,
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
    hits = with_relevance(idx.hits(ranked[:k], method), method, fusion)
    if highlight and hits:
        from .highlight import highlight_hits

        stored = idx.store.sentence_vectors(idx.vector_key, [h.chunk_id for h in hits])
        hits = highlight_hits(idx.encoder, query, hits, stored=stored)
    return hits




#: The z-score fusion's score at which hybrid relevance reaches 1 (see :func:`relevance`).
Z_FULL = 5.0


def relevance(score: float, method: str, fusion=None) -> float | None:
    """``score`` of ``method`` on a 0-1 scale that means the same for every query:

    * ``dense``, ``tfidf``, ``glove`` (the methods registered as ``cosine``): the cosine
      similarity, negatives as 0;
    * ``hybrid`` fused by z-scores (the default): the fused score, how many standard
      deviations the text stands above the mean of each method's 100 best candidates
      (weighted mean over the methods), over :data:`Z_FULL`: 1 means at least 5 standard
      deviations (on SciFact and pydocs the relevant hits of a top 10 have a median of about
      4, the others about 1.3: benchmarks/RESULTS_eval.md), 0 the candidates' average or below;
    * ``hybrid`` fused by ranks (RRF): the fused score over the best a text can get, first
      in every fused ranking with full query coverage: ``sum(weights) / (rrf_k + 1)``; 1
      means every method ranked it first, about 0.5 that one of two did;
    * ``bm25``: None (its scores grow with the query's length and the corpus; no scale).
    """
    from .retrieval import METHODS

    if method in METHODS and METHODS[method].cosine:
        return round(min(max(score, 0.0), 1.0), 4)
    if method == "hybrid":
        from .retrieval.hybrid import Fusion

        f = fusion or Fusion()
        if f.combine == "zscore":
            return round(min(max(score / Z_FULL, 0.0), 1.0), 4)
        best = sum(f.weights or [1.0] * len(f.methods)) / (f.k + 1)
        return round(min(max(score / best, 0.0), 1.0), 4) if best > 0 else None
    return None


def with_relevance(hits: list[Hit], method: str, fusion=None) -> list[Hit]:
    """``hits`` with :attr:`Hit.relevance` set (see :func:`relevance`)."""
    import dataclasses

    return [dataclasses.replace(h, relevance=relevance(h.score, method, fusion)) for h in hits]


def _grouped(idx: SearchIndex, query: str, k: int, method: str,
             allowed: np.ndarray | None, fusion) -> list[tuple[int, float]]:
    fetch = k * GROUP_FETCH
    while True:
        ranked = retrieve(idx, query, fetch, method, allowed, fusion, group=True)
        best = _best_per_doc(idx, ranked)
        total = len(idx.vectors) if allowed is None else len(allowed)
        if len(best) >= k or len(ranked) < fetch or fetch >= total:
            return best[:k]
        fetch *= 4


def mmr(idx: SearchIndex, ranked: list[tuple[int, float]], k: int,
        lam: float = MMR_LAMBDA) -> list[tuple[int, float]]:
    """Maximal marginal relevance: pick, one at a time, the candidate that best trades its
    relevance (scores min-max scaled, so any method works) against its cosine to those
    already picked (their dense vectors). Scores are kept as retrieved."""
    if len(ranked) <= 1:
        return ranked[:k]
    vec = idx.vectors
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


def _best_per_doc(idx: SearchIndex, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    docs = idx.store.doc_ids_of_chunks([c for c, _ in ranked])
    seen, out = set(), []
    for cid, score in ranked:
        d = docs.get(cid)
        if d is None or d in seen:
            continue
        seen.add(d)
        out.append((cid, score))
    return out


def check_query(query) -> str:
    """``query`` cleaned of unprintable characters, or BadUsage when nothing usable is left."""
    if not isinstance(query, str) or not query.strip():
        raise BadUsage("empty query")
    if len(query) > 10_000:
        raise BadUsage(f"query too long ({len(query)} characters; the limit is 10000)")
    cleaned = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in query)
    if not cleaned.strip():
        raise BadUsage("query has no printable characters")
    return cleaned


def hits_from_rows(ranked: list[tuple[int, float]], rows: dict[int, dict],
                   method: str) -> list[Hit]:
    """:class:`Hit` objects for ``(chunk id, score)`` pairs, from chunk rows joined with
    their document (``chunks_by_ids``); a chunk removed meanwhile is passed over."""
    hits: list[Hit] = []
    for cid, score in ranked:
        r = rows.get(cid)
        if r is None:  # removed since the vector index was loaded
            continue
        hits.append(Hit(rank=len(hits) + 1, score=round(float(score), 6), chunk_id=cid,
                        doc_id=r["doc_id"], path=display_path(r["path"]),
                        title=r["title"], text=r["text"], start_char=r["start_char"],
                        end_char=r["end_char"], start_line=r["start_line"],
                        end_line=r["end_line"], page=r["page"], heading=r["heading"],
                        method=method, unit=r.get("unit")))
    return hits


def display_path(path: str) -> str:
    """A stored path relative to the current directory when it lies below it."""
    if path.startswith("text:") or not os.path.isabs(path):
        return path
    try:
        return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path
    except ValueError:
        return path
