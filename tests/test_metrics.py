"""Metrics against trec_eval (via pytrec_eval), hand-computed cases, and the BEIR loader."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.errors import BadInput
from searchkit.eval import (evaluate, load_beir, map_at_k, mrr_at_k, ndcg_at_k, per_query,
                            recall_at_k)
from searchkit.eval.beir import available_splits
from searchkit.eval.metrics import parse_metric, rank

TINY = Path(__file__).parent / "data" / "tiny_beir"

# Docids of varied length so that trec_eval's descending strcmp tie-break ("d9" > "d10") matters.
DOCS = ["d1", "d2", "d9", "d10", "d11", "d100", "a", "b7", "z", "D3", "e_5", "f"]
QUERIES = ["q1", "q2", "q3", "q4", "q5"]
CUTS = [1, 2, 3, 5, 10, 20, 100]

# Few distinct score values, so that ties are frequent; some arbitrary floats too.
scores = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0]),
                   st.floats(-10, 10, allow_nan=False, allow_infinity=False))
qrels_st = st.dictionaries(st.sampled_from(QUERIES),
                           st.dictionaries(st.sampled_from(DOCS), st.integers(0, 3),
                                           min_size=1, max_size=6),
                           min_size=1, max_size=len(QUERIES))
run_st = st.dictionaries(st.sampled_from(QUERIES + ["q_not_judged"]),
                         st.dictionaries(st.sampled_from(DOCS), scores, max_size=len(DOCS)),
                         max_size=len(QUERIES) + 1)


def trec(qrels, run, measures):
    """pytrec_eval's per-query values; it only reports queries present in run and qrels."""
    run = {q: {d: float(s) for d, s in docs.items()} for q, docs in run.items() if docs}
    return pytrec_eval.RelevanceEvaluator(qrels, set(measures)).evaluate(run)


def relevant_queries(qrels):
    return [q for q, j in qrels.items() if any(r > 0 for r in j.values())]


@settings(max_examples=200, deadline=None)
@given(qrels=qrels_st, run=run_st, k=st.sampled_from(CUTS))
def test_cut_metrics_match_trec_eval(qrels, run, k):
    ref = trec(qrels, run, [f"ndcg_cut.{k}", f"recall.{k}", f"map_cut.{k}", "recip_rank"])
    ours = {m: per_query(run, qrels, f"{m}@{k}") for m in ("ndcg", "recall", "map", "mrr")}
    for q in relevant_queries(qrels):
        if q in ref:
            assert ours["ndcg"][q] == pytest.approx(ref[q][f"ndcg_cut_{k}"], abs=1e-9)
            assert ours["recall"][q] == pytest.approx(ref[q][f"recall_{k}"], abs=1e-9)
            assert ours["map"][q] == pytest.approx(ref[q][f"map_cut_{k}"], abs=1e-9)
            # MRR@k is trec_eval's recip_rank when the first relevant is within the top k.
            rr = ref[q]["recip_rank"]
            expected = rr if rr > 0 and round(1 / rr) <= k else 0.0
            assert ours["mrr"][q] == pytest.approx(expected, abs=1e-9)
        else:  # judged but absent from the run (or an empty ranking)
            assert all(ours[m][q] == 0.0 for m in ours)
    # Queries without a relevant judgment are skipped, as BEIR skips them.
    assert set(ours["ndcg"]) == set(relevant_queries(qrels))


@settings(max_examples=80, deadline=None)
@given(qrels=qrels_st, run=run_st, k=st.sampled_from(CUTS))
def test_evaluate_means_match_trec_eval(qrels, run, k):
    names = (f"ndcg@{k}", f"recall@{k}", f"map@{k}")
    ref = trec(qrels, run, [f"ndcg_cut.{k}", f"recall.{k}", f"map_cut.{k}"])
    judged = relevant_queries(qrels)
    got = evaluate(run, qrels, names)
    for name, key in zip(names, (f"ndcg_cut_{k}", f"recall_{k}", f"map_cut_{k}")):
        values = [ref[q][key] if q in ref else 0.0 for q in judged]
        expected = sum(values) / len(values) if values else 0.0
        assert got[name] == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(qrels=qrels_st, run=run_st)
def test_uncut_run_matches_trec_eval_recip_rank(qrels, run):
    ref = trec(qrels, run, ["recip_rank"])
    ours = per_query(run, qrels, "mrr@1000")
    for q in ref:
        if q in ours:
            assert ours[q] == pytest.approx(ref[q]["recip_rank"], abs=1e-9)


# -- hand-computed ------------------------------------------------------------------------

QRELS = {"q": {"a": 2, "b": 1, "c": 0}}
RUN = {"q": {"x": 3.0, "a": 2.0, "c": 1.0, "b": 0.5}}  # ranking: x a c b


def test_hand_computed_ndcg():
    dcg = 2 / math.log2(3)  # a at rank 2
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(RUN["q"], QRELS["q"], 3) == pytest.approx(dcg / idcg, abs=1e-12)
    dcg4 = dcg + 1 / math.log2(5)  # b at rank 4
    assert ndcg_at_k(RUN["q"], QRELS["q"], 10) == pytest.approx(dcg4 / idcg, abs=1e-12)
    assert ndcg_at_k(RUN["q"], QRELS["q"], 1) == 0.0


