"""Search methods over one index: dense, the static baselines (persisted, kept in sync with
the chunks by generation) and hybrid fusion. Plumbing uses the hashing encoder."""

from __future__ import annotations

import json

import pytest

from searchkit import BadInput, Index
from searchkit.eval import load_beir
from searchkit.eval.runner import doc_text
from searchkit.api import compare
from searchkit.cli import cli
from searchkit.retrieval import REGISTRY, MethodSpec, rrf
from searchkit.retrieval import methods as methods_mod
from searchkit.retrieval.fusion import zscore
from searchkit.retrieval.hybrid import Fusion
from searchkit.retrieval.methods import METHODS, STAMP_FILE

from conftest import DATA


@pytest.fixture
def tiny(tmp_path, hashing):
    """tests/data/tiny_beir indexed with the hashing encoder (writable)."""
    ds = load_beir(DATA / "tiny_beir")
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    ids = list(ds.corpus)
    idx.add_texts([doc_text(ds.corpus[d]["title"], ds.corpus[d]["text"]) for d in ids],
                  metadata=[{"id": d, "title": ds.corpus[d]["title"]} for d in ids])
    yield idx
    idx.close()


def _chunks(idx):
    rows = idx.store.db.execute("SELECT c.id, c.text, c.ord, d.title FROM chunks c "
                                "JOIN documents d ON d.id = c.doc_id ORDER BY c.id").fetchall()
    return [r[0] for r in rows], [r[1] if r[2] == 0 else f"{r[3]}\n\n{r[1]}" for r in rows]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_answers_through_the_api(tiny, method):
    hits = tiny.search("espresso coffee brewed under pressure", k=3, method=method)
    assert 1 <= len(hits) <= 3
    assert all(h.method == method for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len({h.doc_id for h in hits}) == len(hits)  # grouped: one hit per document


@pytest.mark.parametrize("name", ["bm25", "tfidf", "glove"])
def test_static_method_equals_its_retriever_over_the_chunks(tiny, name):
    tiny.add_texts(["Rovers. " + "Mars rovers explore the red planet. " * 80],
                   metadata=[{"id": "rovers", "title": "Mars rovers"}])  # several chunks
    ids, texts = _chunks(tiny)
    assert any(t.startswith("Mars rovers\n\n") for t in texts)
    ref = REGISTRY[name]()
    ref.build(ids, texts)
    q = "which planet do rovers explore"
    got = [(h.chunk_id, h.score) for h in tiny.search(q, k=5, method=name, group=False)]
    want = [(i, round(s, 6)) for i, s in ref.search(q, 5)]
    assert got == want


def test_baseline_is_saved_with_the_generation_it_was_built_from(tiny):
    tiny.search("volcano lava", method="bm25")
    stamp = json.loads((tiny.path / "baselines" / "bm25" / STAMP_FILE).read_text())
    assert stamp["generation"] == tiny.store.generation()
    assert stamp["chunks"] == tiny.store.count("chunks")
    assert "bm25" in tiny.stats()["baselines"]


def test_baseline_is_loaded_not_rebuilt_when_fresh(tiny, tmp_path, monkeypatch):
    tiny.search("volcano lava", method="bm25")
    with Index.open(tiny.path) as ro:
        built = []
        monkeypatch.setattr(REGISTRY["bm25"], "build", lambda *a: built.append(a))
        assert ro.search("volcano lava", method="bm25")
        assert built == []


def test_a_baseline_built_with_other_parameters_is_rebuilt(tiny, monkeypatch):
    """A BM25 saved with another k1 (as by a searchkit whose default differed): same
    generation and stamp, but not the current parameters, so it is rebuilt, not served."""
    from searchkit.retrieval.bm25 import K1, BM25Retriever

    q = "volcano lava"
    want = [(h.chunk_id, h.score) for h in tiny.search(q, method="bm25", group=False)]
    folder = tiny.path / "baselines" / "bm25"
    stamp = (folder / STAMP_FILE).read_text()
    old = BM25Retriever(k1=K1 + 0.5)
    old.build(*_chunks(tiny))
    old.save(folder)
    (folder / STAMP_FILE).write_text(stamp)  # the stamp of a fresh baseline
    assert BM25Retriever.load(folder).k1 == K1 + 0.5
    with Index.open(tiny.path) as again:
        built = []
        real = REGISTRY["bm25"].build
        monkeypatch.setattr(REGISTRY["bm25"], "build",
                            lambda self, *a: (built.append(1), real(self, *a))[1])
        got = [(h.chunk_id, h.score) for h in again.search(q, method="bm25", group=False)]
    assert built == [1] and got == want
    assert BM25Retriever.load(folder).k1 == K1


def test_baseline_follows_writes(tiny):
    q = "zeppelin airship hydrogen"
    assert tiny.search(q, method="bm25") == []
    gen = tiny.store.generation()
    tiny.add_texts(["The zeppelin was an airship lifted by hydrogen."], metadata=[{"id": "new"}])
    assert tiny.store.generation() > gen
    hits = tiny.search(q, method="bm25")
    assert hits[0].path == "new"
    stamp = json.loads((tiny.path / "baselines" / "bm25" / STAMP_FILE).read_text())
    assert stamp["generation"] == tiny.store.generation()
    tiny.remove(["new"])
    assert tiny.search(q, method="bm25") == []


def test_read_only_reader_gets_fresh_results_even_when_it_cannot_save(tiny, monkeypatch):
    q = "zeppelin airship hydrogen"
    tiny.search(q, method="tfidf")  # saved for the current generation
    tiny.add_texts(["The zeppelin was an airship lifted by hydrogen."], metadata=[{"id": "new"}])
    monkeypatch.setattr(methods_mod, "_save", lambda *a: None)  # e.g. a read-only folder
    with Index.open(tiny.path, readonly=True) as ro:
        assert ro.search(q, method="tfidf")[0].path == "new"
    stamp = json.loads((tiny.path / "baselines" / "tfidf" / STAMP_FILE).read_text())
    assert stamp["generation"] < tiny.store.generation()  # nothing saved, nothing wrong


def test_a_corrupt_baseline_is_rebuilt(tiny):
    q = "volcano lava"
    want = tiny.search(q, method="bm25")
    folder = tiny.path / "baselines" / "bm25"
    (folder / "ids.npy").write_bytes(b"garbage")
    with Index.open(tiny.path) as ro:
        assert ro.search(q, method="bm25") == want


def test_hybrid_chunks_are_rrf_of_dense_and_bm25(tiny):
    """combine=rrf: RRF, each bm25 rank weighted by the cube of the text's coverage."""
    q = "coffee beans and hot water"
    dense = tiny.retriever("dense").search(q, 100)
    bm25_retriever = tiny.retriever("bm25")
    bm25 = bm25_retriever.search(q, 100)
    cov = bm25_retriever.coverage(q, [i for i, _ in bm25])
    assert 0 < min(cov.values()) < 1  # the weighting matters on this query
    want = rrf([dense, bm25], k=60, item_weights=[None, {i: c ** 3 for i, c in cov.items()}])[:5]
    got = tiny.search(q, k=5, method="hybrid", group=False, combine="rrf")
    assert [(h.chunk_id, h.score) for h in got] == [(i, round(s, 6)) for i, s in want]
    assert got == tiny.search(q, k=5, method="hybrid", group=False, rrf_k=60)  # k means rrf


def test_hybrid_default_is_zscore_of_dense_and_bm25(tiny):
    """The default: z-scores of each ranking, their mean; coverage as the default power."""
    q = "coffee beans and hot water"
    dense = tiny.retriever("dense").search(q, 100)
    bm25_retriever = tiny.retriever("bm25")
    bm25 = bm25_retriever.search(q, 100)
    power = Fusion().coverage_power
    cov = bm25_retriever.coverage(q, [i for i, _ in bm25]) if power else None
    items = [None, {i: c ** power for i, c in cov.items()} if cov else None]
    want = zscore([dense, bm25], item_weights=items)[:5]
    got = tiny.search(q, k=5, method="hybrid", group=False)
    assert Fusion().combine == "zscore"
    assert [(h.chunk_id, h.score) for h in got] == [(i, round(s, 6)) for i, s in want]
    assert [h.chunk_id for h in got] != [
        h.chunk_id for h in tiny.search(q, k=5, method="hybrid", group=False, combine="rrf")
    ] or got[0].score != tiny.search(q, k=1, method="hybrid", group=False, combine="rrf")[0].score


def test_hybrid_fusion_is_configurable(tiny):
    q = "coffee beans and hot water"
    only_bm25 = tiny.search(q, k=5, method="hybrid", fuse="bm25", group=False)
    assert [h.chunk_id for h in only_bm25] == [
        h.chunk_id for h in tiny.search(q, k=5, method="bm25", group=False)]
    weighted = tiny.search(q, k=5, method="hybrid", fuse=["dense", "tfidf"], weights=[0, 1],
                           rrf_k=1, group=False)
    assert [h.chunk_id for h in weighted] == [
        h.chunk_id for h in tiny.search(q, k=5, method="tfidf", group=False)]
    assert weighted[0].score == pytest.approx(1 / (1 + 1))


def test_hybrid_by_document_returns_one_chunk_per_document(tiny):
    tiny.add_texts(["Espresso coffee. " * 200], metadata=[{"id": "long"}])  # several chunks
    r = tiny.retriever("hybrid", by_document=True).search("espresso coffee", 50)
    docs = tiny.store.doc_ids_of_chunks([i for i, _ in r])
    assert len(set(docs.values())) == len(r)
    assert [s for _, s in r] == sorted((s for _, s in r), reverse=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "nope"}, "unknown method"),
    ({"method": "hybrid", "fuse": "dense,hybrid"}, "cannot fuse itself"),
    ({"method": "hybrid", "fuse": "dense,nope"}, "unknown method"),
    ({"method": "hybrid", "weights": "1"}, "1 weights for 2"),
    ({"method": "hybrid", "weights": "a,b"}, "numbers"),
    ({"method": "hybrid", "weights": "0,0"}, "at least one > 0"),
    ({"method": "hybrid", "rrf_k": -1}, "k must be >= 0"),
])
def test_bad_method_or_fusion_is_bad_input(tiny, kwargs, message):
    with pytest.raises(BadInput, match=message):
        tiny.search("coffee", **kwargs)


