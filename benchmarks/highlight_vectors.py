"""Highlight sentence vectors: stored at index time (pooled in context) vs embedded alone.

    python benchmarks/highlight_vectors.py [--index DIR] [--out benchmarks/results/highlight_vectors.json]

For every answerable question of tests/data/qa.jsonl whose answer sentence lies in a chunk of
the right document, the chunk's sentences are scored three ways, each with the same lexical
term (highlight.LEXICAL_WEIGHT x IDF-weighted overlap): the sentence vectors the index
stored (searchkit.sentence_vectors: the chunk's own token vectors, mean-pooled per sentence,
int8), each sentence embedded alone by the encoder (what highlights did before), and the
lexical term alone. Reports how often the top-scoring sentence is the answer sentence.
The index is ``--index`` (built with the default encoder), else sample_corpus indexed into
a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.highlight import (LEXICAL_WEIGHT, idf_table, lexical_overlap,  # noqa: E402
                                 score_sentences)
from searchkit.sentence_vectors import unpack  # noqa: E402


def norm(s: str) -> str:
    return " ".join(s.split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=None)
    ap.add_argument("--out", default="benchmarks/results/highlight_vectors.json")
    args = ap.parse_args()
    path = args.index
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="hl-")) / "idx"
        with Index.create(path) as idx:
            idx.add_paths([ROOT / "sample_corpus"])
    idx = Index.open(path)
    enc = idx.encoder
    rows = [json.loads(line) for line in open(ROOT / "tests/data/qa.jsonl", encoding="utf-8")]
    wins = {"stored_in_context": 0, "embedded_alone": 0, "lexical_only": 0}
    n = 0
    for r in rows:
        if not r.get("doc"):
            continue
        want = norm(r["answer"])[:40]
        chunks = [h for h in idx.search(r["question"], k=50, method="dense")
                  if h.path == r["doc"] and want in norm(h.text)]
        if not chunks:
            continue
        h = chunks[0]
        blob = idx.store.sentence_vectors(idx.vector_key, [h.chunk_id]).get(h.chunk_id)
        if blob is None:
            raise SystemExit(f"{path}: no stored sentence vectors (re-index it)")
        spans, vecs = unpack(blob, enc.dim)
        texts = [h.text[a:b] for a, b in spans]
        gold = [i for i, t in enumerate(texts) if want in norm(t)]
        if not gold:
            continue
        n += 1
        qv = enc.encode_query(r["question"])
        lex = lexical_overlap(r["question"], texts, idf_table(texts))
        scores = {"stored_in_context": vecs @ qv + LEXICAL_WEIGHT * lex,
                  "embedded_alone": score_sentences(enc, r["question"], texts, query_vector=qv),
                  "lexical_only": lex}
        for name, sc in scores.items():
            wins[name] += int(int(np.argmax(sc)) in gold)
    out = {"index": str(path), "encoder": idx.manifest.encoder, "questions": n,
           "answer_sentence_on_top": wins,
           "share": {k: round(v / n, 3) for k, v in wins.items()} if n else {}}
    print(json.dumps(out, indent=2))
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
