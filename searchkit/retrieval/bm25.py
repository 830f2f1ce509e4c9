"""BM25 retrieval with bm25s (Lucene variant, k1=1.5, b=0.75), English stop words and
PyStemmer's English (Snowball) stemmer."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .base import (Allowed, ScoredId, allowed_mask, atomic_directory, check_corpus, check_k,
                   read_meta, top_k, write_meta)


def _stemmer(language: str | None):
    if not language:
        return None
    import Stemmer

    return Stemmer.Stemmer(language)


class BM25Retriever:
    """Okapi BM25 over stemmed, stop-worded tokens (bm25s' tokenizer: lowercase, ``\\w\\w+``).

    Args:
        k1, b, method: BM25 parameters as bm25s names them.
        stopwords: a bm25s stop word list name (``"en"``) or None.
        stemmer: a PyStemmer language (``"english"``) or None.
    """

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 stopwords: str | None = "en", stemmer: str | None = "english"):
        self.k1, self.b, self.method = k1, b, method
        self.stopwords, self.stemmer = stopwords, stemmer
        self._stem = _stemmer(stemmer)
        self._bm25 = None
        self._ids = np.zeros(0, dtype=np.int64)

    def _tokenize(self, texts, return_ids: bool):
        import bm25s

        return bm25s.tokenize(list(texts), stopwords=self.stopwords or [], stemmer=self._stem,
                              return_ids=return_ids, show_progress=False)

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        import bm25s

        self._ids = check_corpus(ids, texts)
        self._bm25 = None
        if len(texts) == 0:
            return
        tokens = self._tokenize(texts, return_ids=True)
        if not tokens.vocab:  # every text is empty or stop words
            return
        bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        bm25.index(tokens, show_progress=False)
        self._bm25 = bm25

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        """Up to ``k`` ids with a BM25 score > 0, best first (ties by ascending id)."""
        k = check_k(k)
        if self._bm25 is None or not query or not query.strip():
            return []
        terms = self._tokenize([query], return_ids=False)[0]
        token_ids = self._bm25.get_tokens_ids(terms)
        if not token_ids:
            return []
        scores = self._bm25.get_scores_from_ids(token_ids)
        return top_k(self._ids, scores, k, allowed_mask(self._ids, allowed))

    def coverage(self, query: str, ids: Sequence[int]) -> dict[int, float]:
        """For each of ``ids``: the share of the query's distinct terms (after stop words and
        stemming) its text contains; terms the corpus never uses count as missing."""
        if self._bm25 is None or not ids:
            return {}
        terms = list(dict.fromkeys(self._tokenize([query], return_ids=False)[0]))
        token_ids = self._bm25.get_tokens_ids(terms)
        if not terms:
            return {}
        rows = np.searchsorted(self._ids, ids) if _sorted(self._ids) else None
        if rows is None:
            pos = {int(i): n for n, i in enumerate(self._ids)}
            rows = np.asarray([pos[int(i)] for i in ids])
        matched = np.zeros(len(ids))
        for t in token_ids:
            matched += self._bm25.get_scores_from_ids([t])[rows] > 0
        return {int(i): float(m) / len(terms) for i, m in zip(ids, matched)}

    def save(self, directory: Path) -> None:
        with atomic_directory(directory) as tmp:
            np.save(tmp / "ids.npy", self._ids)
            if self._bm25 is not None:
                self._bm25.save(str(tmp), show_progress=False)
            write_meta(tmp, self.name, k1=self.k1, b=self.b, method=self.method,
                       stopwords=self.stopwords, stemmer=self.stemmer,
                       fitted=self._bm25 is not None, count=len(self._ids))

    @classmethod
    def load(cls, directory: Path) -> "BM25Retriever":
        directory = Path(directory)
        meta = read_meta(directory, cls.name)
        self = cls(k1=meta["k1"], b=meta["b"], method=meta["method"],
                   stopwords=meta["stopwords"], stemmer=meta["stemmer"])
        self._ids = np.load(directory / "ids.npy")
        if meta.get("fitted"):
            import bm25s

            self._bm25 = bm25s.BM25.load(str(directory), show_progress=False)
        return self

    def __len__(self) -> int:
        return len(self._ids)


def _sorted(ids: np.ndarray) -> bool:
    return bool(len(ids) < 2 or np.all(ids[1:] > ids[:-1]))