def test_hand_computed_recall_mrr_map():
    assert recall_at_k(RUN["q"], QRELS["q"], 2) == 0.5
    assert recall_at_k(RUN["q"], QRELS["q"], 4) == 1.0
    assert mrr_at_k(RUN["q"], QRELS["q"], 10) == 0.5
    assert mrr_at_k(RUN["q"], QRELS["q"], 1) == 0.0
    assert map_at_k(RUN["q"], QRELS["q"], 10) == pytest.approx((1 / 2 + 2 / 4) / 2)
    # map_cut divides by all relevant documents, not by those within the cut
    assert map_at_k(RUN["q"], QRELS["q"], 2) == pytest.approx((1 / 2) / 2)


def test_ties_break_by_docid_descending():
    assert rank({"a": 1.0, "b": 1.0, "c": 2.0}) == ["c", "b", "a"]
    assert rank({"d9": 1.0, "d10": 1.0}) == ["d9", "d10"]  # string order, as strcmp
    assert mrr_at_k({"a": 1.0, "b": 1.0}, {"b": 1}, 10) == 1.0
    assert mrr_at_k({"a": 1.0, "b": 1.0}, {"a": 1}, 10) == 0.5


def test_scores_compare_at_single_precision_like_trec_eval():
    # trec_eval keeps scores as C float: 1 + 1e-9 ties with 1.0, then "b" > "a" wins.
    assert rank({"a": 1.0 + 1e-9, "b": 1.0}) == ["b", "a"]
    assert rank({"a": 1.0 + 1e-6, "b": 1.0}) == ["a", "b"]
    assert rank({"a": 1e-300, "b": 0.0}) == ["b", "a"]
    ref = trec({"q": {"a": 1}}, {"q": {"a": 1.0 + 1e-9, "b": 1.0}}, ["recip_rank"])
    assert ref["q"]["recip_rank"] == mrr_at_k({"a": 1.0 + 1e-9, "b": 1.0}, {"a": 1}, 10) == 0.5


def test_missing_and_unjudged_queries():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": {"a": 1.0}, "q9": {"a": 1.0}}
    # q2 is missing from the run (scores 0), q3 has no relevant document (skipped)
    assert evaluate(run, qrels, ["ndcg@10", "mrr@10"]) == {"ndcg@10": 0.5, "mrr@10": 0.5}
    assert set(per_query(run, qrels, "recall@5")) == {"q1", "q2"}
    assert evaluate({}, {}, ["ndcg@10"]) == {"ndcg@10": 0.0}


def test_default_metrics_and_bad_names():
    assert set(evaluate(RUN, QRELS)) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}
    assert parse_metric("NDCG@10") == ("ndcg", 10)
    for bad in ("ndcg", "ndcg@0", "ndcg@x", "p@10", "recall@-1"):
        with pytest.raises(BadInput):
            parse_metric(bad)
    with pytest.raises(BadInput):
        ndcg_at_k(RUN["q"], QRELS["q"], 0)


# -- BEIR loader -------------------------------------------------------------------------

def test_load_tiny_beir_test_split():
    ds = load_beir(TINY)
    assert ds.name == "tiny_beir" and ds.split == "test"
    assert len(ds.corpus) == 30
    assert len(ds.queries) == 8 and set(ds.queries) == set(ds.qrels)
    assert ds.qrels["q2"] == {"d11": 2, "d12": 0}
    assert ds.corpus["d02"]["title"] == "Espresso"
    assert ds.doc_text("d02").startswith("Espresso Espresso is brewed")
    assert available_splits(TINY) == ["test", "train"]


def test_load_tiny_beir_train_split():
    ds = load_beir(str(TINY), split="train")
    assert set(ds.queries) == {"q9", "q10"}
    assert ds.qrels["q10"] == {"d29": 1, "d30": 1, "d22": 0}


def copy_tiny(tmp_path: Path) -> Path:
    dst = tmp_path / "ds"
    shutil.copytree(TINY, dst)
    return dst


def test_missing_directory(tmp_path):
    with pytest.raises(BadInput, match="directory not found"):
        load_beir(tmp_path / "nope")


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl"])
def test_missing_file_is_named(tmp_path, name):
    ds = copy_tiny(tmp_path)
    (ds / name).unlink()
    with pytest.raises(BadInput, match=name):
        load_beir(ds)


def test_missing_split_names_file_and_alternatives(tmp_path):
    with pytest.raises(BadInput, match=r"dev\.tsv.*available splits: test, train"):
        load_beir(TINY, split="dev")


def test_malformed_files(tmp_path):
    ds = copy_tiny(tmp_path)
    with (ds / "corpus.jsonl").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(BadInput, match=r"corpus\.jsonl:31"):
        load_beir(ds)
    ds2 = copy_tiny(tmp_path / "two")
    (ds2 / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td02\tvery\n")
    with pytest.raises(BadInput, match=r"test\.tsv:2"):
        load_beir(ds2)
    (ds2 / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq404\td02\t1\n")
    with pytest.raises(BadInput, match="q404"):
        load_beir(ds2)
