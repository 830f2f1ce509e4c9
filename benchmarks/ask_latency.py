"""``search ask`` against ``search query`` on the same index: target ask <= 2 x query.

    python benchmarks/ask_latency.py [--index DIR] [--runs 5] [--encoder minilm-int8]

Two measurements, both of the default ``search query`` (hybrid, highlights on: it embeds
every sentence of its 10 hits) next to ``search ask`` (it embeds the sentences of 20
candidate chunks) for the same question:

* ``cold``: each command as a fresh process, as a user types it (model loading included),
  interleaved query/ask so that load from other processes hits both alike; median wall and
  CPU (user + sys) seconds;
* ``warm``: in one process with the index open and the encoder loaded, ``Index.search(q,
  highlight=True)`` against ``Index.ask(q)``; the sentence-vector cache of ask is cleared
  before each call, so repeated questions do not flatter it. Median milliseconds.

Questions: the README's and the labelled set's (tests/data/qa_fresh.jsonl), first ``--runs``
of them. The index is ``--index`` or sample_corpus indexed with ``--encoder`` into a
temporary folder. Prints one JSON object with the ratios ask / query.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cold_query import search_cmd, timed  # noqa: E402

README_QUESTIONS = ["what happens to my savings if the bank fails",
                    "how long should sourdough starter be fed before baking?"]


def questions(n: int) -> list[str]:
    qa = [json.loads(x)["question"] for x in
          (ROOT / "tests/data/qa_fresh.jsonl").read_text().splitlines() if x.strip()]
    return (README_QUESTIONS + qa)[:n]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--encoder", default="minilm-int8")
    args = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index
        if not index:
            index = str(Path(tmp) / "idx")
            subprocess.run([*search_cmd(), "index", str(ROOT / "sample_corpus"), "--index",
                            index, "--encoder", args.encoder, "-q"], env=env, check=True)
        qs = questions(args.runs)
        cold = {"query": [], "ask": []}
        for q in qs:
            cold["query"].append(timed([*search_cmd(), "query", q, "--index", index], env))
            cold["ask"].append(timed([*search_cmd(), "ask", q, "--index", index], env,
                                     ok=(0, 4)))  # 4: no answer
        warm = _warm(index, qs)
    out = {"index": index if args.index else f"sample_corpus, {args.encoder} (temporary)",
           "questions": len(qs), "cold_s": {}, "warm_ms": warm}
    for k, runs in cold.items():
        out["cold_s"][k] = {"wall_median": round(statistics.median(r[0] for r in runs), 3),
                            "cpu_median": round(statistics.median(r[1] for r in runs), 3)}
    out["cold_ratio_ask_over_query"] = round(
        out["cold_s"]["ask"]["wall_median"] / out["cold_s"]["query"]["wall_median"], 2)
    out["warm_ratio_ask_over_query"] = round(warm["ask"] / warm["query"], 2)
    out["target"] = "ask <= 2 x query"
    print(json.dumps(out, indent=2))
    return out


def _warm(index: str, qs: list[str]) -> dict:
    from searchkit import Index

    idx = Index.open(index)
    idx.search(qs[0], highlight=True)  # load the encoder, FAISS and BM25 once
    idx.ask(qs[0])
    times = {"query": [], "ask": []}
    for q in qs:
        t = time.perf_counter()
        idx.search(q, highlight=True)
        times["query"].append(time.perf_counter() - t)
        idx.cache.clear("ask_vectors")  # no cached sentence vectors
        t = time.perf_counter()
        idx.ask(q)
        times["ask"].append(time.perf_counter() - t)
    idx.close()
    return {k: round(1000 * statistics.median(v), 1) for k, v in times.items()}


if __name__ == "__main__":
    main()
