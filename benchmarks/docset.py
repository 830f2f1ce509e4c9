"""Issue #17's documentation target: the right page in the top 5 for >= 90% of questions.

    apt-get install -y sqlite3-doc      # SQLite's documentation: 766 HTML pages
    python benchmarks/docset.py [--docs /usr/share/doc/sqlite3] [--index DIR] [--methods M,M]

The questions (``benchmarks/data/docset_sqlite.jsonl``, 25 of them) were written as a user
would ask them, each with the page or pages that answer it, and committed before anything was
searched in that folder. Nothing was chosen on them: every method runs as shipped.

The folder is indexed as a user would (``search index DOCS``: the default encoder, chunking
and reader; built once under ``indexes/eval/docset-sqlite`` and synced after). Each question
runs through ``Index.search`` with one hit per document (what ``search query`` shows),
``k=5``, per method. A question counts as found when one of the five pages is one of its
answer pages (paths relative to DOCS). Reports per method: ``top5`` (share found),
``top1``, ``mrr@5``, the questions missed with what came first, and the query latency.

Prints one JSON object and writes it to ``benchmarks/results/docset_sqlite.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.api import index_paths  # noqa: E402
from searchkit.retrieval.hybrid import DEFAULT_COMBINE, LENGTH_PRIOR  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "data" / "docset_sqlite.jsonl"
OUT = ROOT / "benchmarks" / "results" / "docset_sqlite.json"


def relative(path: str, docs: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(docs.resolve()))
    except ValueError:
        return path


def score(idx, questions, method: str, docs: Path) -> dict:
    found = first = 0
    rr, times, missed = [], [], []
    for item in questions:
        t0 = time.perf_counter()
        hits = idx.search(item["q"], k=5, method=method)
        times.append((time.perf_counter() - t0) * 1000)
        pages = [relative(h.path, docs) for h in hits]
        ranks = [i for i, p in enumerate(pages) if p in item["pages"]]
        found += bool(ranks)
        first += bool(ranks) and ranks[0] == 0
        rr.append(1 / (ranks[0] + 1) if ranks else 0.0)
        if not ranks:
            missed.append({"q": item["q"], "want": item["pages"], "got": pages})
    n = len(questions)
    return {"top5": round(found / n, 4), "top1": round(first / n, 4),
            "mrr@5": round(sum(rr) / n, 4), "found": found, "questions": n,
            "latency_ms_p50": round(statistics.median(times), 2), "missed": missed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=Path, default=Path("/usr/share/doc/sqlite3"))
    ap.add_argument("--index", type=Path, default=ROOT / "indexes" / "eval" / "docset-sqlite")
    ap.add_argument("--methods", default="bm25,dense,hybrid")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--questions", type=Path, default=QUESTIONS,
                    help="JSON lines of {q, pages} (default: the 25 of the report set)")
    ap.add_argument("--length-prior", type=float, default=None,
                    help="hybrid's document length prior (default: the shipped LENGTH_PRIOR)")
    args = ap.parse_args()
    if args.length_prior is not None:
        import searchkit.retrieval.hybrid as hybrid

        hybrid.LENGTH_PRIOR[hybrid.DEFAULT_COMBINE] = args.length_prior
    if not args.docs.is_dir():
        sys.exit(f"error: {args.docs} not found (apt-get install -y sqlite3-doc)")
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    t0 = time.perf_counter()
    report = index_paths([str(args.docs)], index=args.index)
    build_s = time.perf_counter() - t0
    with Index.open(args.index) as idx:
        stats = idx.stats()
        result = {
            "docs": str(args.docs), "questions_file": str(args.questions.resolve().relative_to(ROOT)),
            "index": str(args.index), "encoder": stats.get("encoder"),
            "documents": stats.get("documents"), "chunks": stats.get("chunks"),
            "index_sync_s": round(build_s, 1), "files_indexed_now": report.files_indexed,
            "skipped": len(report.skipped),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_1m": round(os.getloadavg()[0], 2)},
            "command": "python " + " ".join(sys.argv),
            "length_prior": (args.length_prior if args.length_prior is not None
                             else LENGTH_PRIOR[DEFAULT_COMBINE]),
            "methods": {m: score(idx, questions, m, args.docs)
                        for m in args.methods.split(",")},
        }
    text = json.dumps(result, indent=1)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
