"""The evaluation runner behind ``search eval``: index a BEIR corpus, run its queries with
each method, score the runs with the pure metrics of :mod:`.metrics`.

A document's score for a query is its best chunk's: each method ranks chunks, the runner keeps
each document's first (best) chunk and stops at ``depth`` documents (100 by default, enough
for Recall@100 and MAP@100).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence

from ..config import ChunkSettings, index_home
from ..errors import BadInput
from .beir import BeirDataset
from .metrics import DEFAULT_METRICS, evaluate

#: Documents ranked per query: the deepest cutoff of the default metrics.
DEPTH = 100
#: Bumped when the way a BEIR document becomes indexed text changes (invalidates indexes).
TEXT_FORMAT = 1
STAMP_KEY = "eval_corpus"


def doc_text(title: str, text: str) -> str:
    """The indexed text of a BEIR document: its title, a blank line, its text."""
    return f"{title}\n\n{text}" if title else text


def eval_index_path(dataset: str, encoder: str, chunking: ChunkSettings) -> Path:
    """``<index home>/eval/<dataset>-<encoder>-<chunk size>-<overlap>``."""
    safe = encoder.replace("/", "_")
    return index_home() / "eval" / f"{dataset}-{safe}-{chunking.max_tokens}-{chunking.overlap}"


def corpus_stamp(ds: BeirDataset) -> str:
    """A hash of the corpus as indexed (ids, titles, texts, text format)."""
    h = hashlib.sha256(f"format {TEXT_FORMAT}\n".encode())
    for docid, doc in ds.corpus.items():
        h.update(json.dumps([docid, doc["title"], doc["text"]], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class IndexInfo:
    """How the evaluation index was obtained."""

    path: str
    documents: int
    chunks: int
    encoder: str
    chunking: dict
    reused: bool
    seconds: float = 0.0  # spent (re)indexing in this run; 0 when reused
    chunks_embedded: int = 0
    build_seconds: float | None = None  # of the run that built it (recorded in the index)
    build_chunks_per_s: float | None = None


def build_index(ds: BeirDataset, path: str | Path | None = None, encoder: str | None = None,
                chunking: ChunkSettings | None = None, progress=None):
    """Open the evaluation index of ``ds`` at ``path`` (default :func:`eval_index_path`),
    creating or syncing it when its recorded corpus stamp differs from ``ds``'s.

    Returns:
        ``(Index opened for writing, IndexInfo)``.
    """
    from ..encoders import DEFAULT_ENCODER
    from ..index import Index

    encoder = encoder or DEFAULT_ENCODER
    chunking = chunking or ChunkSettings()
    path = Path(path) if path else eval_index_path(ds.name, encoder, chunking)
    idx = Index.create(path, encoder=encoder, chunking=chunking)
    if idx.chunk_settings != chunking:
        c = idx.chunk_settings
        idx.close()
        raise BadInput(f"index {path} uses chunk size {c.max_tokens} and overlap {c.overlap}, "
                       f"not {chunking.max_tokens}/{chunking.overlap}; pick another --index")
    stamp = corpus_stamp(ds)
    recorded = idx.store.get_meta(STAMP_KEY) or {}
    reused = recorded.get("stamp") == stamp
    info = IndexInfo(path=str(path), documents=0, chunks=0, encoder=idx.manifest.encoder,
                     chunking=dict(idx.manifest.chunking), reused=reused)
    if not reused:
        t0 = time.perf_counter()
        ids = list(ds.corpus)
        texts = [doc_text(ds.corpus[d]["title"], ds.corpus[d]["text"]) for d in ids]
        meta = [{"id": d, "title": ds.corpus[d]["title"] or None} for d in ids]
        before = idx.store.count("embeddings")
        idx.add_texts(texts, metadata=meta, progress=progress)
        stale = {d["path"] for d in idx.documents()} - set(ids)
        if stale:
            idx.remove(sorted(stale))
        info.seconds = time.perf_counter() - t0
        info.chunks_embedded = max(0, idx.store.count("embeddings") - before)
        recorded = {"stamp": stamp, "seconds": round(info.seconds, 2),
                    "chunks_embedded": info.chunks_embedded}
        if recorded.get("chunks_embedded") and not recorded.get("chunks_per_s"):
            recorded["chunks_per_s"] = round(info.chunks_embedded / info.seconds, 2)
        with idx.store.transaction():
            idx.store.set_meta(STAMP_KEY, recorded)
    info.documents = idx.store.count("documents")
    info.chunks = idx.store.count("chunks")
    info.build_seconds = recorded.get("seconds")
    info.build_chunks_per_s = recorded.get("chunks_per_s")
    return idx, info


@dataclass
class MethodResult:
    """One method's figures on one split."""

    method: str
    metrics: dict[str, float]
    queries: int
    latency_ms_p50: float
    latency_ms_p95: float
    search_seconds: float
    setup_seconds: float  # loading or building the method's retriever (0 for dense)
    fusion: dict | None = None
    run: dict[str, dict[str, float]] | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("run")
        d["metrics"] = {k: round(v, 4) for k, v in self.metrics.items()}
        return d