def test_fusion_parse():
    f = Fusion.parse("dense, tfidf ,bm25", "1,0.5,2", 10)
    assert f.methods == ("dense", "tfidf", "bm25")
    assert f.weights == (1.0, 0.5, 2.0)
    assert f.k == 10.0
    assert Fusion.parse() == Fusion(("dense", "bm25"), None, 60)


def test_default_method_is_a_known_method():
    from searchkit.query import DEFAULT_METHOD

    assert DEFAULT_METHOD in METHODS


class WordRetriever:
    """A retriever from outside the package: the chunks that hold the query's first word."""

    name = "word"

    def __init__(self, index):
        self.index = index

    def search(self, query, k, allowed=None):
        rows = self.index.store.db.execute("SELECT id FROM chunks WHERE text LIKE ? ORDER BY id",
                                           [f"%{query.split()[0]}%"]).fetchall()
        keep = None if allowed is None else {int(a) for a in allowed}
        return [(r[0], 1.0) for r in rows if keep is None or r[0] in keep][:k]

    def __len__(self):
        return self.index.store.count("chunks")


def word_method(index, fusion=None, by_document=False):
    return WordRetriever(index)


def test_a_new_method_is_one_module_and_its_registration(tiny, monkeypatch, tmp_path):
    from click.testing import CliRunner

    monkeypatch.setitem(METHODS, "word", MethodSpec("test_methods", "word_method",
                                                    static=False))
    hits = tiny.search("espresso please", k=3, method="word")
    assert hits and all("espresso" in h.text.lower() and h.method == "word" for h in hits)
    assert compare("espresso", ["word"], index=tiny.path, k=3)["word"] == hits
    fused = tiny.search("espresso please", k=3, method="hybrid", fuse="word,bm25")
    assert fused and fused[0].method == "hybrid"
    runner = CliRunner()
    r = runner.invoke(cli, ["query", "espresso", "--index", str(tiny.path), "-m", "word",
                            "--json"])
    assert r.exit_code == 0, r.output
    assert [h["chunk_id"] for h in json.loads(r.output)["hits"]] == [h.chunk_id for h in hits]
    r = runner.invoke(cli, ["eval", str(DATA / "tiny_beir"), "-m", "word", "--encoder",
                            "hashing-test", "--index", str(tmp_path / "ev"), "--json"])
    assert r.exit_code == 0, r.output
    assert [m["method"] for m in json.loads(r.output)["results"]] == ["word"]

