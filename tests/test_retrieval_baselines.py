"""The static retrievers (tf-idf, BM25, GloVe) and reciprocal rank fusion, on tiny_beir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from searchkit.errors import BadInput, IndexNotFound
from searchkit.eval import load_beir
from searchkit.retrieval import REGISTRY, get_retriever
from searchkit.retrieval.base import Retriever, ScoredId
from searchkit.retrieval.fusion import rrf

TINY = Path(__file__).parent / "data" / "tiny_beir"
NAMES = ["tfidf", "bm25", "glove"]


@pytest.fixture(scope="module")
def corpus():
    """tiny_beir with arbitrary int64 ids (large, negative, unordered), not 0..n-1."""
    ds = load_beir(TINY)
    docids = list(ds.corpus)
    ids = [(-1) ** i * (10**12 + 7919 * i) for i in range(len(docids))]
    texts = [ds.doc_text(d) for d in docids]
    return ds, dict(zip(docids, ids)), ids, texts


@pytest.fixture(scope="module")
def built(corpus):
    _, _, ids, texts = corpus
    out = {}
    for name in NAMES:
        r = REGISTRY[name]()
        r.build(ids, texts)
        out[name] = r
    return out


# Each retriever, GloVe's word averages included, must put the obvious document first.
OBVIOUS = [
    ("how does coffee espresso get brewed", "d02"),
    ("why do volcanoes erupt lava", "d11"),
    ("which planet do rovers explore", "d10"),
    ("when did the french revolution start", "d23"),
    ("how do central banks fight rising prices", "d27"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("query,docid", OBVIOUS)
def test_obvious_document_ranks_first(built, corpus, name, query, docid):
    _, id_of, _, _ = corpus
    hits = built[name].search(query, 5)
    assert hits[0].id == id_of[docid]
    assert all(isinstance(h.id, int) and isinstance(h.score, float) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("name", NAMES)
def test_interface(built, corpus, name):
    r = built[name]
    assert isinstance(r, Retriever) and r.name == name and len(r) == 30
    assert set(REGISTRY) == set(NAMES) and type(r) is REGISTRY[name]
    assert r.search("espresso coffee", 0) == []
    assert len(r.search("espresso coffee", 3)) <= 3
    assert set(h.id for h in r.search("espresso coffee", 100)) <= set(corpus[2])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("query", ["", "   \n\t", "zzqxv qqwzx", "the of and"])
def test_empty_or_unknown_queries(built, name, query):
    if name != "bm25" and query == "the of and":
        pytest.skip("only BM25 drops stop words")
    assert built[name].search(query, 10) == []


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(built, tmp_path, name):
    r = built[name]
    target = tmp_path / "idx" / name
    r.save(target)
    r.save(target)  # overwriting an existing index works and leaves no temp dirs behind
    assert sorted(p.name for p in target.parent.iterdir()) == [name]
    loaded = REGISTRY[name].load(target)
    assert len(loaded) == len(r)
    for query, _ in OBVIOUS + [("ball games played with a net", None)]:
        assert loaded.search(query, 30) == r.search(query, 30)
        assert loaded.search(query, 4, allowed={h.id for h in r.search(query, 9)[3:]}) == \
            r.search(query, 4, allowed={h.id for h in r.search(query, 9)[3:]})


@pytest.mark.parametrize("name", NAMES)
def test_failed_save_leaves_old_index(built, tmp_path, name, monkeypatch):
    target = tmp_path / name
    built[name].save(target)
    before = sorted(p.name for p in target.iterdir())
    import searchkit.retrieval.base as base

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(base, "write_meta", boom)
    monkeypatch.setattr(sys.modules[type(built[name]).__module__], "write_meta", boom)
    with pytest.raises(OSError):
        built[name].save(target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert REGISTRY[name].load(target).search("espresso", 3) == built[name].search("espresso", 3)


@pytest.mark.parametrize("name", NAMES)
def test_allowed_filter(built, corpus, name):
    r = built[name]
    ids = corpus[2]
    query = "how do plants make sugar from sunlight in the ocean"
    everything = r.search(query, 1000)
    scored = {h.id: h.score for h in everything}
    best = {h.id for h in everything[:3]}
    # Exclude the best documents; the rest must still fill k whenever they can.
    allowed = set(ids) - best
    for k in (1, 5, 10, 40):
        hits = r.search(query, k, allowed=allowed)
        assert {h.id for h in hits} <= allowed
        eligible = [i for i in allowed if i in scored] if name != "glove" else list(allowed)
        assert len(hits) == min(k, len(eligible))
        for h in hits:
            assert h.score == pytest.approx(scored[h.id], rel=1e-6, abs=1e-6)
    # A small allowed set far down the ranking (or unscored) is found all the same.
    tail = {everything[-1].id, ids[0], ids[1]}
    hits = r.search(query, 10, allowed=tail)
    expect = tail if name == "glove" else {i for i in tail if i in scored}
    assert {h.id for h in hits} == expect
    assert r.search(query, 10, allowed=set()) == []
    # any collection of ids will do, a numpy array (what SQL filters produce) included
    assert r.search(query, 10, allowed=np.array(sorted(tail), dtype=np.int64)) == hits
    assert r.search(query, 10, allowed=list(tail)) == hits
    assert r.search(query, 10, allowed=np.array([], dtype=np.int64)) == []
    assert r.search(query, 10, allowed={123456789}) == []


def test_tfidf_equals_scikit_learn_cosine(built, corpus):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    _, _, ids, texts = corpus
    vec = TfidfVectorizer(sublinear_tf=True)
    docs = vec.fit_transform(texts)
    for query in ["ball games played with a net net net", "sorting a list in Python",
                  "the capital of France and Japan", "plants sugar sunlight"]:
        expected = cosine_similarity(vec.transform([query]), docs).ravel()
        hits = built["tfidf"].search(query, 100)
        assert {h.id for h in hits} == {ids[i] for i in np.flatnonzero(expected > 0)}
        for h in hits:
            assert h.score == pytest.approx(expected[ids.index(h.id)], abs=1e-12)


def test_bm25_equals_bm25s(built, corpus):
    import bm25s
    import Stemmer

    _, _, ids, texts = corpus
    stemmer = Stemmer.Stemmer("english")
    ref = bm25s.BM25()
    ref.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
              show_progress=False)
    query = "how do central banks fight rising prices"
    q = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, return_ids=False,
                       show_progress=False)[0]
    expected = ref.get_scores(q)
    hits = built["bm25"].search(query, 100)
    assert {h.id for h in hits} == {ids[i] for i in np.flatnonzero(expected > 0)}
    for h in hits:
        assert h.score == pytest.approx(float(expected[ids.index(h.id)]), rel=1e-6)


def test_glove_vectors_are_normalised_means(built, corpus):
    from searchkit.retrieval.glove import embed, glove_vectors

    vocab, matrix = glove_vectors()
    assert glove_vectors()[1] is matrix  # loaded once per process
    v = embed(["Volcano LAVA volcano qqzzxx", "", "qqzzxx"])
    mean = (2 * matrix[vocab["volcano"]] + matrix[vocab["lava"]]) / 3
    np.testing.assert_allclose(v[0], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    assert not v[1].any() and not v[2].any()
    # documents with no known word get a zero vector and score 0, but are still indexable
    r = REGISTRY["glove"]()
    r.build([5, -7], ["volcano lava", "qqzzxx"])
    assert r.search("lava", 5) == [ScoredId(5, pytest.approx(r.search("lava", 1)[0].score)),
                                   ScoredId(-7, 0.0)]


@pytest.mark.parametrize("name", NAMES)
def test_bad_and_empty_builds(tmp_path, name):
    r = REGISTRY[name]()
    with pytest.raises(BadInput):
        r.build([1, 1], ["a cat", "a dog"])
    with pytest.raises(BadInput):
        r.build([1, 2], ["a cat"])
    r.build([], [])
    assert len(r) == 0 and r.search("cat", 5) == []
    r.save(tmp_path / "empty")
    assert len(REGISTRY[name].load(tmp_path / "empty")) == 0
    with pytest.raises(IndexNotFound):
        REGISTRY[name].load(tmp_path / "nothing-here")
    other = "bm25" if name != "bm25" else "tfidf"
    REGISTRY[other]().save(tmp_path / "other")
    with pytest.raises(BadInput, match=other):
        REGISTRY[name].load(tmp_path / "other")


def test_registry_is_lazy():
    code = ("import sys, searchkit.retrieval as r, searchkit.eval; "
            "heavy = {'faiss', 'sklearn', 'bm25s', 'Stemmer', 'scipy', 'pyarrow', 'torch'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=True).stdout
    assert out.strip() == "[]"
    with pytest.raises(BadInput, match="unknown retriever"):
        get_retriever("nope")
    assert get_retriever("bm25", k1=1.2).k1 == 1.2


# -- reciprocal rank fusion ---------------------------------------------------------------

def test_rrf_by_hand():
    a = [(1, 9.0), (2, 5.0), (3, 1.0)]
    b = [(3, 0.9), (1, 0.8), (4, 0.1)]
    fused = rrf([a, b], k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61, 4: 1 / 63}
    assert [d for d, _ in fused] == [1, 3, 2, 4]
    for d, s in fused:
        assert s == pytest.approx(expected[d], abs=1e-15)


def test_rrf_weights_ties_duplicates_and_limit():
    a = [(10, 1.0), (20, 0.5)]
    b = [(20, 3.0), (10, 2.0)]
    # equal fused scores: ties by ascending id
    assert rrf([a, b], k=1) == [(10, 1 / 2 + 1 / 3), (20, 1 / 3 + 1 / 2)]
    weighted = rrf([a, b], k=1, weights=[1.0, 3.0])
    assert weighted == [(20, pytest.approx(1 / 3 + 3 / 2)), (10, pytest.approx(1 / 2 + 3 / 3))]
    # a repeated id counts at its first rank only; scores play no part
    assert rrf([[(7, 0.0), (7, 100.0), (8, 5.0)]], k=0) == [(7, 1.0), (8, 1 / 3)]
    assert rrf([a, b], limit=1) == [(10, pytest.approx(1 / 61 + 1 / 62))]
    assert rrf([]) == [] and rrf([[], []]) == []
    with pytest.raises(BadInput):
        rrf([a, b], weights=[1.0])
    with pytest.raises(BadInput):
        rrf([a], k=-1)
