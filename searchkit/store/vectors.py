"""The FAISS side of an index: derived from SQLite, saved atomically, checked on load.

FAISS ids are the chunks' SQLite primary keys (IndexIDMap2), so a hit joins straight to its
metadata. The file on disk carries a sidecar ``<file>.json`` with the SQLite generation it was
built from; a mismatch, a missing or a corrupt file means "rebuild from SQLite".

Two kinds, chosen per index by ``search index --vector-index auto|flat|hnsw`` (the manifest's
``vector_index``; ``auto`` by default):

- ``flat``: exact inner-product search (IndexFlatIP). Below :data:`ANN_THRESHOLD` vectors it
  is fast enough (one query over 100k 384-d vectors is a few ms on one core) and it is
  exact, with cheap removals.
- ``hnsw``: IndexHNSWFlat, what ``auto`` picks above :data:`ANN_THRESHOLD`. Removals are
  tombstones (HNSW cannot delete): their ids are filtered out of every search and kept in
  the sidecar; past :data:`COMPACT_FRACTION` of the index the next write rebuilds it.
  A filtered search over at most :data:`EXACT_FILTER_MAX` allowed ids is exact (their
  vectors scored directly): a graph search restricted to a rare subset can miss hits.

``benchmarks/ann_1m.py`` measures recall@10 against exact search and latency for the HNSW
parameters below (on SciFact MiniLM embeddings and a 1M set derived from them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

#: Above this many vectors ``auto`` builds HNSW instead of exact search.
ANN_THRESHOLD = 200_000
#: HNSW graph degree, build-time and search-time beam widths (efSearch is raised to k).
#: Measured recall@10 against exact search (benchmarks/ann_1m.py, 200 SciFact queries,
#: benchmarks/results/ann_1m.json): on the 9,826 real SciFact MiniLM chunk vectors 0.9975
#: at efSearch 128 and 0.999 at 256; at 1M vectors mixed from them only 0.8995 at 128 and
#: 0.938 at 256, so HNSW (only used above ANN_THRESHOLD) searches with 512: 0.9635 at 1M,
#: p50 1.302 ms against exact search's 90.76 ms.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 512
#: Filtered searches over at most this many allowed ids score them exactly (HNSW only).
EXACT_FILTER_MAX = 20_000
#: An HNSW index whose tombstones pass this share of its vectors is rebuilt on write.
COMPACT_FRACTION = 0.2
KINDS = ("auto", "flat", "hnsw")


def _faiss():
    import faiss

    return faiss


class VectorIndex:
    """Inner-product search over normalised vectors, by chunk id."""

    def __init__(self, dim: int, kind: str = "flat", index=None, deleted=()):
        faiss = _faiss()
        self.dim = dim
        self.kind = kind
        self.deleted: set[int] = set(int(i) for i in deleted)  # HNSW tombstones
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
    def kind_for(n: int, requested: str | None = "auto") -> str:
        """The kind an index of ``n`` vectors gets for the setting ``requested``."""
        if requested and requested != "auto":
            if requested not in KINDS:
                from ..errors import BadValue

                raise BadValue(f"unknown vector index kind {requested!r} ({', '.join(KINDS)})")
            return requested
        return "hnsw" if n > ANN_THRESHOLD else "flat"

    def __len__(self) -> int:
        """Live vectors (tombstoned ones not counted)."""
        return self.index.ntotal - len(self.deleted)

    def needs_compaction(self) -> bool:
        return bool(self.deleted) and len(self.deleted) > COMPACT_FRACTION * self.index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids) == 0:
            return
        if self.kind == "flat":
            self.index.remove_ids(_faiss().IDSelectorBatch(ids))
        else:  # chunk ids are never reused (AUTOINCREMENT), so a tombstone stays right
            self.deleted.update(int(i) for i in ids if self._has(int(i)))

    def _has(self, chunk_id: int) -> bool:
        try:
            self.index.reconstruct(chunk_id)
            return True
        except RuntimeError:
            return False

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               ef_search: int | None = None):
        """Top ``k`` (id, score) per query, -1 padding dropped. With ``allowed`` (chunk ids),
        the search itself is restricted to them, so k hits come back whenever k exist."""
        faiss = _faiss()
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 0
        if k == 0:
            return [[] for _ in range(len(queries))]
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if self.deleted:
                allowed = allowed[~np.isin(allowed, _ids(self.deleted))]
            if len(allowed) == 0:
                return [[] for _ in range(len(queries))]
            k = min(k, len(allowed))
            if self.kind == "hnsw" and len(allowed) <= EXACT_FILTER_MAX:
                return self._exact(queries, k, allowed)
        keep = []  # SWIG selectors must outlive the search
        sel = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(allowed)
            keep.append(sel)
        elif self.deleted:
            keep.append(faiss.IDSelectorBatch(_ids(self.deleted)))
            sel = faiss.IDSelectorNot(keep[-1])
        if self.kind == "hnsw":
            ef = max(ef_search or HNSW_EF_SEARCH, k)
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef) if sel is not None \
                else faiss.SearchParametersHNSW(efSearch=ef)
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        scores, ids = self.index.search(queries, k, params=params)
        out = [[(int(i), float(s)) for s, i in zip(srow, irow) if i != -1]
               for srow, irow in zip(scores, ids)]
        if allowed is not None and self.kind == "hnsw" and any(len(r) < k for r in out):
            return self._exact(queries, k, allowed)  # the graph walk missed allowed ids
        return out

    def _exact(self, queries: np.ndarray, k: int, ids: np.ndarray):
        """Exact top ``k`` among ``ids`` (their stored vectors scored directly)."""
        ids, vecs = self.vectors_of(ids)
        if len(ids) == 0:
            return [[] for _ in range(len(queries))]
        k = min(k, len(ids))
        scores = queries @ vecs.T
        out = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
            top = top[np.lexsort((ids[top], -row[top]))]  # by score, ties by id
            out.append([(int(ids[j]), float(row[j])) for j in top])
        return out

    def vectors_of(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of those of ``ids`` the index holds (others are dropped)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        try:
            return ids, self.index.reconstruct_batch(ids)
        except RuntimeError:  # an id the index lacks (e.g. added since it was loaded)
            keep, vecs = [], []
            for i in ids:
                try:
                    vecs.append(self.index.reconstruct(int(i)))
                    keep.append(i)
                except RuntimeError:
                    pass
            if not keep:
                return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
            return np.asarray(keep, dtype=np.int64), np.stack(vecs)

    def reconstruct(self, chunk_id: int) -> np.ndarray:
        return self.index.reconstruct(int(chunk_id))

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path, generation: int, encoder: str) -> None:
        faiss = _faiss()
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        fsync_file(tmp)
        st = tmp.stat()
        meta = {"generation": generation, "ntotal": self.index.ntotal, "kind": self.kind,
                "dim": self.dim, "encoder": encoder, "size": st.st_size,
                "sha256": file_sha256(tmp), "mtime_ns": st.st_mtime_ns,
                "deleted": sorted(self.deleted)}
        os.replace(tmp, path)
        _atomic_write(sidecar(path), json.dumps(meta))

    @classmethod
    def load(cls, path: Path, generation: int, encoder: str, dim: int) -> "VectorIndex | None":
        """The saved index if it matches ``generation``/``encoder``/``dim``, else None."""
        try:
            meta = json.loads(sidecar(path).read_text())
            if (meta.get("generation") != generation or meta.get("encoder") != encoder
                    or meta.get("dim") != dim or not stamp_or_checksum_ok(path, meta)):
                return None
            index = _faiss().read_index(str(path))
        except (OSError, ValueError, RuntimeError):
            return None
        if index.ntotal != meta.get("ntotal") or index.d != dim:
            return None
        return cls(dim, meta.get("kind", "flat"), index, meta.get("deleted") or ())


def file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def stamp_or_checksum_ok(path: Path, meta: dict) -> bool:
    """Whether the vector file is the one the sidecar describes. O(1) while its size and
    modification time are those recorded at save; otherwise (the file was touched since,
    e.g. damaged in place, or copied) its SHA-256 must match. A file saved before checksums
    were recorded passes on its size alone, as it always did."""
    st = path.stat()
    if st.st_size != meta.get("size"):
        return False
    if "sha256" not in meta:
        return True
    if st.st_mtime_ns == meta.get("mtime_ns"):
        return True
    return file_sha256(path) == meta["sha256"]


def _ids(ids) -> np.ndarray:
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    fsync_file(tmp)
    os.replace(tmp, path)
