"""Hybrid fusion that scales a keyword rank by how much of the query the text holds."""

import pytest

from searchkit.errors import BadInput
from searchkit.retrieval.bm25 import BM25Retriever
from searchkit.retrieval.fusion import rrf
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
                            Fusion(coverage_power=0)).search(q, 4)
    scaled = HybridRetriever({"dense": dense, "bm25": bm25},
                             Fusion(coverage_power=3)).search(q, 4)
    # doc 30 shares only "world" with the question: plain RRF lifts it, coverage does not
    assert dict(plain)[30] > dict(scaled)[30]
    assert scaled[0].id == 10
    assert plain == rrf([dense.search(q, 100), bm25.search(q, 100)], k=60, limit=4)


def test_coverage_power_is_validated():
    with pytest.raises(BadInput):
        Fusion(coverage_power=-1)
    assert Fusion().to_dict()["coverage_power"] == 3.0
