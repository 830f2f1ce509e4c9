"""Which encoder may be the default: int8 vs torch on SciFact test, measured in one run.

    python benchmarks/default_encoder.py [DATASET_DIR] [--encoders minilm,minilm-int8]
        [--out benchmarks/results/default_encoder.json]

The rule (issue #14): a new index uses ``minilm-int8`` if its hybrid nDCG@10 is within 0.005
of the torch encoder's hybrid and its dense nDCG@10 within 0.01; otherwise ``minilm-onnx``
(fp32, whose vectors equal torch's within float rounding). Each encoder's SciFact index is
built (or reused) exactly as ``search eval`` builds it, so the indexing time of each is in the
JSON too (``index.build_seconds``; comparable only when built in the same run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.eval import load_beir  # noqa: E402
from searchkit.eval.runner import run_eval  # noqa: E402

HYBRID_MAX_LOSS = 0.005
DENSE_MAX_LOSS = 0.01


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default="/work/shared/eval/scifact")
    ap.add_argument("--encoders", default="minilm,minilm-int8")
    ap.add_argument("--out", default="benchmarks/results/default_encoder.json")
    args = ap.parse_args()

    ds = load_beir(args.dataset, "test")
    runs = {}
    for enc in args.encoders.split(","):
        rep = run_eval(ds, ["dense", "hybrid"], encoder=enc)
        runs[enc] = {"index": {k: rep.index.__dict__[k] for k in
                               ("path", "chunks", "reused", "build_seconds", "build_chunks_per_s")},
                     **{r.method: {k: round(v, 4) for k, v in r.metrics.items()}
                        for r in rep.results}}
        print(f"{enc}: dense {runs[enc]['dense']['ndcg@10']:.4f} "
              f"hybrid {runs[enc]['hybrid']['ndcg@10']:.4f}", file=sys.stderr)
    out = {"dataset": ds.name, "split": "test", "queries": len(ds.queries), "runs": runs}
    if "minilm" in runs and "minilm-int8" in runs:
        t, q = runs["minilm"], runs["minilm-int8"]
        dl = t["dense"]["ndcg@10"] - q["dense"]["ndcg@10"]
        hl = t["hybrid"]["ndcg@10"] - q["hybrid"]["ndcg@10"]
        ok = dl <= DENSE_MAX_LOSS and hl <= HYBRID_MAX_LOSS
        out["int8_vs_torch"] = {"dense_loss": round(dl, 4), "hybrid_loss": round(hl, 4),
                                "dense_max_loss": DENSE_MAX_LOSS,
                                "hybrid_max_loss": HYBRID_MAX_LOSS, "int8_qualifies": ok}
        out["default"] = "minilm-int8" if ok else "minilm-onnx"
    print(json.dumps(out, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
