"""The FAISS side of an index: derived from SQLite, saved atomically, checked on load.

FAISS ids are the chunks' SQLite primary keys (IndexIDMap2), so a hit joins straight to its
metadata. The file on disk carries a sidecar ``<file>.json`` with the SQLite generation it was
built from; a mismatch, a missing or a corrupt file means "rebuild from SQLite".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

#: Above this many vectors a new index is built as HNSW instead of exact search.
ANN_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64


def _faiss():
    import faiss

    return faiss


class VectorIndex:
    """Inner-product search over normalised vectors, by chunk id."""

    def __init__(self, dim: int, kind: str = "flat", index=None):
        faiss = _faiss()
        self.dim = dim
        self.kind = kind
        if index is None:
            if kind == "flat":
                index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            elif kind == "hnsw":
                inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
                inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
                inner.hnsw.efSearch = HNSW_EF_SEARCH
                index = faiss.IndexIDMap2(inner)
            else:
                raise ValueError(f"unknown vector index kind {kind!r} (flat, hnsw)")
        self.index = index

    @staticmethod
    def kind_for(n: int, requested: str = "auto") -> str:
        if requested != "auto":
            return requested
        return "hnsw" if n > ANN_THRESHOLD else "flat"

    def __len__(self) -> int:
        return self.index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids) == 0:
            return
        if self.kind != "flat":
            raise NotImplementedError("removal needs a rebuild for ANN indexes")
        self.index.remove_ids(_faiss().IDSelectorBatch(ids))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Top ``k`` (scores, ids) per query, -1 padding dropped. With ``allowed`` (chunk ids),
        the search itself is restricted to them, so k hits come back whenever k exist."""
        faiss = _faiss()
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 0
        if k == 0:
            return [[] for _ in range(len(queries))]
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return [[] for _ in range(len(queries))]
            k = min(k, len(allowed))
            sel = faiss.IDSelectorBatch(allowed)
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(HNSW_EF_SEARCH, 2 * k))
            else:
                params = faiss.SearchParameters(sel=sel)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, 2 * k))
        scores, ids = self.index.search(queries, k, params=params)
        return [[(int(i), float(s)) for s, i in zip(srow, irow) if i != -1]
                for srow, irow in zip(scores, ids)]

    def reconstruct(self, chunk_id: int) -> np.ndarray:
        return self.index.reconstruct(int(chunk_id))

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path, generation: int, encoder: str) -> None:
        faiss = _faiss()
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        meta = {"generation": generation, "ntotal": len(self), "kind": self.kind,
                "dim": self.dim, "encoder": encoder, "size": tmp.stat().st_size}
        _fsync(tmp)
        os.replace(tmp, path)
        _atomic_write(sidecar(path), json.dumps(meta))

    @classmethod
    def load(cls, path: Path, generation: int, encoder: str, dim: int) -> "VectorIndex | None":
        """The saved index if it matches ``generation``/``encoder``/``dim``, else None."""
        try:
            meta = json.loads(sidecar(path).read_text())
            if (meta.get("generation") != generation or meta.get("encoder") != encoder
                    or meta.get("dim") != dim or path.stat().st_size != meta.get("size")):
                return None
            index = _faiss().read_index(str(path))
        except (OSError, ValueError, RuntimeError):
            return None
        if index.ntotal != meta.get("ntotal") or index.d != dim:
            return None
        return cls(dim, meta.get("kind", "flat"), index)


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)
