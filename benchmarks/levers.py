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
                  if DEFAULT.sentence_weight else "")
               + (f", each document's score less {DEFAULT.length_prior:g} x ln(its chunks)"
                  if DEFAULT.length_prior else "")),
    "hybrid_nosent": ("hybrid", Fusion(sentence_weight=0, combine="zscore", length_prior=0),
                      "z-scores of dense + bm25, equal weights, bm25 z scaled by query "
                      "coverage, no sentence evidence (the default hybrid before it), no "
                      "length prior"),
    "hybrid_plain_rrf": ("hybrid", Fusion(coverage_power=0, sentence_weight=0, combine="rrf"),
                         "plain RRF k=60 of dense + bm25 (coverage power 0)"),
    "hybrid_rrf_cov3": ("hybrid", Fusion(combine="rrf"),
                        "RRF k=60 of dense + bm25, bm25 ranks scaled by query coverage^3 "
                        "(the default hybrid before z-score fusion)"),
    "hybrid_z_plain": ("hybrid", Fusion(coverage_power=0, combine="zscore", sentence_weight=0,
                                  length_prior=0),
                       "z-scores of dense + bm25 over each list, equal weights, no coverage"),
    "hybrid_z_cov1": ("hybrid", Fusion(coverage_power=1, combine="zscore", sentence_weight=0,
                                 length_prior=0),
                      "z-scores of dense + bm25, equal weights, bm25 z above its list's "
                      "lowest scaled by query coverage"),
    "hybrid_z_cov3": ("hybrid", Fusion(coverage_power=3, combine="zscore", sentence_weight=0,
                                 length_prior=0),
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
    """An index whose named parts are wrapped (what evaluate_method's ``retrieve`` calls);
    hybrid is built by searchkit's own ``hybrid_method`` over the wrapped parts (sentence
    evidence included), and ``doc`` (a :class:`DocEvidence`) may change its document
    scoring. Anything else is the index's."""

    def __init__(self, idx, wrap: dict, doc=None):
        self.idx, self.wrap, self.doc = idx, wrap, doc

    def __getattr__(self, name):
        return getattr(self.idx, name)

    def part(self, name: str):
        base = self.idx.retriever(name)
        return self.wrap[name](self.idx, base) if name in self.wrap else base

    def retriever(self, method, fusion=None, by_document=False):
        from searchkit.retrieval.hybrid import hybrid_method

        if method != "hybrid":
            return self.part(method)
        found = hybrid_method(self, fusion, by_document=by_document)
        return self.doc.wrap(found) if self.doc is not None and by_document else found


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


_BM25: dict[tuple, object] = {}


def bm25_params(k1: float, b: float):
    """BM25 over the same baseline texts with other ``k1`` and ``b`` (the shipped: 1.5, 0.75),
    built in memory once per index and setting."""
    def wrap(idx, base):
        from searchkit.retrieval.bm25 import BM25Retriever
        from searchkit.retrieval.methods import chunk_texts

        key = (str(idx.path), k1, b)
        if key not in _BM25:
            _, ids, texts = chunk_texts(idx)
            r = BM25Retriever(k1=k1, b=b)
            r.build(ids, texts)
            _BM25[key] = r
        return _BM25[key]
    return wrap


def sentence_head(weight: float, depth: int):
    def wrap(idx, base):
        from searchkit.retrieval.dense import SentenceEvidence

        return SentenceEvidence(
            base, lambda ids: idx.store.sentence_vectors(idx.vector_key, ids), weight, depth)
    return wrap


class DocEvidence:
    """A hybrid whose document ranking per method counts more than a document's best chunk:
    ``best + gamma * second best`` of the document's chunks in that method's list (a chunk
    missing from the list counts as the list's lowest score): document-level scoring from
    several passages."""

    def __init__(self, gamma: float):
        self.gamma = gamma

    def wrap(self, base):
        from searchkit.retrieval.hybrid import HybridRetriever

        gamma = self.gamma

        class Multi(HybridRetriever):
            def _fuse_groups(self, group_of, rankings, k, items):
                group = group_of(list({i for r in rankings for i, _ in r}))
                regrouped = []
                for ranking in rankings:
                    if not ranking:
                        regrouped.append(ranking)
                        continue
                    low = min(s for _, s in ranking)
                    firsts: dict[int, tuple[int, float]] = {}
                    seconds: dict[int, float] = {}
                    for i, s in ranking:
                        g = group.get(i, -1 - i)
                        if g not in firsts:
                            firsts[g] = (i, s)
                        elif g not in seconds:
                            seconds[g] = s
                    out = [(i, s + gamma * seconds.get(g, low)) for g, (i, s) in firsts.items()]
                    regrouped.append(sorted(out, key=lambda x: -x[1]))
                return super()._fuse_groups(group_of, regrouped, k, items)

        return Multi(base.parts, base.fusion, group_of=base.group_of)



class FusedDepth:
    """A hybrid whose every method ranks ``depth`` chunks, whatever ``k`` is asked for (the
    shipped hybrid ranks ``max(k, 100)``; eval asks for 300 to fill 100 documents, so its
    z-scores are over longer lists than a user's query of 10 gets)."""

    def __init__(self, depth: "int | dict[str, int]"):
        self.depth = depth

    def wrap(self, base):
        from searchkit.retrieval.base import check_k
        from searchkit.retrieval.hybrid import HybridRetriever

        depth = self.depth

        class Fixed(HybridRetriever):
            def search(self, query, k, allowed=None):
                k = check_k(k)
                rankings = [self.parts[m].search(
                    query, depth.get(m, 200) if isinstance(depth, dict) else depth, allowed)
                    for m in self.fusion.methods]
                items = [self._item_weights(m, query, r)
                         for m, r in zip(self.fusion.methods, rankings)]
                if self.group_of is None:
                    return self._fuse(rankings, items, limit=k)
                return self._fuse_groups(self.group_of, rankings, k, items)

        return Fixed(base.parts, base.fusion, group_of=base.group_of)


_CTX: dict[str, object] = {}


def context_vectors(idx):
    """The index's chunk vectors with every later chunk (``ord`` > 0) embedded after its
    document's title, ``title + "\n\n" + text`` (what the baselines index already: see
    ``baseline_text``); first chunks keep their stored vectors (they hold the title). Cached
    beside the index in ``lever_ctx_vectors.npz`` for its generation."""
    import numpy as np

    from searchkit.store.vectors import VectorIndex

    key = str(idx.path)
    if key in _CTX:
        return _CTX[key]
    gen = idx.store.generation()
    cache = Path(idx.path) / "lever_ctx_vectors.npz"
    rows = idx.store.chunks_with_titles()
    later = [(i, f"{t}\n\n{x}") for i, x, o, t in rows if o and t]
    ids = np.asarray([i for i, _ in later], dtype=np.int64)
    vecs = None
    if cache.is_file():
        z = np.load(cache)
        if int(z["generation"]) == gen and np.array_equal(z["ids"], ids):
            vecs = z["vectors"]
    if vecs is None:
        enc, parts = idx.encoder, []
        t0 = time.perf_counter()
        for a in range(0, len(later), 32):
            parts.append(enc.embed_batch([t for _, t in later[a:a + 32]]))
            if a % 1024 == 0:
                print(f"  context vectors {a}/{len(later)} {time.perf_counter() - t0:.0f}s",
                      flush=True)
        vecs = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 384))
        np.savez(cache, generation=gen, ids=ids, vectors=vecs)
    all_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    _, base = idx.vectors.vectors_of(all_ids)
    base = base.copy()
    pos = {int(i): n for n, i in enumerate(all_ids)}
    for i, v in zip(ids.tolist(), vecs):
        base[pos[i]] = v / np.linalg.norm(v)
    vi = VectorIndex(base.shape[1])
    vi.add(all_ids, base)
    _CTX[key] = vi
    return vi


