"""How the hybrid's coverage power was chosen: plain RRF (power 0) against bm25 ranks
scaled by coverage**power, on SciFact (nDCG@10, a split) or on sample_corpus's paraphrased
questions (top-1). Prints one line per power.

    python benchmarks/fusion_coverage.py train indexes/eval/scifact-minilm-256-32
    python benchmarks/fusion_coverage.py sample SAMPLE_CORPUS_INDEX   # e.g. indexes/default
"""
import json, sys
import numpy as np
from searchkit import Index
from searchkit.eval import load_beir, evaluate
from searchkit.retrieval.methods import get_method
from searchkit.retrieval.base import top_k

def bm25_cov(r, query, k):
    terms = list(dict.fromkeys(r._tokenize([query], return_ids=False)[0]))
    tids = r._bm25.get_tokens_ids(terms)
    if not tids: return [], {}
    per = [r._bm25.get_scores_from_ids([t]) for t in tids]
    scores = np.sum(per, axis=0); cov = np.sum([p > 0 for p in per], axis=0) / len(terms)
    hits = top_k(r._ids, scores, k, None)
    pos = {int(i): n for n, i in enumerate(r._ids)}
    return hits, {int(i): float(cov[pos[int(i)]]) for i, _ in hits}

def fuse(dense, bm, cov, group, power, k=60):
    out = {}
    for lst, soft in ((dense, False), (bm, True)):
        seen = set(); rank = 0
        for i, _ in lst:
            g = group.get(i, i)
            if g in seen: continue
            seen.add(g); rank += 1
            w = cov[i] ** power if soft else 1.0
            out[g] = out.get(g, 0) + w / (k + rank)
    return sorted(out.items(), key=lambda x: -x[1])

def run(idx, queries, powers):
    d = get_method(idx, "dense"); b = get_method(idx, "bm25")
    res = {p: {} for p in powers}
    for qid, q in queries.items():
        dl = d.search(q, 100); bl, cov = bm25_cov(b, q, 100)
        group = idx.store.doc_ids_of_chunks([i for i, _ in dl] + [i for i, _ in bl])
        for p in powers: res[p][qid] = fuse(dl, bl, cov, group, p)
    return res

mode = sys.argv[1]
powers = [0, 1, 2, 3, 4]
if mode == "sample":
    idx = Index.open(sys.argv[2])
    qs = [json.loads(l) for l in open("tests/data/sample_queries.jsonl")]
    res = run(idx, {i: q["query"] for i, q in enumerate(qs)}, powers)
    path = {d["id"]: d["path"] for d in idx.store.documents()}
    for p in powers:
        top1 = sum(path[res[p][i][0][0]].endswith(q["doc"]) for i, q in enumerate(qs))
        print("sample power", p, "top1", top1)
else:
    ds = load_beir(sys.argv[3] if len(sys.argv) > 3 else "../shared/eval/scifact", mode)
    idx = Index.open(sys.argv[2])
    path = {d["id"]: d["path"] for d in idx.store.documents()}
    res = run(idx, ds.queries, powers)
    for p in powers:
        r = {q: {path[g]: s for g, s in lst[:100]} for q, lst in res[p].items()}
        print(mode, "power", p, evaluate(r, ds.qrels)["ndcg@10"])
