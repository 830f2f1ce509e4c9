"""Offline Q&A on the sample corpus: document@1, sentence@1, abstention; weights calibrated.

    python benchmarks/qa_sample.py [--index DIR] [--qa tests/data/qa.jsonl] [--no-tune]

Indexes sample_corpus with all-MiniLM-L6-v2 (into a temporary directory unless --index names
an existing index of it), gathers each question's candidate sentences once, then

* reports the shipped weights (searchkit.ask.DEFAULT_WEIGHTS) on all questions and on each
  half of a fixed split (train = even 0-based lines, test = odd lines);
* unless --no-tune, grid-searches the weights and the threshold on the train half only and
  reports them on the test half and on all questions, next to the shipped ones.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.ask import (DEFAULT_WEIGHTS, Evidence, Weights, _confidence,  # noqa: E402
                           calibrate_threshold, evaluate, gather)

# Stage 1, the weights that pick the answer sentence.
GRID = {
    "context": [0.0, 0.5, 1.0],
    "chunk": [0.0, 0.2],
    "lexical": [0.0, 0.1],
    "answer_type": [0.1, 0.2],
    "answer_unit": [0.0, 0.1, 0.2, 0.3],
    "follows": [0.0, 0.25],
    "bm25": [0.0, 0.1],
    "novelty": [0.0, 0.1, 0.2, 0.3],
    "merge_margin": [0.0, 0.1],
}
# Stage 2, the evidence weights whose score of the chosen sentence is its confidence.
EVIDENCE_GRID = {
    "context": [0.0, 0.5, 1.0],
    "chunk": [0.0, 0.2, 0.5],
    "bm25": [0.0, 0.1, 0.3],
    "novelty": [0.0, 0.2],
    "answer_type": [0.0, 0.2],
    "answer_unit": [0.0, 0.2],
}


def load_qa(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def same_doc(path: str | None, gold: str) -> bool:
    return bool(path) and os.path.abspath(path) == os.path.abspath(ROOT / gold)


def tune(train: list, base: Weights) -> Weights:
    """Best weights on ``train``. Stage 1 picks the sentence weights by sentence@1 +
    document@1; stage 2 the evidence weights (the confidence) and the threshold: the fewest
    answerable questions declined while >= MIN_CORRECT_ABSTENTION of the unanswerable ones
    are, ties broken by more of those declined, then by the confidence's ROC AUC."""
    best, best_key = base, None
    for values in itertools.product(*GRID.values()):
        w = dataclasses.replace(base, **dict(zip(GRID, values)))
        m = evaluate(train, w, same_doc)
        key = (m["sentence_at_1"] + m["document_at_1"], -w.merge_margin)
        if best_key is None or key > best_key:
            best, best_key = w, key
    ranked, best_key = best, None
    for values in itertools.product(*EVIDENCE_GRID.values()):
        w = dataclasses.replace(ranked, evidence=Evidence(**dict(zip(EVIDENCE_GRID, values))))
        w = dataclasses.replace(w, threshold=calibrate_threshold(train, w))
        m = evaluate(train, w, same_doc)
        key = (-m["wrongful_abstention"], m["correct_abstention"], auc(train, w))
        if best_key is None or key > best_key:
            best, best_key = w, key
    return best


def auc(cases: list, w: Weights) -> float:
    """P(an answerable question's confidence > an unanswerable one's), ties half."""
    pos = [_confidence(c, w) for c, doc, _ in cases if doc is not None]
    neg = [_confidence(c, w) for c, doc, _ in cases if doc is None]
    if not pos or not neg:
        return 0.0
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def report(cases: list, w: Weights) -> dict:
    train, test = cases[0::2], cases[1::2]
    return {"weights": dataclasses.asdict(w),
            "all": evaluate(cases, w, same_doc),
            "train_even_lines": evaluate(train, w, same_doc),
            "test_odd_lines": evaluate(test, w, same_doc)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", help="an existing index of sample_corpus (minilm)")
    ap.add_argument("--qa", default=str(ROOT / "tests/data/qa.jsonl"))
    ap.add_argument("--no-tune", action="store_true", help="only report the shipped weights")
    ap.add_argument("--cases", help=argparse.SUPPRESS)  # a pickle of gathered candidates
    args = ap.parse_args(argv)
    os.chdir(ROOT)  # hit paths are shown relative to the current directory
    qa = load_qa(Path(args.qa))
    if args.cases:  # re-score candidates gathered earlier (same code path, no model calls)
        import pickle

        with open(args.cases, "rb") as f:
            cases = pickle.load(f)
        out = {"questions": len(cases), "shipped": report(cases, DEFAULT_WEIGHTS)}
        if not args.no_tune:
            out["tuned_on_train"] = report(cases, tune(cases[0::2], DEFAULT_WEIGHTS))
        print(json.dumps(out, indent=2))
        return out
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if args.index:
            idx = Index.open(args.index)
        else:
            idx = Index.create(Path(tmp) / "idx", encoder="minilm")
            idx.add_paths([ROOT / "sample_corpus"])
        t1 = time.perf_counter()
        cases = [(gather(idx, q["question"]), q["doc"], q["answer"]) for q in qa]
        t2 = time.perf_counter()
        idx.close()
    out = {"qa_file": os.path.relpath(args.qa, ROOT), "questions": len(qa),
           "split": "train = even 0-based lines, test = odd lines",
           "index_s": round(t1 - t0, 1), "ms_per_question": round(1000 * (t2 - t1) / len(qa), 1),
           "shipped": report(cases, DEFAULT_WEIGHTS)}
    if not args.no_tune:
        out["tuned_on_train"] = report(cases, tune(cases[0::2], DEFAULT_WEIGHTS))
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
