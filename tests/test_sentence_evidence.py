"""Sentence-level evidence in the dense part of hybrid (issue #17), and the lookup of stored
sentence vectors it and highlights share. Quality is measured in benchmarks/levers.py; these
tests check the arithmetic and the plumbing."""

from __future__ import annotations

import numpy as np
import pytest

from searchkit.errors import BadUsage
from searchkit.retrieval.base import ScoredId
from searchkit.retrieval.dense import SentenceEvidence
from searchkit.retrieval.hybrid import Fusion
from searchkit.sentence_vectors import pack


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


class FakeDense:
    """A dense retriever with fixed passage scores and a fixed query vector."""

    def __init__(self, ranked, qv):
        self.ranked, self.qv, self.asked = ranked, qv, []

    def search(self, query, k, allowed=None):
        self.asked.append((query, k, allowed))
        return [ScoredId(i, s) for i, s in self.ranked[:k]]

    def encode_query(self, query):
        return self.qv

    def __len__(self):
        return len(self.ranked)


def blob(*vecs: np.ndarray) -> bytes:
    return pack([(i, i + 1) for i in range(len(vecs))], np.stack(vecs))


def test_blend_reorders_by_the_best_sentence():
    qv = unit(1, 0, 0)
    dense = FakeDense([(1, 0.60), (2, 0.55), (3, 0.50)], qv)
    stored = {1: blob(unit(0, 1, 0), unit(0.2, 1, 0)),   # no sentence near the query
              2: blob(unit(0, 0, 1), unit(1, 0.05, 0))}  # one sentence on it
    asked = []

    def lookup(ids):
        asked.append(list(ids))
        return {i: stored[i] for i in ids if i in stored}

    r = SentenceEvidence(dense, lookup, 0.5)
    got = r.search("q", 3, allowed=None)
    best1 = max(float(unit(0, 1, 0) @ qv), float(unit(0.2, 1, 0) @ qv))
    best2 = float(unit(1, 0.05, 0) @ qv)
    want = {1: 0.5 * 0.60 + 0.5 * best1, 2: 0.5 * 0.55 + 0.5 * best2, 3: 0.50}  # 3: none stored
    assert [i for i, _ in got] == sorted(want, key=lambda i: -want[i]) == [2, 3, 1]
    for i, s in got:
        assert s == pytest.approx(want[i], abs=0.01)  # int8 sentence vectors
    assert asked == [[1, 2, 3]]
    assert dense.asked == [("q", 3, None)]


def test_no_weight_or_no_stored_vectors_keeps_the_dense_ranking():
    dense = FakeDense([(5, 0.9), (6, 0.8)], unit(1, 0))
    assert SentenceEvidence(dense, lambda ids: {}, 0.3).search("q", 2) == dense.ranked
    untouched = SentenceEvidence(dense, lambda ids: pytest.fail("looked up"), 0.0)
    assert untouched.search("q", 2) == dense.ranked


def test_depth_rescores_the_head_only():
    qv = unit(1, 0)
    dense = FakeDense([(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)], qv)
    stored = {i: blob(unit(0, 1)) for i in (1, 3)} | {i: blob(unit(1, 0)) for i in (2, 4)}
    asked = []

    def lookup(ids):
        asked.append(list(ids))
        return {i: stored[i] for i in ids}

    got = SentenceEvidence(dense, lookup, 0.5, depth=2).search("q", 4)
    assert asked == [[1, 2]]
    assert [i for i, _ in got] == [2, 1, 3, 4]  # 2 passes 1; 3 and 4 keep place and score
    assert got[2:] == [(3, 0.7), (4, 0.6)]


def test_fusion_checks_the_sentence_weight():
    assert Fusion().to_dict()["sentence_weight"] == Fusion().sentence_weight
    assert Fusion(sentence_weight=0.25).sentence_weight == 0.25
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(BadUsage):
            Fusion(sentence_weight=bad)


def test_the_default_fusion_weighs_sentences_and_rrf_does_not():
    """Sentence evidence is part of the default (z-score) hybrid; ``combine="rrf"`` stays the
    fusion it was, without it, unless a weight is given."""
    from searchkit.retrieval.hybrid import DEFAULT_COMBINE, SENTENCE_WEIGHT

    assert DEFAULT_COMBINE == "zscore" and Fusion().sentence_weight == SENTENCE_WEIGHT["zscore"] > 0
    assert Fusion(combine="rrf").sentence_weight == 0.0
    assert Fusion.parse(combine="rrf").sentence_weight == 0.0
    assert Fusion.parse(k=60).sentence_weight == 0.0  # an RRF constant means rrf
    assert Fusion(combine="rrf", sentence_weight=0.3).sentence_weight == 0.3
    assert Fusion(sentence_weight=0).sentence_weight == 0.0


def test_the_default_hybrid_wraps_dense_in_sentence_evidence(hashing_index):
    from searchkit import Index

    idx = Index.open(hashing_index)
    try:
        assert isinstance(idx.retriever("hybrid").parts["dense"], SentenceEvidence)
        plain = idx.retriever("hybrid", fusion=Fusion(combine="rrf")).parts["dense"]
        assert not isinstance(plain, SentenceEvidence)
    finally:
        idx.close()


def test_sentence_vectors_lookup_walks_chunks_by_primary_key(hashing_index):
    """The lookup's plan: chunks by id, then each one's row by (encoder, text_hash), never a
    scan of the encoder's sentence vectors (126 ms for 100 SciFact chunks, 1 ms this way)."""
    from searchkit import Index

    idx = Index.open(hashing_index)
    try:
        seen = []
        idx.store.db.conn.set_trace_callback(seen.append)
        ids = [r[0] for r in idx.store.db.execute("SELECT id FROM chunks")]
        idx.store.sentence_vectors(idx.vector_key, ids)
        idx.store.db.conn.set_trace_callback(None)
        sql = next(s for s in seen if "sentence_vectors s" in s)
        plan = [r[3] for r in idx.store.db.execute("EXPLAIN QUERY PLAN " + sql)]
        assert plan[0].startswith("SEARCH c USING INTEGER PRIMARY KEY"), plan
        assert any(p.startswith("SEARCH s USING PRIMARY KEY (encoder=? AND text_hash=?)")
                   for p in plan), plan
    finally:
        idx.close()


def test_hybrid_uses_the_stored_sentence_vectors(sample_index_int8, onnx_cache, monkeypatch):
    """On a real index (the default encoder stores sentence vectors), hybrid with a sentence
    weight re-scores its dense ranking from them, and only that."""
    from searchkit import Index

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    idx = Index.open(sample_index_int8)
    try:
        query = "why does the river bank keep collapsing"
        plain = idx.retriever("dense").search(query, 20)
        blended = idx.retriever("hybrid", fusion=Fusion(methods=("dense",),
                                                        sentence_weight=0.5))
        part = blended.parts["dense"]
        assert isinstance(part, SentenceEvidence)
        got = part.search(query, 20)
        assert {i for i, _ in got} == {i for i, _ in plain}
        best = part.best_sentence(query, [i for i, _ in plain])
        assert set(best) == {i for i, _ in plain}  # every chunk has stored sentences
        want = sorted(((i, 0.5 * s + 0.5 * best[i]) for i, s in plain), key=lambda x: -x[1])
        assert [i for i, _ in got] == [i for i, _ in want]
        from searchkit.query import search

        hits = search(idx, query, k=5, group=True, highlight=True,
                      fusion=Fusion(sentence_weight=0.5))
        assert len(hits) == 5 and all(h.method == "hybrid" and h.highlights for h in hits)
    finally:
        idx.close()
