"""``search eval`` and ``search compare`` on tests/data/tiny_beir (no ../shared needed)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from searchkit import Index
from searchkit.cli import cli
from searchkit.eval import evaluate, load_beir
from searchkit.eval.runner import build_index, doc_text, evaluate_method
from searchkit.retrieval.hybrid import DEFAULT_SENTENCE_WEIGHT, LENGTH_PRIOR
from searchkit.retrieval.methods import METHODS

from conftest import DATA

TINY = DATA / "tiny_beir"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def tiny_copy(tmp_path):
    d = tmp_path / "tiny_beir"
    shutil.copytree(TINY, d)
    return d


def test_eval_all_methods_json(tmp_path, hashing):
    r = run("eval", str(TINY), "--all", "--encoder", "hashing-test", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["dataset"], out["split"], out["documents"], out["queries"]) == (
        "tiny_beir", "test", 30, 8)
    assert [m["method"] for m in out["results"]] == list(METHODS)
    for m in out["results"]:
        assert set(m["metrics"]) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}
        assert all(0 <= v <= 1 for v in m["metrics"].values())
        assert m["queries"] == 8
        assert 0 <= m["latency_ms_p50"] <= m["latency_ms_p95"]
    assert out["results"][-1]["fusion"] == {"methods": ["dense", "bm25"], "weights": [1, 1],
                                            "k": 60, "coverage_power": 1.0,
                                            "sentence_weight": DEFAULT_SENTENCE_WEIGHT,
                                            "combine": "zscore",
                                            "length_prior": LENGTH_PRIOR["zscore"]}
    idx = out["index"]
    assert idx["path"] == str(tmp_path / "home" / "eval" / "tiny_beir-hashing-test-256-32")
    assert (idx["documents"], idx["chunks"], idx["reused"]) == (30, 30, False)
    assert idx["build_chunks_per_s"] > 0
    again = json.loads(run("eval", str(TINY), "-m", "bm25", "--encoder", "hashing-test",
                           "--json").output)
    assert again["index"]["reused"] is True
    assert again["index"]["build_seconds"] == idx["build_seconds"]
    assert again["results"][0]["metrics"] == out["results"][2]["metrics"]  # bm25


def test_eval_table(hashing):
    r = run("eval", str(TINY), "-m", "bm25,tfidf", "--encoder", "hashing-test", "-q")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "tiny_beir (test split): 30 documents, 8 queries"
    assert lines[3].split() == ["method", "nDCG@10", "R@100", "MRR@10", "MAP@100", "p50",
                                "ms", "p95", "ms", "setup", "s"]
    assert [ln.split()[0] for ln in lines[4:]] == ["bm25", "tfidf"]


def test_eval_scores_documents_by_their_best_chunk(tmp_path, hashing):
    ds = load_beir(TINY, "test")
    idx, info = build_index(ds, tmp_path / "idx", encoder="hashing-test")
    with idx:
        r = evaluate_method(idx, ds, "bm25")
        # The same run by hand: grouped search, one hit per document, documents by BEIR id.
        want = {q: {h.path: h.score for h in idx.search(text, k=100, method="bm25")}
                for q, text in ds.queries.items()}
    assert {q: list(d) for q, d in r.run.items()} == {q: list(d) for q, d in want.items()}
    assert r.metrics == evaluate(want, ds.qrels)


def test_eval_reindexes_a_changed_corpus(tiny_copy, tmp_path, hashing):
    args = ("eval", str(tiny_copy), "-m", "bm25", "--encoder", "hashing-test", "--json",
            "--index", str(tmp_path / "idx"))
    first = json.loads(run(*args).output)
    corpus = tiny_copy / "corpus.jsonl"
    lines = corpus.read_text().splitlines()
    corpus.write_text("\n".join(lines[1:]) + "\n")  # d01 is gone
    second = json.loads(run(*args).output)
    assert second["index"]["reused"] is False
    assert (first["index"]["documents"], second["index"]["documents"]) == (30, 29)
    with Index.open(tmp_path / "idx") as idx:
        assert "d01" not in {d["path"] for d in idx.documents()}


def test_eval_indexes_title_and_text(tmp_path, hashing):
    ds = load_beir(TINY)
    idx, _ = build_index(ds, tmp_path / "idx", encoder="hashing-test")
    with idx:
        doc = idx.store.document_by_path("d02")
        text = idx.store.db.execute("SELECT text FROM chunks WHERE doc_id = ?",
                                    [doc["id"]]).fetchone()[0]
    assert doc["title"] == "Espresso"
    assert text == doc_text("Espresso", ds.corpus["d02"]["text"])


def test_eval_train_split_and_missing_split(hashing):
    r = run("eval", str(TINY), "--split", "train", "-m", "bm25", "--encoder", "hashing-test",
            "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["queries"] == 2
    r = CliRunner().invoke(cli, ["eval", str(TINY), "--split", "dev"])
    assert r.exit_code == 2
    assert "split 'dev' not found" in r.output and "available splits: test, train" in r.output


def test_eval_unknown_method_is_a_usage_error():
    r = CliRunner().invoke(cli, ["eval", str(TINY), "-m", "bm99"])
    assert r.exit_code == 2
    assert "'bm99' is not one of dense, tfidf, bm25, glove, hybrid" in r.output


@pytest.fixture
def tiny_index(tmp_path, hashing):
    ds = load_beir(TINY)
    idx, _ = build_index(ds, tmp_path / "idx", encoder="hashing-test")
    idx.close()
    return tmp_path / "idx"


def test_compare_table(tiny_index):
    r = run("compare", "espresso coffee", "--index", str(tiny_index), "-k", "3",
            "--width", "100")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == list(METHODS)
    assert [ln[:3] for ln in lines[1:4]] == [" 1.", " 2.", " 3."]
    assert "Espresso" in lines[1]
    assert all(len(ln) <= 100 for ln in lines[:4])
    assert lines[-1].startswith("* only this method found")


def test_compare_json(tiny_index):
    r = run("compare", "espresso coffee", "--index", str(tiny_index), "-m", "dense",
            "-m", "bm25", "-k", "2", "--json")
    out = json.loads(r.output)
    assert list(out["methods"]) == ["dense", "bm25"]
    assert len(out["methods"]["dense"]) == 2  # bm25 lists only documents sharing a term
    assert 1 <= len(out["methods"]["bm25"]) <= 2
    assert out["methods"]["bm25"][0]["method"] == "bm25"


def test_query_method_and_fusion_options(tiny_index):
    base = ("query", "espresso coffee", "--index", str(tiny_index), "--json", "-k", "3")
    bm25 = json.loads(run(*base, "--method", "bm25").output)["hits"]
    fused = json.loads(run(*base, "-m", "hybrid", "--fuse", "bm25", "--weights", "2",
                           "--rrf-k", "0").output)["hits"]
    assert [h["doc_id"] for h in fused] == [h["doc_id"] for h in bm25]
    assert fused[0]["score"] == 2.0 and fused[0]["method"] == "hybrid"
    r = CliRunner().invoke(cli, [*base, "-m", "hybrid", "--weights", "1,2,3"])
    assert r.exit_code == 2 and "3 weights for 2 fused methods" in r.output  # usage


@pytest.mark.parametrize("command", ["eval", "compare", "query"])
def test_help(command):
    r = run(command, "--help")
    assert r.exit_code == 0
    assert "--method" in r.output and "--fuse" in r.output


def test_query_help_documents_lazy_baselines():
    out = " ".join(run("query", "--help").output.split())
    assert "built on first use and saved under <index>/baselines/" in out


def test_eval_ranks_as_a_users_query_does(sample_index_int8, onnx_cache, monkeypatch):
    """Hybrid fuses lists of retrieval.hybrid.DEPTH whatever k is asked for, and eval asks
    for as many: its top documents are those `search query` shows (a shallow DEPTH here, so
    that the small corpus holds many more chunks than the fused lists)."""
    from searchkit.eval.runner import chunk_docids, rank_documents
    from searchkit.retrieval import hybrid

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    monkeypatch.setattr(hybrid, "DEPTH", 12)
    with Index.open(sample_index_int8) as idx:
        assert idx.store.count("chunks") > 3 * hybrid.DEPTH
        docid_of = chunk_docids(idx)
        for q in ("how long is the notice period", "tax-free interest on savings",
                  "replace a bicycle chain", "what does the deposit cost"):
            shown = [docid_of[h.chunk_id] for h in idx.search(q, k=3)]
            ranked = list(rank_documents(idx, q, "hybrid", 6, docid_of))
            assert ranked[:3] == shown, q
            # and a longer result list starts with the same documents
            assert [docid_of[h.chunk_id] for h in idx.search(q, k=1)] == shown[:1]
