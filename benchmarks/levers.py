"""Retrieval levers (issue #17): named variants of the ranking, evaluated per collection, dev and
test apart, through the code a user runs (``searchkit.eval.runner.evaluate_method``).

    python benchmarks/levers.py SET [--levers NAME,NAME ...] [--index DIR]
    python benchmarks/levers.py table     # the Markdown table of every result so far

SET is one of:

- ``scifact``: /work/shared/eval/scifact; its ``train`` qrels (809 queries) are the dev split,
  ``test`` (300) is reported only and never chooses anything;
- ``pydocs`` and ``manpages``: dev-only collections built by ``benchmarks/dev_sets.py`` under
  indexes/devsets/ (built here first when missing; see that script for how queries are made).

The index is ``indexes/eval/<set>-minilm-int8-256-32`` (the default encoder and chunking;
built on first use, reused after). Each lever's nDCG@10, Recall@100 and MRR@10 (and MAP@100)
per split go to ``benchmarks/results/levers_<set>.json``; levers run again replace their
entries there, others are kept. Every lever is exact (flat) search.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from searchkit.retrieval.hybrid import Fusion  # noqa: E402

SETS = {
    "scifact": (Path("/work/shared/eval/scifact"), {"dev": "train", "test": "test"}),
    "pydocs": (ROOT / "indexes" / "devsets" / "pydocs", {"dev": "dev"}),
    "manpages": (ROOT / "indexes" / "devsets" / "manpages", {"dev": "dev"}),
}
DEFAULT = Fusion()

#: name -> (method, fusion, what it is)
LEVERS: dict[str, tuple[str, Fusion | None, str]] = {
    "bm25": ("bm25", None, "BM25 alone"),
    "dense": ("dense", None, "dense alone (passage cosine)"),
    "hybrid": ("hybrid", DEFAULT, "the default hybrid: "
               + ("z-scores of dense + bm25, equal weights, a bm25 z scaled by query "
                  "coverage over its list's lowest" if DEFAULT.combine == "zscore" else
                  "RRF k=60 of dense + bm25, bm25 ranks scaled by query coverage^3")
               + (f", dense blended {1 - DEFAULT.sentence_weight:g}/"
                  f"{DEFAULT.sentence_weight:g} with the best sentence"
                  if DEFAULT.sentence_weight else "")),
    "hybrid_nosent": ("hybrid", Fusion(sentence_weight=0, combine="zscore"),
                      "z-scores of dense + bm25, equal weights, bm25 z scaled by query "
                      "coverage, no sentence evidence (the default hybrid before it)"),
    "hybrid_plain_rrf": ("hybrid", Fusion(coverage_power=0, sentence_weight=0, combine="rrf"),
                         "plain RRF k=60 of dense + bm25 (coverage power 0)"),
    "hybrid_rrf_cov3": ("hybrid", Fusion(combine="rrf"),
                        "RRF k=60 of dense + bm25, bm25 ranks scaled by query coverage^3 "
                        "(the default hybrid before z-score fusion)"),
    "hybrid_z_plain": ("hybrid", Fusion(coverage_power=0, combine="zscore", sentence_weight=0),
                       "z-scores of dense + bm25 over each list, equal weights, no coverage"),
    "hybrid_z_cov1": ("hybrid", Fusion(coverage_power=1, combine="zscore", sentence_weight=0),
                      "z-scores of dense + bm25, equal weights, bm25 z above its list's "
                      "lowest scaled by query coverage"),
    "hybrid_z_cov3": ("hybrid", Fusion(coverage_power=3, combine="zscore", sentence_weight=0),
                      "z-scores of dense + bm25, equal weights, bm25 z above its list's "
                      "lowest scaled by query coverage^3"),
}
for _w in (0.1, 0.2, 0.3, 0.5, 0.7):
    LEVERS[f"dense_sent{_w}"] = (
        "hybrid", Fusion(methods=("dense",), sentence_weight=_w),
        f"dense alone, passage cosine blended {1 - _w:g}/{_w:g} with its best sentence's")
    LEVERS[f"hybrid_sent{_w}"] = (
        "hybrid", Fusion(sentence_weight=_w, combine="zscore"),
        f"z-score hybrid of dense + bm25 (coverage 1), its dense part blended "
        f"{1 - _w:g}/{_w:g} with the best sentence")

# -- query feedback levers: measured here, not (yet) in searchkit ------------------------------
FEEDBACK_DOCS = 10


class RM3:
    """BM25 with RM3-style pseudo-relevance feedback (Lavrenko and Croft's relevance model,
    interpolated with the query as in Anserini's RM3): the top ``fb_docs`` chunks of a first
    BM25 pass give a term model ``p(w|R) = sum_d softmax(bm25(d)) * tf(w, d) / |d|`` over
    their stemmed, stop-worded terms; the query becomes ``(1 - lam) * its terms (uniform) +
    lam * the best ``fb_terms`` of p(w|R)``, each term weighted in the BM25 sum."""

    name = "bm25"

    def __init__(self, bm25, texts, fb_docs: int = FEEDBACK_DOCS, fb_terms: int = 10,
                 lam: float = 0.5):
        self.bm25, self.texts = bm25, texts
        self.fb_docs, self.fb_terms, self.lam = fb_docs, fb_terms, lam

    def search(self, query, k, allowed=None):
        import numpy as np

        from searchkit.retrieval.base import allowed_mask, top_k

        first = self.bm25.search(query, self.fb_docs, allowed)
        scores_of = self.bm25._scores
        q_terms = list(dict.fromkeys(self.bm25.query_terms(query)))
        if not first or scores_of is None or not q_terms:
            return self.bm25.search(query, k, allowed)
        s = np.asarray([x for _, x in first], dtype=np.float64)
        w_doc = np.exp(s - s.max())
        w_doc /= w_doc.sum()
        texts = self.texts([i for i, _ in first])
        model: dict[str, float] = {}
        for (i, _), wd in zip(first, w_doc):
            terms = self.bm25.query_terms(texts.get(i, ""))
            for t in terms:
                model[t] = model.get(t, 0.0) + wd / len(terms)
        expand = sorted(model.items(), key=lambda x: -x[1])[:self.fb_terms]
        total = sum(v for _, v in expand) or 1.0
        weights = {t: (1 - self.lam) / len(q_terms) for t in q_terms}
        for t, v in expand:
            weights[t] = weights.get(t, 0.0) + self.lam * v / total
        scores = np.zeros(scores_of.num_docs, dtype=np.float64)
        for t, wt in weights.items():
            ids = scores_of.ids([t])
            if ids:
                scores += wt * scores_of.scores(ids)
        return top_k(self.bm25._ids, scores, k, allowed_mask(self.bm25._ids, allowed))

    def coverage(self, query, ids):
        return self.bm25.coverage(query, ids)

    def __len__(self):
        return len(self.bm25)


class Rocchio:
    """Dense search with Rocchio feedback: the query vector plus ``beta`` times the mean of
    the top ``fb_docs`` chunk vectors of a first pass, normalised, searched again."""

    name = "dense"

    def __init__(self, dense, fb_docs: int = 5, beta: float = 0.5):
        self.dense, self.fb_docs, self.beta = dense, fb_docs, beta

    def search(self, query, k, allowed=None):
        import numpy as np

        from searchkit.retrieval.dense import DenseRetriever

        first = self.dense.search(query, self.fb_docs, allowed)
        if not first:
            return first
        _, vs = self.dense.vectors().vectors_of([i for i, _ in first])
        qv = np.asarray(self.dense.encode_query(query), dtype=np.float32).reshape(-1)
        q2 = qv + self.beta * vs.mean(axis=0)
        q2 = (q2 / np.linalg.norm(q2)).astype(np.float32)
        again = DenseRetriever(self.dense.vectors, lambda _q: q2, self.dense.where)
        return again.search(query, k, allowed)

    def __len__(self):
        return len(self.dense)


class Wrapped:
    """An index whose named parts are wrapped (what evaluate_method's ``retrieve`` calls)."""

    def __init__(self, idx, wrap: dict):
        self.idx, self.wrap = idx, wrap

    def part(self, name: str):
        base = self.idx.retriever(name)
        return self.wrap[name](self.idx, base) if name in self.wrap else base

    def retriever(self, method, fusion=None, by_document=False):
        from searchkit.retrieval.hybrid import HybridRetriever

        if method != "hybrid":
            return self.part(method)
        fusion = fusion or Fusion()
        group_of = self.idx.store.doc_ids_of_chunks if by_document else None
        return HybridRetriever({m: self.part(m) for m in fusion.methods}, fusion,
                               group_of=group_of)


def _texts(idx):
    from searchkit.retrieval.methods import baseline_text

    def get(ids):
        rows = idx.store.chunks_by_ids(ids)
        return {i: baseline_text(r["text"], r.get("ord") or 0, r.get("title"))
                for i, r in rows.items()}
    return get


_TITLED: dict[str, object] = {}


def titled_bm25(idx, base, repeat: int = 2):
    """BM25 over the chunks with their document's title ``repeat + 1`` times in each (the
    title as a weighted field, BM25F-like by repetition; the shipped baseline has it once);
    built in memory once per index."""
    from searchkit.retrieval.bm25 import BM25Retriever

    key = str(idx.path)
    if key not in _TITLED:
        rows = idx.store.db.execute(
            "SELECT c.id, c.text, c.ord, d.title FROM chunks c JOIN documents d "
            "ON d.id = c.doc_id ORDER BY c.id").fetchall()
        r = BM25Retriever()  # a first chunk holds its title already (doc_text), a later not
        r.build([row[0] for row in rows],
                [(f"{t}\n" * (repeat + (1 if o else 0)) + x) if t else x
                 for _, x, o, t in rows])
        _TITLED[key] = r
    return _TITLED[key]


def sentence_head(weight: float, depth: int):
    def wrap(idx, base):
        from searchkit.retrieval.dense import SentenceEvidence

        return SentenceEvidence(
            base, lambda ids: idx.store.sentence_vectors(idx.vector_key, ids), weight, depth)
    return wrap


WRAPS = {
    "sent0.5_top20": {"dense": sentence_head(0.5, 20)},
    "sent0.5_top50": {"dense": sentence_head(0.5, 50)},
    "rm3": {"bm25": lambda idx, base: RM3(base, _texts(idx))},
    "rocchio": {"dense": lambda idx, base: Rocchio(base)},
    "title": {"bm25": titled_bm25},
}
#: lever -> the wrap it needs (the lever's method and fusion are in LEVERS)
LEVER_WRAP: dict[str, str] = {}
for _name, _method, _fusion, _wrap, _what in (
        ("bm25_rm3", "bm25", None, "rm3",
         "BM25 with RM3 feedback (10 docs, 10 terms, lambda 0.5)"),
        ("hybrid_rm3", "hybrid", DEFAULT, "rm3", "the default hybrid, its bm25 part with RM3"),
        ("dense_rocchio", "dense", None, "rocchio",
         "dense with Rocchio feedback (5 docs, beta 0.5)"),
        ("hybrid_rocchio", "hybrid", DEFAULT, "rocchio",
         "the default hybrid, its dense part with Rocchio"),
        ("hybrid_sent0.5_top20", "hybrid", Fusion(sentence_weight=0), "sent0.5_top20",
         "hybrid_sent0.5, the blend on the dense ranking's first 20 passages only"),
        ("hybrid_sent0.5_top50", "hybrid", Fusion(sentence_weight=0), "sent0.5_top50",
         "hybrid_sent0.5, the blend on the dense ranking's first 50 passages only"),
        ("bm25_title", "bm25", None, "title",
         "BM25 with the document title 3 times in each chunk (the shipped bm25: once)"),
        ("hybrid_title", "hybrid", DEFAULT, "title",
         "the default hybrid, its bm25 part with the weighted title")):
    LEVERS[_name] = (_method, _fusion, _what)
    LEVER_WRAP[_name] = _wrap


def dataset_dir(name: str) -> Path:
    path, _ = SETS[name]
    if not (path / "corpus.jsonl").is_file() and name in ("pydocs", "manpages"):
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dev_sets.py"), name,
                        "--out", str(path)], check=True)
    return path


