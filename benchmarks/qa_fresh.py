"""``search ask`` on a labelled set written for it: precision of what it answers, and how
often it wrongly stays silent, with the threshold calibrated on one half and judged on the other.

    python benchmarks/qa_fresh.py [--index DIR] [--encoder minilm-int8] [--qa tests/data/qa_fresh.jsonl]

The set (``tests/data/qa_fresh.jsonl``, made by ``benchmarks/data/make_qa_fresh.py``) holds 38
answerable questions with the sentence that answers them and 12 that neither corpus answers,
over two corpora indexed together: ``sample_corpus`` and ``benchmarks/data/pkgdocs`` (seven
PyPI projects' READMEs). It was committed before it was first scored. Even 0-based lines are
the calibration split, odd lines the held-out split.

Reports, for the shipped weights and threshold (``searchkit.ask.DEFAULT_WEIGHTS``; its
threshold was calibrated on the even lines of this file *and* of tests/data/qa.jsonl) and for
the threshold re-calibrated on this file's calibration split alone, weights unchanged, by the
shipped rule (``calibrate_threshold_utility``: right answers minus wrong ones) and by the old
one (``calibrate_threshold``: decline every unanswerable calibration question):

* ``precision``: of the questions it answers, the share whose answer is the gold sentence of
  the gold document (an answered unanswerable question counts as wrong);
* ``wrongful_abstention``: answerable questions it declines; ``correct_abstention``:
  unanswerable ones it declines; ``document_at_1`` / ``sentence_at_1`` as in qa_sample.py.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.ask import (DEFAULT_WEIGHTS, calibrate_threshold,  # noqa: E402
                           calibrate_threshold_utility, choose, evaluate, gather,
                           sentence_matches)

CORPORA = ["sample_corpus", "benchmarks/data/pkgdocs"]


def same_doc(path: str | None, gold: str) -> bool:
    return bool(path) and os.path.abspath(path) == os.path.abspath(ROOT / gold)


def precision(cases, w) -> dict:
    answered = correct = 0
    for c, doc, sent in cases:
        a = choose(c, w)
        if not a.answered:
            continue
        answered += 1
        correct += bool(doc) and same_doc(a.path, doc) and sentence_matches(a.text, sent)
    return {"answered": answered, "answered_correctly": correct,
            "precision": round(correct / answered, 4) if answered else None}


def report(cases, w) -> dict:
    return {**evaluate(cases, w, same_doc), **precision(cases, w)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", help="an existing index of both corpora (else a temporary one)")
    ap.add_argument("--encoder", default="minilm-int8")
    ap.add_argument("--qa", default=str(ROOT / "tests/data/qa_fresh.jsonl"))
    ap.add_argument("--save-cases", help="pickle the gathered candidates to this file")
    ap.add_argument("--cases", help="re-score candidates pickled by --save-cases")
    args = ap.parse_args(argv)
    os.chdir(ROOT)  # hit paths are shown relative to the current directory
    qa = [json.loads(line) for line in Path(args.qa).read_text().splitlines() if line.strip()]
    import pickle

    encoder, index_s, gather_s = args.encoder, 0.0, 0.0
    if args.cases:
        with open(args.cases, "rb") as f:
            cases = pickle.load(f)
    else:
        cases, encoder, index_s, gather_s = gather_all(args, qa)
        if args.save_cases:
            with open(args.save_cases, "wb") as f:
                pickle.dump(cases, f)
    out = score(cases, qa, args, encoder, index_s, gather_s)
    print(json.dumps(out, indent=2))
    return out


def gather_all(args, qa):
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if args.index and Path(args.index, "index.db").exists():
            idx = Index.open(args.index)
        else:
            idx = Index.create(args.index or Path(tmp) / "idx", encoder=args.encoder)
            idx.add_paths([ROOT / c for c in CORPORA])
        t1 = time.perf_counter()
        cases = [(gather(idx, q["question"]), q["doc"], q["answer"]) for q in qa]
        t2 = time.perf_counter()
        encoder = idx.manifest.encoder
        idx.close()
    return cases, encoder, t1 - t0, t2 - t1


def score(cases, qa, args, encoder, index_s, gather_s) -> dict:
    cal, held = cases[0::2], cases[1::2]
    utility = dataclasses.replace(DEFAULT_WEIGHTS, threshold=calibrate_threshold_utility(
        cal, DEFAULT_WEIGHTS, same_doc))
    decline_all = dataclasses.replace(DEFAULT_WEIGHTS,
                                      threshold=calibrate_threshold(cal, DEFAULT_WEIGHTS))
    out = {"qa_file": os.path.relpath(args.qa, ROOT), "corpora": CORPORA, "encoder": encoder,
           "questions": len(qa), "split": "calibration = even 0-based lines, held out = odd",
           "index_s": round(index_s, 1),
           "ms_per_question": round(1000 * gather_s / len(qa), 1)}
    for name, w in (("shipped", DEFAULT_WEIGHTS),
                    ("calibrated_on_even_lines_utility", utility),
                    ("calibrated_on_even_lines_decline_all", decline_all)):
        out[name] = {"threshold": w.threshold, "all": report(cases, w),
                     "calibration": report(cal, w), "held_out": report(held, w)}
    out["per_question"] = [
        {"question": q["question"], "corpus": q.get("corpus"), "gold_doc": q["doc"],
         "answer": (a := choose(c, DEFAULT_WEIGHTS)).text, "path": a.path,
         "confidence": a.confidence, "answered": a.answered,
         "correct": bool(q["doc"]) and a.answered and same_doc(a.path, q["doc"])
         and sentence_matches(a.text, q["answer"]),
         "top": (t := choose(c, dataclasses.replace(DEFAULT_WEIGHTS, threshold=float("-inf")))).text,
         "top_correct": bool(q["doc"]) and same_doc(t.path, q["doc"])
         and sentence_matches(t.text, q["answer"])}
        for q, (c, _, _) in zip(qa, cases)]
    return out


if __name__ == "__main__":
    main()
