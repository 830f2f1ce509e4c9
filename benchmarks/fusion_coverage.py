"""How the hybrid's coverage power was chosen: plain RRF (power 0) against bm25 ranks scaled
by coverage**power, through the shipped HybridRetriever, on SciFact (nDCG@10 on a split) or
on sample_corpus's paraphrased questions (top-1 / top-3). Prints one JSON object.

    python benchmarks/fusion_coverage.py train indexes/eval/scifact-minilm-256-32 [DATASET_DIR]
    python benchmarks/fusion_coverage.py sample indexes/default   # sample_corpus indexed there

Add ``--combine rrf`` or ``--combine zscore`` (the default: hybrid's default) to choose how
the two rankings are fused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from searchkit import Index
from searchkit.eval import evaluate, load_beir
from searchkit.retrieval.hybrid import Fusion, HybridRetriever
from searchkit.retrieval.methods import get_method

POWERS = (0, 1, 2, 3, 4)
QUERIES = Path(__file__).resolve().parent.parent / "tests" / "data" / "sample_queries.jsonl"


class _Memo:
    """A retriever whose results are computed once per query (the dense query encoding
    dominates, and every power fuses the same two rankings)."""

    def __init__(self, retriever):
        self.retriever, self.seen = retriever, {}

    def search(self, query, k, allowed=None):
        if (query, k) not in self.seen:
            self.seen[query, k] = self.retriever.search(query, k, allowed)
        return self.seen[query, k]

    def __getattr__(self, name):  # coverage() and the rest come from the real one
        return getattr(self.retriever, name)


def rankers(idx: Index, combine: str) -> dict[float, HybridRetriever]:
    parts = {"dense": _Memo(get_method(idx, "dense")), "bm25": _Memo(get_method(idx, "bm25"))}
    return {p: HybridRetriever(parts, Fusion(coverage_power=p, combine=combine),
                               group_of=idx.store.doc_ids_of_chunks) for p in POWERS}


def main() -> None:
    args = sys.argv[1:]
    combine = Fusion().combine
    if "--combine" in args:
        at = args.index("--combine")
        combine = args[at + 1]
        del args[at:at + 2]
    mode, index = args[0], args[1]
    idx = Index.open(index)
    hybrid = rankers(idx, combine)
    path = {d["id"]: d["path"] for d in idx.store.documents()}
    doc = idx.store.doc_ids_of_chunks
    out: dict = {"mode": mode, "index": index, "combine": combine, "powers": {}}
    if mode == "sample":
        qs = [json.loads(line) for line in QUERIES.read_text().splitlines() if line]
        for p, h in hybrid.items():
            ranks = []
            for q in qs:
                ids = [i for i, _ in h.search(q["query"], 3)]
                docs = [path[doc([i])[i]] for i in ids]
                ranks.append(next((r for r, d in enumerate(docs, 1) if d.endswith(q["doc"])), None))
            out["powers"][p] = {"top1": sum(r == 1 for r in ranks),
                                "top3": sum(r is not None for r in ranks), "of": len(qs)}
    else:
        ds = load_beir(args[2] if len(args) > 2 else "../shared/eval/scifact", mode)
        for p, h in hybrid.items():
            run = {}
            for qid, text in ds.queries.items():
                hits = h.search(text, 100)
                docs = doc([i for i, _ in hits])
                run[qid] = {path[docs[i]]: s for i, s in hits}
            out["powers"][p] = round(evaluate(run, ds.qrels)["ndcg@10"], 4)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
