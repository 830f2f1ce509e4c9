"""Hybrid fusion that scales a keyword rank by how much of the query the text holds."""

import pytest

from searchkit.errors import BadInput
from searchkit.retrieval.bm25 import BM25Retriever
from searchkit.retrieval.fusion import rrf, zscore
from searchkit.retrieval.hybrid import Fusion, HybridRetriever

TEXTS = {
    10: "The reticulated python is the longest snake in the world.",
    20: "We walked along the river and watched the herons fish.",
    30: "The world cup final was played on a wet evening.",
    40: "A python script reads the log file and counts the errors.",
}


@pytest.fixture(scope="module")
def bm25():
    r = BM25Retriever()
    r.build(list(TEXTS), list(TEXTS.values()))
    return r


def test_rrf_item_weights_by_hand():
    a = [(1, 0.9), (2, 0.5)]
    b = [(2, 3.0), (3, 1.0)]
    fused = dict(rrf([a, b], k=10, item_weights=[None, {2: 0.5}]))
    assert fused[1] == pytest.approx(1 / 11)
    assert fused[2] == pytest.approx(1 / 12 + 0.5 / 11)
    assert fused[3] == pytest.approx(1 / 12)  # missing from the map: weight 1
    with pytest.raises(BadInput):
        rrf([a, b], item_weights=[None])


def test_bm25_coverage_counts_query_terms(bm25):
    cov = bm25.coverage("longest snake in the world", [10, 30, 20])
    # terms after stop words: longest, snake, world
    assert cov[10] == pytest.approx(1.0)
    assert cov[30] == pytest.approx(1 / 3)
    assert cov[20] == 0.0
    # a term the corpus never uses counts as missing
    assert bm25.coverage("longest serpent", [10])[10] == pytest.approx(0.5)


class _Fixed:
    """A stand-in dense retriever with a fixed ranking."""

    def __init__(self, ranking):
        self.ranking = ranking

    def search(self, query, k, allowed=None):
        return self.ranking[:k]


def test_incidental_keyword_match_loses_its_rank(bm25):
    dense = _Fixed([(10, 0.6), (40, 0.3), (20, 0.2), (30, 0.1)])
    q = "biggest serpent on earth world"
    plain = HybridRetriever({"dense": dense, "bm25": bm25},
                            Fusion(coverage_power=0, combine="rrf")).search(q, 4)
    scaled = HybridRetriever({"dense": dense, "bm25": bm25},
                             Fusion(coverage_power=3, combine="rrf")).search(q, 4)
    # doc 30 shares only "world" with the question: plain RRF lifts it, coverage does not
    assert dict(plain)[30] > dict(scaled)[30]
    assert scaled[0].id == 10
    assert plain == rrf([dense.search(q, 100), bm25.search(q, 100)], k=60, limit=4)


def test_coverage_power_is_validated():
    with pytest.raises(BadInput):
        Fusion(coverage_power=-1)
    assert Fusion().to_dict()["coverage_power"] == 1.0  # zscore's, chosen on the dev sets
    assert Fusion(combine="rrf").coverage_power == 3.0  # rrf's, as before zscore


def test_zscore_by_hand():
    a = [(1, 0.9), (2, 0.5), (3, 0.1)]  # mean 0.5, sd sqrt(0.32/3)
    b = [(2, 4.0), (4, 2.0)]  # mean 3, sd 1
    sd = (0.32 / 3) ** 0.5
    za = {1: 0.4 / sd, 2: 0.0, 3: -0.4 / sd}
    fused = dict(zscore([a, b]))
    assert fused[1] == pytest.approx((za[1] + -1.0) / 2)  # missing from b: b's lowest z
    assert fused[2] == pytest.approx((0.0 + 1.0) / 2)
    assert fused[3] == pytest.approx((za[3] - 1.0) / 2)
    assert fused[4] == pytest.approx((za[3] - 1.0) / 2)  # missing from a: a's lowest z
    assert [i for i, _ in zscore([a, b])] == [2, 1, 3, 4]  # 3 and 4 tie: the lower id first
    w = dict(zscore([a, b], weights=[3, 1]))
    assert w[1] == pytest.approx((3 * za[1] - 1.0) / 4)
    assert len(zscore([a, b], limit=2)) == 2
    with pytest.raises(BadInput):
        zscore([a, b], weights=[1])


