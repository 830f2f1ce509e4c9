"""``search ask``'s sentence pre-selection (``searchkit.ask.EMBED_TOP``): does embedding only
the sentences closest in context change any answer, and what does it save?

    python benchmarks/ask_preselect.py [--top 48]

Indexes ``sample_corpus`` and ``benchmarks/data/pkgdocs`` with the default encoder (a
temporary index), then gathers every question of ``tests/data/qa.jsonl`` and
``tests/data/qa_fresh.jsonl`` (92 questions, answerable and not) twice, interleaved: every
candidate sentence embedded alone (``embed_top=None``, what ask did before) and only the
``--top`` pre-selected ones. The sentence vector memo is cleared before each gather, so both
pay for their embedding. Reports how many answers differ (answered or not, the sentence, the
confidence to 4 places) under the shipped weights, the Q&A metrics of both (precision of
answered questions, wrongful and correct abstentions; as benchmarks/qa_fresh.py counts them), the worst stored-vector rank of the
sentence the full run chose (pre-selection is exact while it stays under ``--top``), and
the gather times (median ms per question, ratio). Prints one JSON object and writes it to
``benchmarks/results/ask_preselect.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.ask import (DEFAULT_WEIGHTS, EMBED_TOP, choose, gather,  # noqa: E402
                           sentence_matches)

QA_FILES = ["tests/data/qa.jsonl", "tests/data/qa_fresh.jsonl"]
CORPORA = ["sample_corpus", "benchmarks/data/pkgdocs"]


def timed_gather(idx, question, top):
    idx.cache.clear("ask_vectors")
    t0 = time.perf_counter()
    c = gather(idx, question, embed_top=top, context=False)
    return c, (time.perf_counter() - t0) * 1000


def signature(a):
    return (a.answered, a.text or (a.closest.highlights if a.closest else None),
            round(a.confidence, 4))


def same_doc(path, gold) -> bool:
    return bool(path) and os.path.abspath(path) == os.path.abspath(ROOT / gold)


def qa_metrics(answers, qa) -> dict:
    """Precision of answered questions and abstentions (an answered unanswerable question
    counts as wrong)."""
    answered = correct = wrongful = right_silence = 0
    for a, q in zip(answers, qa):
        if not a.answered:
            wrongful += q["doc"] is not None
            right_silence += q["doc"] is None
            continue
        answered += 1
        correct += bool(q["doc"]) and same_doc(a.path, q["doc"]) and sentence_matches(
            a.text, q["answer"])
    return {"answered": answered, "answered_correctly": correct,
            "precision": round(correct / answered, 4) if answered else None,
            "wrongful_abstention": wrongful, "correct_abstention": right_silence}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=EMBED_TOP)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ask_preselect.json")
    args = ap.parse_args()
    os.chdir(ROOT)
    qa = [json.loads(x) for f in QA_FILES for x in Path(f).read_text().splitlines() if x.strip()]
    qs = [q["question"] for q in qa]
    with tempfile.TemporaryDirectory() as tmp:
        idx = Index.create(Path(tmp) / "idx")
        idx.add_paths([ROOT / c for c in CORPORA])
        gather(idx, "warm up the encoder")
        differ, worst, t_all, t_top, n_sent, n_emb = [], 0, [], [], [], []
        ans_all, ans_top = [], []
        for q in qs:
            full, ta = timed_gather(idx, q, None)
            part, tp = timed_gather(idx, q, args.top)
            t_all.append(ta)
            t_top.append(tp)
            n_sent.append(len(full.sentences))
            n_emb.append(len(part.sentences) if part.embedded is None
                         else int(part.embedded.sum()))
            a, b = choose(full, DEFAULT_WEIGHTS), choose(part, DEFAULT_WEIGHTS)
            ans_all.append(a)
            ans_top.append(b)
            if signature(a) != signature(b):
                differ.append({"question": q, "all": signature(a), "preselected": signature(b)})
            scores = full.scores(DEFAULT_WEIGHTS)
            if np.isfinite(scores).any():
                best = int(np.argmax(scores))
                rank = int((full.pooled > full.pooled[best]).sum()) + 1
                worst = max(worst, rank)
        idx.close()
    out = {
        "command": f"python benchmarks/ask_preselect.py --top {args.top}",
        "questions": len(qs), "qa_files": QA_FILES, "corpora": CORPORA,
        "encoder": "minilm-int8 (default)", "top": args.top,
        "answers_differ": len(differ),
        "qa": {"all": qa_metrics(ans_all, qa), "preselected": qa_metrics(ans_top, qa)},
        "differences": differ,
        "worst_stored_rank_of_chosen_sentence": worst,
        "sentences_per_question_median": statistics.median(n_sent),
        "embedded_per_question_median": statistics.median(n_emb),
        "gather_ms_median": {"all": round(statistics.median(t_all), 1),
                             "preselected": round(statistics.median(t_top), 1)},
        "ratio_all_over_preselected": round(statistics.median(t_all)
                                            / statistics.median(t_top), 2),
        "loadavg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }
    text = json.dumps(out, indent=1)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
