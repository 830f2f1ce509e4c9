"""What z-score fusion costs next to RRF: the default query (hybrid, one hit per document,
k=10, no highlights) with ``combine="zscore"`` and ``combine="rrf"``, interleaved on the same
index in one process, the query vector taken from the encoder's memo for both (so the
figures are retrieval and fusion, not encoding). Prints one JSON object.

    python benchmarks/fusion_latency.py --index indexes/eval/scifact-minilm-int8-256-32 [--queries 150]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.eval.beir import load_beir  # noqa: E402
from searchkit.index import Index  # noqa: E402

COMBINES = ("zscore", "rrf")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--data", default="/work/shared/eval/scifact")
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    qs = list(load_beir(args.data, "test").queries.values())[:args.queries]
    times: dict[str, list[float]] = {c: [] for c in COMBINES}
    with Index.open(args.index) as idx:
        for c in COMBINES:  # load everything once
            idx.search(qs[0], combine=c)
        for r in range(args.rounds):
            for q in qs:
                idx.encoder.encode_query(q)
                for c in (COMBINES if r % 2 == 0 else COMBINES[::-1]):
                    t = time.perf_counter()
                    idx.search(q, k=10, combine=c)
                    times[c].append((time.perf_counter() - t) * 1000)
    out = {c: {"p50_ms": round(float(np.percentile(v, 50)), 2),
               "p95_ms": round(float(np.percentile(v, 95)), 2)} for c, v in times.items()}
    out["zscore_over_rrf_p50"] = round(out["zscore"]["p50_ms"] / out["rrf"]["p50_ms"], 3)
    out.update(index=args.index, queries=len(qs), rounds=args.rounds,
               load_average=round(os.getloadavg()[0], 2),
               command="python benchmarks/fusion_latency.py --index " + args.index)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
