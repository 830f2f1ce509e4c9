"""The retriever interface shared by the static (tf-idf, BM25, GloVe) and dense retrievers.

A retriever indexes ``(id, text)`` pairs, where an id is any int64 (a chunk's primary key),
and answers a query with ``(id, score)`` pairs, best first, higher scores better.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable
from collections.abc import Collection, Iterator, Sequence

import numpy as np

from ..errors import BadInput, BadUsage, IndexNotFound

FORMAT_VERSION = 1
META_FILE = "retriever.json"


# Ids a search may return: a set, any collection, or an int64 numpy array of ids.
Allowed = Collection[int] | np.ndarray | None


class ScoredId(NamedTuple):
    """One search result: a document/chunk id and its score (higher is better).

    A plain tuple underneath, so ``(id, score)`` unpacking and comparison with tuples work.
    """

    id: int
    score: float


@runtime_checkable
class Retriever(Protocol):
    """What every retriever provides."""

    name: str

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Index ``texts`` under ``ids`` (int64, unique), replacing any previous content."""

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        """The best ``k`` ids for ``query``, best first; only ids in ``allowed`` (a set, or
        any collection or int64 numpy array of ids) if given, and still ``k`` of them when
        that many allowed ids match."""

    def save(self, directory: Path) -> None:
        """Write the index to ``directory`` atomically (all or nothing)."""

    @classmethod
    def load(cls, directory: Path) -> "Retriever":
        """Read an index written by :meth:`save`."""

    def __len__(self) -> int:
        """Number of indexed texts."""


# -- helpers shared by the implementations ----------------------------------------------

def check_corpus(ids: Sequence[int], texts: Sequence[str]) -> np.ndarray:
    """``ids`` as a unique int64 array of the same length as ``texts``, or BadInput."""
    arr = np.asarray(list(ids), dtype=np.int64).reshape(-1)
    if len(arr) != len(texts):
        raise BadInput(f"{len(arr)} ids for {len(texts)} texts")
    if len(np.unique(arr)) != len(arr):
        raise BadInput("ids must be unique")
    return arr


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise BadUsage(f"k must be a non-negative integer, got {k!r}")
    return int(k)


def allowed_array(allowed: Allowed) -> np.ndarray | None:
    """``allowed`` (a set, list or numpy array of ids) as a unique int64 array; None stays None."""
    if allowed is None:
        return None
    if isinstance(allowed, np.ndarray):
        return np.unique(allowed.astype(np.int64, copy=False).reshape(-1))
    return np.unique(np.fromiter((int(a) for a in allowed), dtype=np.int64, count=len(allowed)))


def allowed_mask(ids: np.ndarray, allowed: Allowed) -> np.ndarray | None:
    """Boolean mask over ``ids`` of those in ``allowed``; None when there is no filter."""
    wanted = allowed_array(allowed)
    return None if wanted is None else np.isin(ids, wanted)


def top_k(ids: np.ndarray, scores: np.ndarray, k: int, mask: np.ndarray | None = None,
          positive_only: bool = True) -> list[ScoredId]:
    """The ``k`` best ``(id, score)`` pairs from a dense score array, best first.

    Ties are broken by ascending id so that results do not depend on index order.
    Entries outside ``mask``, and with ``positive_only`` those with score <= 0, are dropped.
    """
    keep = np.ones(len(ids), dtype=bool) if mask is None else mask.copy()
    if positive_only:
        keep &= scores > 0
    cand = np.flatnonzero(keep)
    if k == 0 or len(cand) == 0:
        return []
    if len(cand) > k:
        # Everything scoring at least the k-th best survives, so ties at the cut stay fair.
        kth = np.partition(scores[cand], len(cand) - k)[len(cand) - k]
        cand = cand[scores[cand] >= kth]
    order = np.lexsort((ids[cand], -scores[cand]))[:k]
    return [ScoredId(int(ids[cand[i]]), float(scores[cand[i]])) for i in order]


@contextmanager
def atomic_directory(directory: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``directory``; on success it replaces
    ``directory`` by renames, on error it is removed and ``directory`` is untouched."""
    import shutil
    import tempfile
    import uuid

    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(target, old)
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_meta(directory: Path, name: str, **params) -> None:
    meta = {"retriever": name, "format_version": FORMAT_VERSION, **params}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def read_meta(directory: str | Path, name: str) -> dict:
    """The metadata a retriever wrote, checked to be of retriever ``name``."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise IndexNotFound(f"no {name} index in {directory} ({META_FILE} missing)")
    meta = json.loads(path.read_text())
    if meta.get("retriever") != name:
        raise BadInput(f"{directory} holds a {meta.get('retriever')!r} index, not {name!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BadInput(f"{directory}: unsupported {name} index format "
                       f"{meta.get('format_version')!r} (expected {FORMAT_VERSION})")
    return meta


__all__ = ["Retriever", "ScoredId", "Allowed", "atomic_directory", "top_k", "check_corpus",
           "check_k", "allowed_mask", "allowed_array", "read_meta", "write_meta"]
