"""The sentence-evidence product right after a query encoding: ``int8 @ float32`` (numpy hands
it to the multi-threaded BLAS) against ``np.einsum`` (one thread), on the 300 chunks a deep
dense ranking re-scores.

    python benchmarks/sentence_product.py [--index indexes/eval/scifact-minilm-int8-256-32]
                                          [--queries 200] [--depth 300]

Per real SciFact query: encode it (the encoder's threads have just run, as in a search),
rank ``--depth`` chunks densely, take their stored sentence vectors from the memory-mapped
matrix, then time each product on them (which goes first alternates). Prints JSON: mean ms of each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scifact_vectors as sv  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    import faiss

    from searchkit.index import Index
    from searchkit.sentence_vectors import SCALE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path,
                    default=ROOT / "indexes" / "eval" / "scifact-minilm-int8-256-32")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--depth", type=int, default=300)
    args = ap.parse_args(argv)
    faiss.omp_set_num_threads(1)
    idx = Index.open(args.index, readonly=True)
    held = idx.sentence_matrix
    if held is None:
        raise SystemExit(f"{args.index} has no current sentence matrix: search check --repair")
    times: dict[str, list[float]] = {"matmul": [], "einsum": []}
    rows = 0
    for n, q in enumerate(sv.queries(args.queries)):
        idx.encoder.query_memo.clear()
        qv = np.asarray(idx.encoder.encode_query(q), dtype=np.float32).reshape(-1)
        ids = [i for i, _ in idx.vectors.search(qv, args.depth)[0]]
        _, _, mat = held.rows_of(ids)
        rows += len(mat)
        qs = (qv / SCALE).astype(np.float32)
        got = {}
        for what in (("matmul", "einsum") if n % 2 else ("einsum", "matmul")):  # alternate
            t = time.perf_counter()
            got[what] = mat @ qs if what == "matmul" else np.einsum("ij,j->i", mat, qs)
            times[what].append(time.perf_counter() - t)
        a, b = got["matmul"], got["einsum"]
        assert np.allclose(a, b, atol=1e-3)
    idx.close()
    out = {"index": str(args.index), "depth": args.depth, "queries": args.queries,
           "sentences_per_query": round(rows / args.queries), "cpus": os.cpu_count(),
           "loadavg_1m": round(os.getloadavg()[0], 2),
           **{f"{k}_ms_mean": round(1000 * float(np.mean(v)), 3) for k, v in times.items()}}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
