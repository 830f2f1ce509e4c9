"""Ranking metrics over plain dictionaries, computed as trec_eval computes them.

A *run* maps a query id to ``{docid: score}`` (higher is better); *qrels* map a query id to
``{docid: relevance}``. A document is relevant when its relevance is >= 1 (trec_eval's default
``relevance_level``); nDCG uses the relevance value itself as the gain.

Ranking ties are broken as trec_eval breaks them: documents are sorted by score descending, then
by docid descending (plain string comparison, which for str equals trec_eval's byte ``strcmp``).
Like trec_eval, which stores scores as C ``float``, scores are compared at single precision:
two doubles that round to the same float32 (1.0 and 1.0 + 1e-9) are a tie. Rankings therefore
never depend on dictionary order, and figures match pytrec_eval (and so BEIR) exactly.

Averaging follows BEIR: a query without any relevant judgment is skipped; a judged query absent
from the run (or with an empty ranking) scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

DEFAULT_METRICS = ("ndcg@10", "recall@100", "mrr@10", "map@100")


def rank(scores: Mapping[str, float], k: int | None = None) -> list[str]:
    """Docids of one query's run, best first, with trec_eval's tie-breaking; top ``k`` if given."""
    docs = list(scores)
    with np.errstate(over="ignore"):
        single = np.asarray([scores[d] for d in docs], dtype=np.float64).astype(np.float32)
    keys = single.tolist()
    order = sorted(range(len(docs)), key=lambda i: (keys[i], docs[i]), reverse=True)
    ranked = [docs[i] for i in order]
    return ranked if k is None else ranked[:k]


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        from ..errors import BadUsage

        raise BadUsage(f"cutoff k must be a positive integer, got {k!r}")


def _num_rel(judged: Mapping[str, int]) -> int:
    return sum(1 for r in judged.values() if r > 0)


def ndcg_at_k(scores: Mapping[str, float], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k of one query (trec_eval ``ndcg_cut.k``): gain = relevance, discount log2(rank+1)."""
    _check_k(k)
    dcg = 0.0
    for i, d in enumerate(rank(scores, k)):
        gain = judged.get(d, 0)
        if gain > 0:
            dcg += gain / math.log2(i + 2)
    ideal = sorted((r for r in judged.values() if r > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(scores: Mapping[str, float], judged: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top k over all relevant documents (trec_eval ``recall.k``)."""
    _check_k(k)
    n = _num_rel(judged)
    if n == 0:
        return 0.0
    return sum(1 for d in rank(scores, k) if judged.get(d, 0) > 0) / n


def mrr_at_k(scores: Mapping[str, float], judged: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top k; 0 when there is none
    (trec_eval ``recip_rank`` on the run cut at k)."""
    _check_k(k)
    for i, d in enumerate(rank(scores, k)):
        if judged.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def map_at_k(scores: Mapping[str, float], judged: Mapping[str, int], k: int) -> float:
    """Average precision cut at k (trec_eval ``map_cut.k``): the sum of precision at each
    relevant document in the top k, divided by the number of relevant documents (not by k)."""
    _check_k(k)
    n = _num_rel(judged)
    if n == 0:
        return 0.0
    hits = 0
    total = 0.0
    for i, d in enumerate(rank(scores, k)):
        if judged.get(d, 0) > 0:
            hits += 1
            total += hits / (i + 1)
    return total / n


METRICS: dict[str, Callable[[Mapping[str, float], Mapping[str, int], int], float]] = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "mrr": mrr_at_k,
    "map": map_at_k,
}


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; raises :class:`~searchkit.errors.BadInput` otherwise."""
    from ..errors import BadUsage

    base, sep, cut = name.strip().lower().partition("@")
    if base not in METRICS or not sep or not cut.isdigit() or int(cut) < 1:
        known = ", ".join(f"{m}@K" for m in METRICS)
        raise BadUsage(f"unknown metric {name!r}: expected one of {known} with K >= 1")
    return base, int(cut)


def judged_queries(qrels: Qrels) -> list[str]:
    """Query ids with at least one relevant judgment: the queries that count (as in BEIR)."""
    return [q for q, judged in qrels.items() if _num_rel(judged) > 0]


def per_query(run: Run, qrels: Qrels, metric: str) -> dict[str, float]:
    """One metric (``"ndcg@10"`` ...) for every query with a relevant judgment; a query
    missing from the run scores 0."""
    base, k = parse_metric(metric)
    fn = METRICS[base]
    return {q: fn(run.get(q, {}), qrels[q], k) for q in judged_queries(qrels)}


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def evaluate(run: Run, qrels: Qrels, metrics: Iterable[str] = DEFAULT_METRICS) -> dict[str, float]:
    """Mean of each metric over the judged queries.

    Args:
        run: ``{qid: {docid: score}}``.
        qrels: ``{qid: {docid: relevance}}``.
        metrics: names such as ``"ndcg@10"``, ``"recall@100"``, ``"mrr@10"``, ``"map@100"``.

    Returns:
        ``{metric name as given: mean value}``.
    """
    return {m: mean(per_query(run, qrels, m).values()) for m in metrics}


__all__ = ["ndcg_at_k", "recall_at_k", "mrr_at_k", "map_at_k", "per_query", "evaluate",
           "parse_metric", "judged_queries", "rank", "mean", "METRICS", "DEFAULT_METRICS"]
