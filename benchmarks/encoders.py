"""Throughput of the encoder backends on the same passages.

    python benchmarks/encoders.py [CORPUS.jsonl] [--n 400] [--words 200] [--batch-size 32]
                                  [--rounds 2] [--encoders minilm,minilm-onnx,minilm-int8]

Prints one JSON object: passages/s of each encoder (best of ``--rounds`` timed passes,
after an untimed warm-up that also exports the ONNX models if needed), int8/minilm and
onnx/minilm ratios, and each backend's worst and mean cosine to ``minilm``.
Passages are the first ``--n`` documents of a BEIR corpus.jsonl (default: SciFact in
/work/shared/eval) cut to ``--words`` words; without one, sample_corpus/ texts are used.
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
DEFAULT_CORPUS = Path("/work/shared/eval/scifact/corpus.jsonl")


def load_passages(corpus: Path | None, n: int, words: int) -> tuple[list[str], str]:
    if corpus and corpus.exists():
        texts = []
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                text = f"{doc.get('title', '')} {doc.get('text', '')}".split()
                if text:
                    texts.append(" ".join(text[:words]))
                if len(texts) == n:
                    break
        return texts, str(corpus)
    # Fallback: slide a window of `words` words over the sample corpus, repeating it.
    tokens = []
    for p in sorted((ROOT / "sample_corpus").rglob("*")):
        if p.is_file() and p.suffix in {".txt", ".md", ".html", ".htm", ""}:
            tokens += p.read_text(encoding="utf-8", errors="ignore").split()
    tokens = tokens or "the quick brown fox jumps over the lazy dog".split()
    step = max(1, words // 2)
    texts = []
    while len(texts) < n:
        i = (len(texts) * step) % len(tokens)
        window = (tokens[i:] + tokens)[:words]
        texts.append(" ".join(window))
    return texts, "sample_corpus"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--encoders", default="minilm,minilm-onnx,minilm-int8")
    args = ap.parse_args(argv)

    from searchkit.encoders import get_encoder

    texts, source = load_passages(args.corpus, args.n, args.words)
    names = args.encoders.split(",")
    encs = {name: get_encoder(name) for name in names}
    for enc in encs.values():  # warm-up: load/export, first-run allocations
        enc.encode_documents(texts[: args.batch_size], batch_size=args.batch_size)

    # Interleave rounds so that load from other processes hits every backend alike.
    best = {name: float("inf") for name in names}
    vecs = {}
    for _ in range(args.rounds):
        for name, enc in encs.items():
            t = time.perf_counter()
            vecs[name] = enc.encode_documents(texts, batch_size=args.batch_size)
            best[name] = min(best[name], time.perf_counter() - t)

    tok = next(iter(encs.values()))
    result = {
        "source": source, "passages": len(texts),
        "mean_tokens": round(float(np.mean([min(tok.count_tokens(t), tok.max_tokens)
                                            for t in texts])), 1),
        "batch_size": args.batch_size, "rounds": args.rounds, "cpus": os.cpu_count(),
        "passages_per_s": {n: round(len(texts) / best[n], 2) for n in names},
    }
    if "minilm" in names:
        for other, key in (("minilm-int8", "int8/minilm"), ("minilm-onnx", "onnx/minilm")):
            if other in names:
                result[key] = round(best["minilm"] / best[other], 3)
        ref = vecs["minilm"]
        result["cosine_to_minilm"] = {
            n: {"min": round(float((vecs[n] * ref).sum(1).min()), 5),
                "mean": round(float((vecs[n] * ref).sum(1).mean()), 5)}
            for n in names if n != "minilm"}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