def run(name: str, levers: list[str], index: Path | None = None) -> dict:
    from searchkit.config import ChunkSettings
    from searchkit.encoders import DEFAULT_ENCODER
    from searchkit.eval.beir import load_beir
    from searchkit.eval.runner import build_index, chunk_docids, evaluate_method

    path, splits = SETS[name]
    path = dataset_dir(name)
    index = index or ROOT / "indexes" / "eval" / f"{name}-{DEFAULT_ENCODER}-256-32"
    out_file = ROOT / "benchmarks" / "results" / f"levers_{name}.json"
    result = json.loads(out_file.read_text()) if out_file.is_file() else {"levers": {}}
    datasets = {role: load_beir(path, split) for role, split in splits.items()}
    first = next(iter(datasets.values()))
    t0 = time.perf_counter()
    idx, info = build_index(first, index, DEFAULT_ENCODER, ChunkSettings())
    try:
        docid_of = chunk_docids(idx)
        result.update({
            "set": name, "data": str(path), "index": str(index), "encoder": DEFAULT_ENCODER,
            "documents": info.documents, "chunks": info.chunks,
            "vector_index": getattr(idx.vectors, "kind", None),
            "splits": {role: {"qrels": splits[role], "queries": len(ds.queries)}
                       for role, ds in datasets.items()},
            "dev_split": "dev", "test_split": "test (report only)" if "test" in splits else None,
            "cpus": os.cpu_count(), "python": platform.python_version()})
        for lever in levers:
            method, fusion, what = LEVERS[lever]
            entry = {"method": method, "what": what,
                     "fusion": fusion.to_dict() if fusion and method == "hybrid" else None,
                     "command": f"python benchmarks/levers.py {name} --levers {lever}"}
            target = Wrapped(idx, WRAPS[LEVER_WRAP[lever]]) if lever in LEVER_WRAP else idx
            for role, ds in datasets.items():
                r = evaluate_method(target, ds, method, fusion=fusion, docid_of=docid_of)
                entry[role] = {**{k: round(v, 4) for k, v in r.metrics.items()},
                               "queries": r.queries, "latency_ms_p50": r.latency_ms_p50}
                print(f"{name:9s} {role:4s} {lever:18s} "
                      + " ".join(f"{k} {v:.4f}" for k, v in r.metrics.items()), flush=True)
            result["levers"][lever] = entry
            out_file.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        idx.close()
    result["seconds_last_run"] = round(time.perf_counter() - t0, 1)
    out_file.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(sets: list[str] | None = None) -> str:
    """The Markdown table of every lever measured so far: nDCG@10 / Recall@100 / MRR@10 per
    set and split (from benchmarks/results/levers_<set>.json)."""
    found = {}
    for name in sets or list(SETS):
        f = ROOT / "benchmarks" / "results" / f"levers_{name}.json"
        if f.is_file():
            found[name] = json.loads(f.read_text())
    cols = [(n, role) for n, r in found.items() for role in r["splits"]]
    head = " | ".join(f"{n} {role} ({found[n]['splits'][role]['queries']} q)"
                      for n, role in cols)
    lines = [f"| lever | {head} |", "|---" * (len(cols) + 1) + "|"]
    for lever in LEVERS:
        cells = []
        for n, role in cols:
            e = found[n]["levers"].get(lever, {}).get(role)
            cells.append(f"{e['ndcg@10']:.4f} / {e['recall@100']:.4f} / {e['mrr@10']:.4f}"
                         if e else "–")
        # entries measured before hybrid fused by z-scores record no "combine": they were RRF
        # (the order of one fused method, or of an rrf lever, is the same either way)
        fusion = LEVERS[lever][1]
        stale = (fusion is not None and fusion.combine != "rrf" and len(fusion.methods) > 1
                 and any(e.get("fusion") and "combine" not in e["fusion"]
                         for r in found.values() for e in [r["levers"].get(lever, {})]))
        label = f"{lever} (measured with RRF fusion)" if stale else lever
        if any(c != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if (argv if argv is not None else sys.argv[1:])[:1] == ["table"]:
        print(table())
        return 0
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--levers", default=",".join(LEVERS),
                    help=f"comma-separated, of: {', '.join(LEVERS)}")
    ap.add_argument("--index", type=Path, default=None)
    args = ap.parse_args(argv)
    levers = [x.strip() for x in args.levers.split(",") if x.strip()]
    bad = [x for x in levers if x not in LEVERS]
    if bad:
        ap.error(f"unknown lever {bad[0]!r}; known: {', '.join(LEVERS)}")
    run(args.set, levers, args.index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
