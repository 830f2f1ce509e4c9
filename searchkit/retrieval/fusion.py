"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import BadInput
from .base import ScoredId


def rrf(rankings: Sequence[Sequence[tuple[int, float]]], k: float = 60,
        weights: Sequence[float] | None = None, limit: int | None = None,
        item_weights: Sequence[Mapping[int, float] | None] | None = None) -> list[ScoredId]:
    """Fuse rankings: ``score(d) = sum_i weights[i] * item_weights[i][d] / (k + rank_i(d))``.

    Args:
        rankings: each a best-first list of ``(id, score)``; only the order is used, ranks
            start at 1, and an id repeated within one ranking counts at its first place.
        k: the RRF constant (60 in the paper); must be >= 0.
        weights: one per ranking (default all 1).
        limit: keep only the best ``limit`` fused results.
        item_weights: per ranking, an optional ``{id: multiplier}`` (missing ids: 1); hybrid
            search uses it to scale a keyword rank by how much of the query the text holds.

    Returns:
        ``(id, fused score)`` best first; ties broken by ascending id.
    """
    if k < 0:
        raise BadInput(f"RRF constant k must be >= 0, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    elif len(weights) != len(rankings):
        raise BadInput(f"{len(weights)} weights for {len(rankings)} rankings")
    if item_weights is None:
        item_weights = [None] * len(rankings)
    elif len(item_weights) != len(rankings):
        raise BadInput(f"{len(item_weights)} item weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight, per_item in zip(rankings, weights, item_weights):
        seen: set[int] = set()
        for rank, (doc, _score) in enumerate(ranking, 1):
            if doc in seen:
                continue
            seen.add(doc)
            w = weight * (per_item.get(doc, 1.0) if per_item else 1.0)
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    out = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    if limit is not None:
        out = out[:limit]
    return [ScoredId(int(d), float(s)) for d, s in out]
