"""Does `search tune` help? Dense nDCG@10 on a BEIR test split before and after tuning on its
train split, in one run, plus hybrid (dense and BM25 fused by z-scores, and by RRF as
``hybrid_rrf``) with each encoder.

    python benchmarks/tune_scifact.py /work/shared/eval/scifact [--epochs 1]
        [--batch-size 32] [--lr 5e-5] [--keep NAME]

Documents are encoded whole (title + " " + text, truncated at the encoder's 256 tokens), one
vector each, not chunked as `search index` would: it is ~3x faster and the same for both
encoders. Training pairs come from qrels/train.tsv only (score > 0); test queries are never
seen in training. The tuned model goes to a temporary models home unless --keep NAME saves
it under indexes/models/NAME. Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.eval import evaluate, load_beir  # noqa: E402

TOP = 100


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def dense_run(encoder, ds, docids, texts) -> tuple[dict, float]:
    """``{qid: {docid: score}}`` (top 100 by cosine) and the minutes spent encoding."""
    t0 = time.perf_counter()
    done = [0]

    def tick(n):
        done[0] += n
        if done[0] % 1024 < n:
            log(f"  {encoder.id}: {done[0]}/{len(texts)} documents")

    dv = encoder.encode_documents(texts, batch_size=32, progress=tick)
    qids = list(ds.queries)
    qv = encoder.encode_queries([ds.queries[q] for q in qids])
    scores = qv @ dv.T
    run = {}
    for row, q in zip(scores, qids):
        top = np.argsort(-row)[:TOP]
        run[q] = {docids[i]: float(row[i]) for i in top}
    return run, (time.perf_counter() - t0) / 60


def bm25_run(ds, docids, texts) -> dict:
    from searchkit.retrieval import get_retriever

    r = get_retriever("bm25")
    r.build(range(len(docids)), texts)
    return {q: {docids[i]: s for i, s in r.search(text, TOP)} for q, text in ds.queries.items()}


def hybrid_run(dense: dict, sparse: dict, docids, combine: str = "zscore") -> dict:
    """The two top-100 rankings fused as ``--method hybrid --combine COMBINE`` fuses them
    (equal weights; no coverage scaling: documents here are not chunks of an index):
    ``zscore`` (the default) or ``rrf`` (k=60)."""
    from searchkit.retrieval.fusion import rrf, zscore

    pos = {d: i for i, d in enumerate(docids)}
    out = {}
    for q in dense:
        rankings = [[(pos[d], s) for d, s in sorted(run[q].items(), key=lambda kv: -kv[1])]
                    for run in (dense, sparse)]
        fused = zscore(rankings, limit=TOP) if combine == "zscore" else \
            rrf(rankings, k=60, limit=TOP)
        out[q] = {docids[i]: s for i, s in fused}
    return out


def scores(run, qrels) -> dict:
    return {m: round(v, 4) for m, v in evaluate(run, qrels).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", metavar="NAME", help="save the tuned model as NAME")
    ap.add_argument("--hard-negatives", action="store_true",
                    help="tune with one BM25-mined hard negative per pair (search tune's flag)")
    args = ap.parse_args()
    if not args.keep:
        os.environ["SEARCHKIT_HOME"] = tempfile.mkdtemp(prefix="tune-bench-")

    from searchkit.encoders import get_encoder
    from searchkit.tuning import tune

    t_start = time.perf_counter()
    ds = load_beir(args.dataset, "test")
    docids = list(ds.corpus)
    texts = [ds.doc_text(d) for d in docids]
    out = {"dataset": ds.name, "documents": len(docids), "test_queries": len(ds.queries),
           "documents_encoded": "whole: title + ' ' + text, first 256 tokens"}

    log("BM25")
    sparse = bm25_run(ds, docids, texts)
    out["bm25"] = scores(sparse, ds.qrels)

    log("dense, all-MiniLM-L6-v2")
    base_run, base_min = dense_run(get_encoder("minilm"), ds, docids, texts)
    out["base"] = {"dense": scores(base_run, ds.qrels),
                   "hybrid": scores(hybrid_run(base_run, sparse, docids), ds.qrels),
                   "hybrid_rrf": scores(hybrid_run(base_run, sparse, docids, "rrf"), ds.qrels),
                   "encode_minutes": round(base_min, 1)}
    log(f"  base dense nDCG@10 {out['base']['dense']['ndcg@10']}")

    log(f"tuning on {args.dataset} train split")
    last = [time.perf_counter()]

    def progress(step, total, loss):
        if time.perf_counter() - last[0] > 30 or step == total:
            last[0] = time.perf_counter()
            log(f"  step {step}/{total} loss {loss:.4f}")

    res = tune(beir=args.dataset, split="train", out=args.keep or "scifact-tuned",
               epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
               force=bool(args.keep), progress=progress, hard_negatives=args.hard_negatives)
    out["tuning"] = {"pairs": res.pairs, "hard_negatives": args.hard_negatives, "steps": res.steps, "epochs": res.epochs,
                     "batch_size": res.batch_size, "lr": res.lr, "warmup_steps": res.warmup_steps,
                     "first_loss": res.first_loss, "final_loss": res.final_loss,
                     "minutes": round(res.seconds / 60, 1), "encoder_id": res.encoder_id,
                     "saved": str(res.path) if args.keep else None}

    log(f"dense, tuned ({res.encoder_id})")
    tuned_run, tuned_min = dense_run(get_encoder(res.encoder_id), ds, docids, texts)
    out["tuned"] = {"dense": scores(tuned_run, ds.qrels),
                    "hybrid": scores(hybrid_run(tuned_run, sparse, docids), ds.qrels),
                    "hybrid_rrf": scores(hybrid_run(tuned_run, sparse, docids, "rrf"), ds.qrels),
                    "encode_minutes": round(tuned_min, 1)}
    out["delta_ndcg@10"] = {
        k: round(out["tuned"][k]["ndcg@10"] - out["base"][k]["ndcg@10"], 4)
        for k in ("dense", "hybrid", "hybrid_rrf")}
    out["minutes_total"] = round((time.perf_counter() - t_start) / 60, 1)
    out["command"] = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
