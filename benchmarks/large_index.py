"""Build the 40k-passage query-benchmark index from benchmarks/large_corpus.py's folder.

    python benchmarks/large_corpus.py /tmp/large_corpus --same-text
    python benchmarks/large_index.py /tmp/idx_large /tmp/large_corpus \
        --embeddings-from indexes/eval/scifact-minilm-int8-256-32
    python benchmarks/cold_query.py --runs 7 --index /tmp/idx_large

A new index with the default encoder takes the SciFact evaluation index's vectors and highlight
sentence vectors (``Index.import_embeddings``: keyed by passage text, so the exact copies of
``--same-text`` are embedded by no one), syncs the folder, then answers one query, which builds
and saves the BM25 baseline. Prints one JSON object: what was synced, seconds, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import searchkit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--embeddings-from", type=Path, default=None)
    args = ap.parse_args()
    t = time.perf_counter()
    idx = searchkit.Index.create(args.index)
    n = idx.import_embeddings(args.embeddings_from) if args.embeddings_from else 0
    r = idx.add_paths([args.corpus])
    t1 = time.perf_counter()
    idx.search("warm the keyword index", k=1)
    idx.close()
    print(json.dumps({"imported": n, "files": r.files_indexed, "chunks_added": r.chunks_added,
                      "chunks_embedded": r.chunks_embedded, "sync_s": round(t1 - t, 1),
                      "bm25_build_s": round(time.perf_counter() - t1, 1),
                      "peak_rss_mib": round(resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