_HNSW: dict[str, object] = {}


def hnsw_dense(idx, base):
    """Dense search over an HNSW graph of the index's own vectors (what `search index` builds
    above ANN_THRESHOLD chunks, with its M, efConstruction and efSearch), built in memory:
    approximate search compared with the exact (flat) search every other lever uses."""
    import numpy as np

    from searchkit.retrieval.dense import DenseRetriever
    from searchkit.store.vectors import VectorIndex

    key = str(idx.path)
    if key not in _HNSW:
        ids = np.asarray([r[0] for r in idx.store.db.execute(
            "SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
        _, vecs = idx.vectors.vectors_of(ids)
        vi = VectorIndex(vecs.shape[1], kind="hnsw")
        t0 = time.perf_counter()
        vi.add(ids, vecs)
        print(f"  hnsw over {len(ids)} vectors: {time.perf_counter() - t0:.1f}s", flush=True)
        _HNSW[key] = vi
    vi = _HNSW[key]
    return DenseRetriever(lambda: vi, base.encode_query, base.where)


def context_dense(idx, base):
    from searchkit.retrieval.dense import DenseRetriever

    vi = context_vectors(idx)
    return DenseRetriever(lambda: vi, base.encode_query, base.where)



class SentencePool:
    """Sentence evidence whose per-passage figure is not the best sentence's cosine but
    another pooling of the passage's sentence cosines: ``top2`` (the mean of the two best),
    ``lseT`` (a soft maximum, ``T * log mean exp(cos / T)``) or ``win2`` (the best mean of two
    adjacent sentences; a one-sentence passage: that sentence). Blended ``(1 - weight) *
    passage cosine + weight * pooled`` as :class:`SentenceEvidence` does."""

    def __init__(self, mode: str, weight: float = 0.5):
        self.mode, self.weight = mode, weight

    def wrap(self, idx, base):
        import numpy as np

        from searchkit.retrieval.dense import SentenceEvidence
        from searchkit.sentence_vectors import SCALE

        mode = self.mode

        def pool(sims):
            if len(sims) == 1:
                return float(sims[0])
            if mode == "top2":
                return float(np.sort(sims)[-2:].mean())
            if mode.startswith("lse"):
                t = float(mode[3:])
                return float(t * np.log(np.mean(np.exp((sims - sims.max()) / t))) + sims.max())
            if mode == "win2":
                return float(((sims[1:] + sims[:-1]) / 2).max())
            raise ValueError(mode)

        class Pooled(SentenceEvidence):
            def best_sentence(self, query, ids):
                qv = np.asarray(self.dense.encode_query(query), dtype=np.float32).reshape(-1)
                keys, counts, mat = self._from_blobs(ids, qv.shape[0])
                if not len(keys):
                    return {}
                sims = np.einsum("ij,j->i", mat, (qv / SCALE).astype(np.float32))
                starts = np.concatenate(([0], np.cumsum(counts)))
                return {k: pool(sims[a:b]) for k, a, b in zip(keys, starts[:-1], starts[1:])}

        return Pooled(base, lambda ids: idx.store.sentence_vectors(idx.vector_key, ids),
                      self.weight)


class SentenceCoverage:
    """BM25 whose coverage (the share of the query's terms a passage holds, which scales its
    part of the fused score) also looks at the passage's best sentence: ``(1 - share) *
    passage coverage + share * best sentence's coverage`` (term proximity at sentence level)."""

    def __init__(self, share: float):
        self.share = share

    def wrap(self, idx, base):
        from searchkit.highlight import split_sentences

        texts = _texts(idx)
        share = self.share

        class Covered:
            def __init__(self):
                self.base = base

            def search(self, query, k, allowed=None):
                return base.search(query, k, allowed)

            def coverage(self, query, ids):
                cov = base.coverage(query, ids)
                terms = set(base.query_terms(query))
                if not terms:
                    return cov
                got = texts(list(ids))
                out = {}
                for i, c in cov.items():
                    text = got.get(i, "")
                    best = 0.0
                    for s in split_sentences(text):
                        seen = terms.intersection(base.query_terms(text[s.start:s.end]))
                        best = max(best, len(seen) / len(terms))
                    out[i] = (1 - share) * c + share * best
                return out

            def __getattr__(self, name):
                return getattr(base, name)

            def __len__(self):
                return len(base)

        return Covered()

WRAPS = {
    "sent0.5_top20": {"dense": sentence_head(0.5, 20)},
    "sent0.5_top50": {"dense": sentence_head(0.5, 50)},
    "rm3": {"bm25": lambda idx, base: RM3(base, _texts(idx))},
    "rocchio": {"dense": lambda idx, base: Rocchio(base)},
    "title": {"bm25": titled_bm25},
    "ctx": {"dense": context_dense},
    "hnsw": {"dense": hnsw_dense},
}
for _mode in ("top2", "lse0.05", "lse0.02", "win2"):
    WRAPS[f"pool_{_mode}"] = {"dense": SentencePool(_mode).wrap}
    LEVERS[f"hybrid_pool_{_mode}"] = (
        "hybrid", Fusion(sentence_weight=0, length_prior=0), f"the default hybrid without "
        f"length prior, its sentence evidence pooled by {_mode} instead of the best sentence")
for _share in (0.5, 1.0):
    WRAPS[f"sentcov{_share:g}"] = {"bm25": SentenceCoverage(_share).wrap}
    LEVERS[f"hybrid_sentcov{_share:g}"] = (
        "hybrid", Fusion(length_prior=0), f"the default hybrid, bm25's coverage {_share:g} from the best "
        f"sentence, {1 - _share:g} from the passage")
BM25_SETTINGS = ((0.9, 0.4), (1.2, 0.75), (1.2, 0.5), (2.0, 0.75))
for _k1, _b in BM25_SETTINGS:
    WRAPS[f"k{_k1:g}b{_b:g}"] = {"bm25": bm25_params(_k1, _b)}
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
        ("hybrid_sent0.5_top20", "hybrid", Fusion(sentence_weight=0, length_prior=0), "sent0.5_top20",
         "hybrid_sent0.5, the blend on the dense ranking's first 20 passages only"),
        ("hybrid_sent0.5_top50", "hybrid", Fusion(sentence_weight=0, length_prior=0), "sent0.5_top50",
         "hybrid_sent0.5, the blend on the dense ranking's first 50 passages only"),
        ("bm25_title", "bm25", None, "title",
         "BM25 with the document title 3 times in each chunk (the shipped bm25: once)"),
        ("hybrid_title", "hybrid", DEFAULT, "title",
         "the default hybrid, its bm25 part with the weighted title"),
        ("dense_hnsw", "dense", None, "hnsw",
         "dense over an HNSW graph (M 32, efConstruction 80, efSearch 512) instead of exact"),
        ("hybrid_hnsw", "hybrid", DEFAULT, "hnsw",
         "the default hybrid, its dense part over the HNSW graph"),
        ("dense_ctx", "dense", None, "ctx",
         "dense, each later chunk embedded after its document's title"),
        ("hybrid_ctx", "hybrid", DEFAULT, "ctx",
         "the default hybrid, its dense part with later chunks embedded after the title")):
    LEVERS[_name] = (_method, _fusion, _what)
    LEVER_WRAP[_name] = _wrap
for _k1, _b in BM25_SETTINGS:
    _tag = f"k{_k1:g}b{_b:g}"
    LEVERS[f"bm25_{_tag}"] = ("bm25", None, f"BM25 with k1={_k1:g}, b={_b:g} (shipped: 1.5, 0.75)")
    LEVERS[f"hybrid_bm25_{_tag}"] = ("hybrid", DEFAULT,
                                     f"the default hybrid, its bm25 with k1={_k1:g}, b={_b:g}")
    LEVER_WRAP[f"bm25_{_tag}"] = LEVER_WRAP[f"hybrid_bm25_{_tag}"] = _tag
for _m, _w in (("glove", 0.3), ("glove", 0.5), ("tfidf", 0.3), ("tfidf", 0.5)):
    LEVERS[f"hybrid_{_m}{_w}"] = (
        "hybrid", Fusion(methods=("dense", "bm25", _m), weights=(1, 1, _w), combine="zscore"),
        f"the default hybrid with {_m} as a third list, weight {_w:g} (dense, bm25: 1)")
for _wd in (0.4, 0.6):
    LEVERS[f"hybrid_dense{_wd}"] = (
        "hybrid", Fusion(weights=(_wd, 1 - _wd), combine="zscore"),
        f"the default hybrid with weights dense {_wd:g}, bm25 {1 - _wd:g} (default: equal)")

for _name in [n for n in LEVERS if n.startswith(("hybrid_pool_", "hybrid_sentcov"))]:
    LEVER_WRAP[_name] = _name[len("hybrid_"):]

#: lever -> document-level scoring it uses (hybrid, grouped by document)
LEVER_DOC: dict[str, "DocEvidence | FusedDepth"] = {}
for _g in (0.1, 0.2, 0.3):
    LEVERS[f"hybrid_doc{_g}"] = (
        "hybrid", DEFAULT, f"the default hybrid, each method's document score its best chunk "
        f"+ {_g:g} x its second best (in that method's list; missing: the list's lowest)")
    LEVER_DOC[f"hybrid_doc{_g}"] = DocEvidence(_g)
for _a in (0, 0.05, 0.1, 0.15, 0.2, 0.3):
    LEVERS[f"hybrid_lenprior{_a:g}"] = (
        "hybrid", Fusion(length_prior=_a), f"the default hybrid, each document's fused score "
        f"less {_a:g} x ln(its chunks)")
for _d in (50, 100, 200, 300, 500):
    LEVERS[f"hybrid_depth{_d}"] = (
        "hybrid", DEFAULT, f"the default hybrid, each method ranking {_d} chunks whatever k "
        f"(eval asks for 300)")
    LEVER_DOC[f"hybrid_depth{_d}"] = FusedDepth(_d)
for _dd, _db in ((200, 500), (500, 200), (100, 200), (200, 100)):
    LEVERS[f"hybrid_depth_d{_dd}_b{_db}"] = (
        "hybrid", DEFAULT, f"the default hybrid, dense ranking {_dd} chunks and bm25 {_db}, "
        f"whatever k")
    LEVER_DOC[f"hybrid_depth_d{_dd}_b{_db}"] = FusedDepth({"dense": _dd, "bm25": _db})


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
            if lever in LEVER_DOC:
                target = Wrapped(idx, {}, LEVER_DOC[lever])
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
