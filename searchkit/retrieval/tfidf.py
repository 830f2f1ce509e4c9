"""TF-IDF retrieval: scikit-learn's TfidfVectorizer (sublinear tf, l2 norm) and cosine scores."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import (Allowed, ScoredId, allowed_mask, atomic_directory, check_corpus, check_k,
                   read_meta, top_k, write_meta)


class TfidfRetriever:
    """Cosine similarity between sublinear tf-idf vectors.

    Args:
        stop_words: passed to TfidfVectorizer (None keeps every word; ``"english"`` drops
            scikit-learn's English list).
    """

    name = "tfidf"

    def __init__(self, stop_words: str | None = None):
        self.stop_words = stop_words
        self._vectorizer: Any = None
        self._matrix: Any = None  # csr (n_terms, n_docs): the transposed, l2-normalised doc vectors
        self._ids = np.zeros(0, dtype=np.int64)

    def _new_vectorizer(self, vocabulary=None):
        from ..extras import require

        require("sklearn", "static", "the tfidf method")
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(sublinear_tf=True, stop_words=self.stop_words,
                               vocabulary=vocabulary, dtype=np.float64)

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self._ids = check_corpus(ids, texts)
        self._vectorizer, self._matrix = None, None
        if len(texts) == 0:
            return
        vectorizer = self._new_vectorizer()
        try:
            matrix = vectorizer.fit_transform(list(texts))
        except ValueError:  # empty vocabulary: every text is empty or stop words
            return
        # Stored transposed so that a query is one sparse row times a CSR matrix (much
        # faster than documents x query column).
        self._vectorizer, self._matrix = vectorizer, matrix.T.tocsr()

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        """Up to ``k`` ids with cosine > 0, best first (ties by ascending id)."""
        k = check_k(k)
        if self._vectorizer is None or not query or not query.strip():
            return []
        q = self._query_vector(query)
        if q is None:
            return []
        scores = (q @ self._matrix).toarray().ravel()
        return top_k(self._ids, scores, k, allowed_mask(self._ids, allowed))

    def _query_vector(self, query: str):
        """The query's tf-idf row, as ``TfidfVectorizer.transform`` computes it (sublinear tf
        times idf, l2-normalised) without its per-call validation, which costs more than the product."""
        from scipy import sparse

        vocab = self._vectorizer.vocabulary_
        counts = Counter(t for t in self._vectorizer.build_analyzer()(query) if t in vocab)
        if not counts:
            return None
        cols = np.fromiter((vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (np.log(tf) + 1.0) * self._vectorizer.idf_[cols]
        weights /= np.linalg.norm(weights)
        return sparse.csr_matrix((weights, (np.zeros(len(cols), dtype=np.int64), cols)),
                                 shape=(1, len(self._vectorizer.idf_)))

    def save(self, directory: Path) -> None:
        from scipy import sparse

        with atomic_directory(directory) as tmp:
            np.save(tmp / "ids.npy", self._ids)
            fitted = self._vectorizer is not None
            if fitted:
                vocab = {t: int(i) for t, i in self._vectorizer.vocabulary_.items()}
                (tmp / "vocabulary.json").write_text(json.dumps(vocab, ensure_ascii=False))
                np.save(tmp / "idf.npy", self._vectorizer.idf_)
                sparse.save_npz(tmp / "matrix.npz", self._matrix)
            write_meta(tmp, self.name, stop_words=self.stop_words, sublinear_tf=True,
                       fitted=fitted, count=len(self._ids))

    @classmethod
    def load(cls, directory: Path) -> "TfidfRetriever":
        from ..extras import require

        sparse = require("scipy.sparse", "static", "the tfidf method")

        directory = Path(directory)
        meta = read_meta(directory, cls.name)
        self = cls(stop_words=meta.get("stop_words"))
        self._ids = np.load(directory / "ids.npy")
        if meta.get("fitted"):
            vocab = json.loads((directory / "vocabulary.json").read_text())
            self._vectorizer = self._new_vectorizer(vocabulary=vocab)
            self._vectorizer.idf_ = np.load(directory / "idf.npy")
            self._matrix = sparse.load_npz(directory / "matrix.npz").tocsr()
        return self

    def __len__(self) -> int:
        return len(self._ids)
