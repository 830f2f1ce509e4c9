"""What the vector file's checksum costs: on open (a stat while the file is untouched, a
SHA-256 when it was touched) and at each commit, next to the load itself.

    python benchmarks/vector_checksum.py [--n 100000]

A flat index of ``--n`` random unit 384-d vectors is saved (FAISS write + fsync + SHA-256),
then loaded with its stamp intact (size and mtime as recorded: no hashing) and after a
touch (the SHA-256 is verified). Prints one JSON object and writes
benchmarks/results/vector_checksum.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> dict:
    import numpy as np

    from searchkit.store.vectors import (VectorIndex, file_sha256, sidecar,
                                         stamp_or_checksum_ok)

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args(argv)
    v = np.random.default_rng(0).standard_normal((args.n, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    vi = VectorIndex(384, "flat")
    vi.add(np.arange(1, args.n + 1), v)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "vectors.faiss"
        save = best(lambda: vi.save(p, 1, "x"))
        meta = json.loads(sidecar(p).read_text())
        stamp = best(lambda: [stamp_or_checksum_ok(p, meta) for _ in range(1000)]) / 1000
        sha = best(lambda: file_sha256(p))
        load = best(lambda: VectorIndex.load(p, 1, "x", 384))

        def touched():
            os.utime(p)
            VectorIndex.load(p, 1, "x", 384)

        load_touched = best(touched)
        result = {"vectors": args.n, "file_mb": round(p.stat().st_size / 2**20, 1),
                  "save_s_with_sha256": round(save, 3), "sha256_s": round(sha, 3),
                  "open_stamp_check_ms": round(stamp * 1000, 4),
                  "load_s_untouched": round(load, 3), "load_s_touched": round(load_touched, 3),
                  "touched_over_untouched": round(load_touched / load, 2)}
    print(json.dumps(result, indent=2))
    (ROOT / "benchmarks" / "results" / "vector_checksum.json").write_text(
        json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
