"""Indexing throughput against the encoder's own throughput on the same chunk texts.

    python benchmarks/index_throughput.py [--n 1000] [--encoder minilm-int8] [--rounds 2]
                                          [--corpus /work/shared/eval/scifact/corpus.jsonl]

The first ``--n`` SciFact documents are written as text files (title, blank line, text) to
a temporary folder. Each round, interleaved so that load from other processes hits both
alike:

- ``index``: ``Index.create`` + ``Index.add_paths`` of the folder into a fresh index
  (walk, read, chunk, embed, SQLite commits, FAISS save: everything ``search index`` does
  after its imports);
- ``encoder``: ``encode_documents`` on exactly the chunk texts that index holds, with the
  same encoder object (the raw speed of the backend, nothing else).

Prints one JSON object: chunks/s of both (best round), ``index/encoder`` (target >= 0.90),
and where the index run spent its time. Without the corpus, sample_corpus/ is repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = Path("/work/shared/eval/scifact/corpus.jsonl")


def write_corpus(corpus: Path, n: int, folder: Path) -> str:
    folder.mkdir(parents=True)
    if corpus.exists():
        with open(corpus, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i == n:
                    break
                d = json.loads(line)
                (folder / f"{d['_id']}.txt").write_text(f"{d.get('title', '')}\n\n{d['text']}\n",
                                                        encoding="utf-8")
        return str(corpus)
    files = [p for p in sorted((ROOT / "sample_corpus").rglob("*")) if p.is_file()]
    for i in range(n):
        src = files[i % len(files)]
        # a copy number in the text, so that repeated files are distinct chunks
        (folder / f"{i}{src.suffix}").write_bytes(src.read_bytes() + f"\n\ncopy {i}\n".encode())
    return "sample_corpus (repeated)"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--encoder", default="minilm-int8")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)

    from searchkit.encoders import get_encoder
    from searchkit.index import Index

    tmp = Path(tempfile.mkdtemp(prefix="index-throughput-"))
    try:
        folder = tmp / "docs"
        source = write_corpus(args.corpus, args.n, folder)
        enc = get_encoder(args.encoder)
        enc.encode_documents(["warm up the session and the tokenizer"] * 8)
        # the chunker's tokenizer, and FAISS: one-time loads are not indexing speed
        enc.tokenizer  # noqa: B018
        from searchkit.store.vectors import VectorIndex

        VectorIndex(enc.dim)
        best_index, best_raw, texts, phases = float("inf"), float("inf"), None, None
        for r in range(args.rounds):
            path = tmp / f"idx{r}"
            t = time.perf_counter()
            idx = Index.create(path, encoder=args.encoder)
            report = idx.add_paths([folder])
            dt = time.perf_counter() - t
            if dt < best_index:
                best_index, phases = dt, getattr(report, "timings", None)
            texts = [row[0] for row in idx.store.db.execute(
                "SELECT text FROM chunks ORDER BY id")]
            idx.close()
            shutil.rmtree(path)
            t = time.perf_counter()
            enc.encode_documents(texts)
            best_raw = min(best_raw, time.perf_counter() - t)
        n = len(texts)
        result = {
            "source": source, "documents": args.n, "chunks": n, "encoder": args.encoder,
            "rounds": args.rounds, "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "index_s": round(best_index, 3), "encoder_s": round(best_raw, 3),
            "index_chunks_per_s": round(n / best_index, 2),
            "encoder_chunks_per_s": round(n / best_raw, 2),
            "index/encoder": round(best_raw / best_index, 3),
        }
        result["target_ge_0.90"] = result["index/encoder"] >= 0.90
        if phases:
            result["index_phases_s"] = phases
        print(json.dumps(result, indent=2))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
