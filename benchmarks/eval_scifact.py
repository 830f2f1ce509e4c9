"""Every search method on SciFact through ``search eval``'s runner: tune on train, report test.

    python benchmarks/eval_scifact.py [DATASET_DIR] [--encoder minilm] [--chunk-size 256]
        [--overlap 32] [--out benchmarks/results/eval_scifact.json] [--skip-tuning]

1. Builds (or reuses) the evaluation index ``indexes/eval/scifact-<encoder>-<size>-<overlap>``
   exactly as ``search eval`` does.
2. On the train split (809 judged queries): every method, then a small grid of hybrid fusions
   (RRF k and the dense/bm25 weights); each fused ranking is computed from the same cached
   dense and bm25 rankings, so the grid costs one pass of each.
3. On the test split (300 queries): every method with the default fusion, and hybrid with
   the fusion that did best on train.

Prints a markdown table and writes everything (tuning runs included) as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.config import ChunkSettings  # noqa: E402
from searchkit.eval import evaluate, load_beir  # noqa: E402
from searchkit.eval.runner import DEPTH, build_index, chunk_docids, evaluate_method  # noqa: E402
from searchkit.retrieval.hybrid import Fusion, HybridRetriever  # noqa: E402
from searchkit.retrieval.methods import METHODS  # noqa: E402

DEFAULT_DIR = "/work/shared/eval/scifact"
GRID_K = (10, 30, 60, 100)
GRID_WEIGHTS = ((1, 1), (1, 0.5), (1, 0.75), (0.75, 1), (0.5, 1))


class Memo:
    """A retriever whose answers are cached per (query, k): the fusion grid reuses them."""

    def __init__(self, retriever):
        self.retriever, self.cache = retriever, {}

    def search(self, query, k, allowed=None):
        key = (query, k)
        if key not in self.cache:
            self.cache[key] = self.retriever.search(query, k, allowed)
        return self.cache[key]

    def __len__(self):
        return len(self.retriever)


def fusion_grid(idx, ds, docid_of) -> list[dict]:
    """nDCG@10 ... of hybrid(dense, bm25) for each (k, weights) of the grid, on ``ds``."""
    parts = {m: Memo(idx.retriever(m)) for m in ("dense", "bm25")}
    fetch = DEPTH * 3  # what evaluate_method's first fetch asks for
    out = []
    for k in GRID_K:
        for w in GRID_WEIGHTS:
            fusion = Fusion(("dense", "bm25"), w, k)
            hybrid = HybridRetriever(parts, fusion, group_of=idx.store.doc_ids_of_chunks)
            run = {}
            for qid, text in ds.queries.items():
                docs = {}
                for cid, score in hybrid.search(text, fetch):
                    d = docid_of[cid]
                    if d not in docs:
                        docs[d] = score
                    if len(docs) == DEPTH:
                        break
                run[qid] = docs
            scores = {m: round(v, 4) for m, v in evaluate(run, ds.qrels).items()}
            out.append({"fusion": fusion.to_dict(), "metrics": scores})
            print(f"  train hybrid k={k:<4} weights={w}: nDCG@10 {scores['ndcg@10']:.4f}",
                  file=sys.stderr, flush=True)
    return out


def evaluate_all(idx, ds, methods, fusion=None, docid_of=None) -> list[dict]:
    out = []
    for m in methods:
        r = evaluate_method(idx, ds, m, fusion=fusion, docid_of=docid_of)
        out.append(r.to_dict())
        print(f"  {ds.split} {m}: nDCG@10 {r.metrics['ndcg@10']:.4f} "
              f"(p50 {r.latency_ms_p50} ms)", file=sys.stderr, flush=True)
    return out


def table(results: list[dict]) -> str:
    lines = ["| method | nDCG@10 | Recall@100 | MRR@10 | MAP@100 | query p50 / p95 ms |",
             "|---|---|---|---|---|---|"]
    for r in results:
        m = r["metrics"]
        name = r["method"]
        if r.get("fusion"):
            f = r["fusion"]
            name += f" (RRF k={f['k']:g}, {' + '.join(f'{w:g}·{x}' for x, w in zip(f['methods'], f['weights']))})"
        lines.append(f"| {name} | {m['ndcg@10']:.4f} | {m['recall@100']:.4f} | "
                     f"{m['mrr@10']:.4f} | {m['map@100']:.4f} | "
                     f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/eval_scifact.json")
    parser.add_argument("--skip-tuning", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    chunking = ChunkSettings(args.chunk_size, args.overlap)
    train, test = load_beir(args.dataset, "train"), load_beir(args.dataset, "test")
    idx, info = build_index(test, encoder=args.encoder, chunking=chunking)
    out = {"dataset": test.name, "encoder": args.encoder, "chunking": vars(chunking),
           "index": vars(info)}
    with idx:
        docid_of = chunk_docids(idx)
        best = Fusion()
        if not args.skip_tuning:
            out["train"] = evaluate_all(idx, train, METHODS, docid_of=docid_of)
            out["train_fusion_grid"] = fusion_grid(idx, train, docid_of)
            top = max(out["train_fusion_grid"], key=lambda g: g["metrics"]["ndcg@10"])
            f = top["fusion"]
            best = Fusion(tuple(f["methods"]), tuple(f["weights"]), f["k"])
            out["train_best_fusion"] = top
        out["test"] = evaluate_all(idx, test, METHODS, docid_of=docid_of)
        if best != Fusion():
            out["test"] += evaluate_all(idx, test, ["hybrid"], fusion=best, docid_of=docid_of)
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    if "train" in out:
        print(f"## {test.name} train split ({len(train.queries)} queries): tuning\n")
        print(table(out["train"]) + "\n")
    print(f"## {test.name} test split ({len(test.queries)} queries)\n")
    print(table(out["test"]))
    print(f"\nIndex: {info.chunks} chunks ({args.encoder}, {chunking.max_tokens}/"
          f"{chunking.overlap}), built in {info.build_seconds} s "
          f"({info.build_chunks_per_s} chunks/s); wall time {out['wall_seconds']} s")


if __name__ == "__main__":
    main()
