"""Static retrieval baselines on a BEIR dataset (SciFact by default), one vector/document each.

    python benchmarks/baselines_scifact.py [DATASET_DIR] [--split test]
        [--retrievers bm25,tfidf,glove]

Indexes title + " " + text per document, answers every judged query (top 100) and prints one
JSON object: the metrics of each retriever and the seconds spent indexing and searching.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.eval import evaluate, load_beir  # noqa: E402
from searchkit.retrieval import REGISTRY  # noqa: E402

DEFAULT_DIR = "/work/shared/eval/scifact"


def run_one(name: str, ds, top: int = 100) -> dict:
    docids = list(ds.corpus)
    texts = [ds.doc_text(d) for d in docids]
    retriever = REGISTRY[name]()
    t0 = time.perf_counter()
    retriever.build(range(len(docids)), texts)
    t1 = time.perf_counter()
    run = {q: {docids[i]: s for i, s in retriever.search(text, top)}
           for q, text in ds.queries.items()}
    t2 = time.perf_counter()
    scores = evaluate(run, ds.qrels)
    return {**{m: round(v, 4) for m, v in scores.items()},
            "index_s": round(t1 - t0, 2), "search_s": round(t2 - t1, 2),
            "query_ms": round(1000 * (t2 - t1) / max(len(ds.queries), 1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--split", default="test")
    parser.add_argument("--retrievers", default="bm25,tfidf,glove")
    args = parser.parse_args()
    ds = load_beir(args.dataset, args.split)
    out = {"dataset": ds.name, "split": args.split, "documents": len(ds.corpus),
           "queries": len(ds.queries)}
    for name in args.retrievers.split(","):
        out[name] = run_one(name, ds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
