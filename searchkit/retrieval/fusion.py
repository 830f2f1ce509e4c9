"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009)."""

from __future__ import annotations

from typing import Sequence

from ..errors import BadInput
from .base import ScoredId


def rrf(rankings: Sequence[Sequence[tuple[int, float]]], k: float = 60,
        weights: Sequence[float] | None = None, limit: int | None = None) -> list[ScoredId]:
    """Fuse rankings: ``score(d) = sum_i weights[i] / (k + rank_i(d))``.

    Args:
        rankings: each a best-first list of ``(id, score)``; only the order is used, ranks
            start at 1, and an id repeated within one ranking counts at its first place.
        k: the RRF constant (60 in the paper); must be >= 0.
        weights: one per ranking (default all 1).
        limit: keep only the best ``limit`` fused results.

    Returns:
        ``(id, fused score)`` best first; ties broken by ascending id.
    """
    if k < 0:
        raise BadInput(f"RRF constant k must be >= 0, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    elif len(weights) != len(rankings):
        raise BadInput(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[int] = set()
        for rank, (doc, _score) in enumerate(ranking, 1):
            if doc in seen:
                continue
            seen.add(doc)
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    out = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    if limit is not None:
        out = out[:limit]
    return [ScoredId(int(d), float(s)) for d, s in out]
