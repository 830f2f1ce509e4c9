"""Memory of `search serve` under concurrent ``ask`` calls, with and without the encoder cap.

Starts the server twice in one run on the same index and worker count: once with the
default cap (one encoder run at a time per process), once without it
(``SEARCHKIT_SERVE_ENCODER_SLOTS=0``), sends ``--asks`` questions from as many clients at
once, and reports the RSS of the server's processes after a warm-up and after the asks.
Prints JSON and writes benchmarks/results/serve_memory.json.

    python benchmarks/serve_memory.py --index indexes/eval/scifact-minilm-int8-256-32 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.parse
from pathlib import Path

from serve_load import DEFAULT_QUERIES, ROOT, free_port, load, rss, start_server


def measure(index: str, queries: list[str], workers: int, slots: int | None, asks: int) -> dict:
    port = free_port()
    proc = start_server(index, port, workers, slots)
    try:
        enc = urllib.parse.quote
        load(port, [f"/api/search?q={enc(q)}&k=10" for q in queries[-20:]], 4)  # warm-up
        warm = rss(proc.pid)
        r = load(port, [f"/api/ask?q={enc(q)}" for q in queries[:asks]], asks)
        return {"encoder_slots": "default (1)" if slots is None else slots,
                "after_warm_up_mb": round(warm / 2**20, 1),
                "after_asks_mb": round(rss(proc.pid) / 2**20, 1), "asks": r}
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, help="index directory to serve")
    ap.add_argument("--queries", default=str(DEFAULT_QUERIES),
                    help="BEIR queries.jsonl (their text is the question set)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--asks", type=int, default=16, help="questions, all sent at once")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve_memory.json"))
    args = ap.parse_args()
    queries = [json.loads(line)["text"] for line in open(args.queries)]
    t0, before = time.time(), os.getloadavg()
    capped = measure(args.index, queries, args.workers, None, args.asks)
    uncapped = measure(args.index, queries, args.workers, 0, args.asks)
    result = {"index": os.path.basename(os.path.normpath(args.index)), "workers": args.workers,
              "concurrent_asks": args.asks, "capped": capped, "uncapped": uncapped,
              "capped_over_uncapped": round(capped["after_asks_mb"] / uncapped["after_asks_mb"], 3),
              "load_average_before": [round(x, 2) for x in before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "seconds": round(time.time() - t0, 1)}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