def test_zscore_keeps_the_gap_rrf_forgets():
    """A text far ahead in one list beats one merely first in the other: RRF ties them."""
    dense = [(1, 0.9), (2, 0.31), (3, 0.3), (4, 0.29)]
    bm25 = [(2, 10.0), (1, 9.9), (4, 9.8), (3, 9.7)]
    assert zscore([dense, bm25])[0].id == 1
    assert rrf([dense, bm25])[0].score == rrf([dense, bm25])[1].score


def test_zscore_edge_cases():
    assert zscore([[(5, 1.0), (6, 1.0)]]) == [(5, 0.0), (6, 0.0)]  # no spread: all 0
    assert zscore([[], [(7, 2.0)]]) == [(7, 0.0)]  # an empty list adds nothing
    assert zscore([[(1, 3.0), (1, 1.0), (2, 1.0)]])[0].id == 1  # first place counts
    # item weights pull an id towards its list's lowest z, not below
    scaled = dict(zscore([[(1, 3.0), (2, 2.0), (3, 1.0)]], item_weights=[{1: 0.0}]))
    assert scaled[1] == pytest.approx(scaled[3])


def _zscore_reference(rankings, weights=None, limit=None, item_weights=None):
    """z-score fusion written plainly, one dict per list (the implementation before it was
    vectorised)."""
    import numpy as np

    weights = weights or [1.0] * len(rankings)
    item_weights = item_weights or [None] * len(rankings)
    total = float(sum(weights)) or 1.0
    lists = []
    for ranking, weight, per_item in zip(rankings, weights, item_weights):
        best = {}
        for doc, score in ranking:
            best.setdefault(int(doc), float(score))
        if not best:
            continue
        s = np.fromiter(best.values(), dtype=np.float64, count=len(best))
        sd = float(s.std())
        z = (s - s.mean()) / sd if sd > 0 else np.zeros_like(s)
        low = float(z.min())
        if per_item:
            z = low + (z - low) * np.asarray([per_item.get(d, 1.0) for d in best])
        lists.append((dict(zip(best, z.tolist())), low, float(weight)))
    ids = {d for zs, _, _ in lists for d in zs}
    fused = {d: sum(w * zs.get(d, low) for zs, low, w in lists) / total for d in ids}
    out = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return out[:limit] if limit is not None else out


def test_zscore_matches_the_plain_reference():
    import random

    rng = random.Random(7)
    for trial in range(300):
        n_lists = rng.randint(1, 3)
        rankings, items = [], []
        for _ in range(n_lists):
            n = rng.choice([0, 1, 2, 5, 40])
            ids = [rng.randint(0, 60) for _ in range(n)]  # repeats allowed
            scores = sorted((round(rng.uniform(-1, 30), rng.choice([0, 2, 6]))
                             for _ in range(n)), reverse=True)
            rankings.append(list(zip(ids, scores)))
            items.append({i: rng.random() for i in ids if rng.random() < 0.5}
                         if rng.random() < 0.5 else None)
        weights = [rng.choice([0.0, 0.5, 1.0, 2.0]) for _ in range(n_lists)]
        if not any(weights):
            weights[0] = 1.0
        limit = rng.choice([None, 3, 10])
        got = zscore(rankings, weights=weights, limit=limit, item_weights=items)
        want = _zscore_reference(rankings, weights, limit, items)
        assert [i for i, _ in got] == [i for i, _ in want], trial
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-12), trial


def test_combine_is_validated_and_parsed():
    with pytest.raises(BadInput):
        Fusion(combine="max")
    assert Fusion().to_dict()["combine"] == "zscore"
    assert Fusion.parse(k=10).combine == "rrf"  # an RRF constant means rrf
    assert Fusion.parse().combine == "zscore"
    assert Fusion.parse(combine="rrf").k == 60
