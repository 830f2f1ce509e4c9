"""Fusing several rankings into one: reciprocal rank fusion (:func:`rrf`, by rank) and the
weighted mean of standardised scores (:func:`zscore`, by score; hybrid's default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import BadInput
from .base import ScoredId


def _per_ranking(rankings: Sequence[Sequence[tuple[int, float]]],
                 weights: Sequence[float] | None,
                 item_weights: Sequence[Mapping[int, float] | None] | None
                 ) -> tuple[Sequence[float], Sequence[Mapping[int, float] | None]]:
    """``weights`` and ``item_weights`` one per ranking (defaults: all 1, none); BadInput
    when a given one has another length."""
    if weights is None:
        weights = [1.0] * len(rankings)
    elif len(weights) != len(rankings):
        raise BadInput(f"{len(weights)} weights for {len(rankings)} rankings")
    if item_weights is None:
        item_weights = [None] * len(rankings)
    elif len(item_weights) != len(rankings):
        raise BadInput(f"{len(item_weights)} item weights for {len(rankings)} rankings")
    return weights, item_weights


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
    weights, item_weights = _per_ranking(rankings, weights, item_weights)
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


def zscore(rankings: Sequence[Sequence[tuple[int, float]]],
           weights: Sequence[float] | None = None, limit: int | None = None,
           item_weights: Sequence[Mapping[int, float] | None] | None = None) -> list[ScoredId]:
    """Fuse scored lists by their standardised scores (a convex combination of normalised
    scores, as in Bruch, Gai and Ingber, "An analysis of fusion functions for hybrid
    retrieval", TOIS 2023): each list's scores become z-scores over that list (its mean 0,
    standard deviation 1), an id a list lacks takes that list's lowest z, and
    ``score(d) = sum_i weights[i] * z_i(d) / sum(weights)``, the weighted mean.

    Unlike :func:`rrf` it keeps *how far* one text stands above the next in each list: a
    passage far ahead in one list is not pulled level with one that is merely first.

    Args:
        rankings: each a best-first list of ``(id, score)``; an id repeated within one list
            counts at its first (best) place.
        weights: one per list (default all 1).
        limit: keep only the best ``limit`` fused results.
        item_weights: per list, an optional ``{id: multiplier in [0, 1]}`` (missing ids: 1)
            that scales how far above the list's lowest z an id stands.

    Returns:
        ``(id, fused score)`` best first; ties broken by ascending id.
    """
    import numpy as np

    weights, item_weights = _per_ranking(rankings, weights, item_weights)
    total = float(sum(weights)) or 1.0
    lists = []  # (ids, z, lowest z, weight) of each non-empty list, one entry per id
    for ranking, weight, per_item in zip(rankings, weights, item_weights):
        if not len(ranking):
            continue
        ids = np.fromiter((int(d) for d, _ in ranking), dtype=np.int64, count=len(ranking))
        s = np.fromiter((float(x) for _, x in ranking), dtype=np.float64, count=len(ranking))
        _, first = np.unique(ids, return_index=True)  # an id counts at its first place
        if len(first) < len(ids):
            first.sort()
            ids, s = ids[first], s[first]
        sd = float(s.std())
        z = (s - s.mean()) / sd if sd > 0 else np.zeros_like(s)
        low = float(z.min())
        if per_item:
            z = low + (z - low) * np.fromiter((per_item.get(int(d), 1.0) for d in ids),
                                              dtype=np.float64, count=len(ids))
        lists.append((ids, z, low, float(weight)))
    if not lists:
        return []
    every = np.unique(np.concatenate([ids for ids, _, _, _ in lists]))
    fused = np.zeros(len(every))
    for ids, z, low, w in lists:  # sum_i w_i * (z_i(d), or list i's lowest where it lacks d)
        v = np.full(len(every), low)
        v[np.searchsorted(every, ids)] = z
        fused += w * v
    fused /= total
    order = np.lexsort((every, -fused))  # best first, ties by ascending id
    if limit is not None:
        order = order[:limit]
    return [ScoredId(int(d), float(x)) for d, x in zip(every[order], fused[order])]