@dataclass
class EvalReport:
    """Everything ``search eval`` prints."""

    dataset: str
    split: str
    documents: int
    queries: int
    index: IndexInfo
    results: list[MethodResult]
    depth: int = DEPTH
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "documents": self.documents,
                "queries": self.queries, "depth": self.depth,
                "seconds": round(self.seconds, 2), "index": asdict(self.index),
                "results": [r.to_dict() for r in self.results]}


def chunk_docids(idx) -> dict[int, str]:
    """``{chunk id: BEIR docid}`` (a document's key is its BEIR id)."""
    return idx.store.chunk_paths()


def rank_documents(idx, query: str, method: str, depth: int, docid_of: dict[int, str],
                   fusion=None) -> dict[str, float]:
    """The top ``depth`` documents for ``query``, each scored by its best chunk."""
    from ..query import retrieve

    total = len(docid_of)
    # Twice as many chunks as documents wanted at first (more when they do not fill
    # ``depth`` documents): hybrid then fuses lists as deep as a user's query gets
    # (retrieval.hybrid.DEPTH), so what eval scores is what `search query` ranks.
    fetch = min(max(depth * 2, depth), max(total, 1))
    while True:
        ranked = retrieve(idx, query, fetch, method, fusion=fusion, group=True)
        docs: dict[str, float] = {}
        for cid, score in ranked:
            d = docid_of.get(cid)
            if d is not None and d not in docs:
                docs[d] = float(score)
                if len(docs) == depth:
                    return docs
        if len(ranked) < fetch or fetch >= total:
            return docs
        fetch = min(fetch * 2, total)


def evaluate_method(idx, ds: BeirDataset, method: str, depth: int = DEPTH, fusion=None,
                    metrics: Sequence[str] = DEFAULT_METRICS,
                    docid_of: dict[int, str] | None = None) -> MethodResult:
    """Run every query of ``ds`` with ``method`` over ``idx`` and score the run."""
    import numpy as np

    docid_of = docid_of if docid_of is not None else chunk_docids(idx)
    from ..query import retrieve

    t0 = time.perf_counter()
    # Loading (or building) the retriever, the model, GloVe's vocabulary ... is setup, not
    # query latency: one throw-away query does it all.
    retrieve(idx, "warm up", 1, method, fusion=fusion, group=True)
    setup = time.perf_counter() - t0
    run, times = {}, []
    t1 = time.perf_counter()
    for qid, text in ds.queries.items():
        s = time.perf_counter()
        run[qid] = rank_documents(idx, text, method, depth, docid_of, fusion)
        times.append(time.perf_counter() - s)
    elapsed = time.perf_counter() - t1
    ms = np.asarray(times) * 1000 if times else np.zeros(1)
    fused = None
    if method == "hybrid":
        from ..retrieval.hybrid import Fusion

        fused = (fusion or Fusion()).to_dict()
    return MethodResult(method=method, metrics=evaluate(run, ds.qrels, metrics),
                        queries=len(ds.queries),
                        latency_ms_p50=round(float(np.percentile(ms, 50)), 2),
                        latency_ms_p95=round(float(np.percentile(ms, 95)), 2),
                        search_seconds=round(elapsed, 2), setup_seconds=round(setup, 2),
                        fusion=fused, run=run)


def run_eval(ds: BeirDataset, methods: Sequence[str], index: str | Path | None = None,
             encoder: str | None = None, chunking: ChunkSettings | None = None,
             fusion=None, depth: int = DEPTH, progress=None,
             on_result: Callable[[MethodResult], None] | None = None) -> EvalReport:
    """Build or reuse the index of ``ds``, then evaluate each method on it."""
    from ..retrieval.methods import check_method

    for m in methods:
        check_method(m)
    t0 = time.perf_counter()
    idx, info = build_index(ds, index, encoder, chunking, progress)
    try:
        docid_of = chunk_docids(idx)
        results = []
        for m in methods:
            r = evaluate_method(idx, ds, m, depth, fusion, docid_of=docid_of)
            results.append(r)
            if on_result:
                on_result(r)
    finally:
        idx.close()
    return EvalReport(dataset=ds.name, split=ds.split, documents=len(ds.corpus),
                      queries=len(ds.queries), index=info, results=results, depth=depth,
                      seconds=time.perf_counter() - t0)
