"""The stored sentence vectors as one memory-mapped matrix, beside the FAISS file.

Each chunk's highlight sentence vectors (:mod:`searchkit.sentence_vectors`) live in SQLite as
one blob per chunk text. Sentence evidence in the default hybrid reads those of the dense
ranking's 100 best chunks on every query, and the SQLite read was most of its cost
(benchmarks/RESULTS_eval.md, "Sentence evidence by default"). This
file holds the same int8 vectors in chunk-id order, derived from SQLite after every write,
so a query gathers its chunks' rows from a memory map instead.

It is a cache, never the truth: its header names the SQLite generation and encoder it was
built from, and a file that does not match (a crash between the database commit and the
file, a write by an older searchkit, damage) is not used; queries then read SQLite as
before, and ``search check`` reports it (``--repair`` writes it again).

Layout: 8 magic bytes, a JSON header padded to :data:`HEADER` bytes (generation, encoder,
dim, chunks, rows, the offsets below), the ``rows x dim`` int8 matrix, then the chunks'
ids, first rows and row counts (int64 each), ids ascending.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .vectors import fsync_file

MAGIC = b"SKSENT1\n"
HEADER = 4096


class SentenceMatrix:
    """Every chunk's sentence vectors (int8, as stored) in one matrix, by chunk id."""

    def __init__(self, generation: int, encoder: str, ids: np.ndarray, starts: np.ndarray,
                 counts: np.ndarray, matrix: np.ndarray):
        self.generation, self.encoder = generation, encoder
        self.ids, self.starts, self.counts, self.matrix = ids, starts, counts, matrix

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, chunk_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, counts, rows)`` of those of ``chunk_ids`` that have sentence vectors, in
        the order given: each chunk's ``count`` rows follow one another in ``rows``."""
        want = np.asarray(list(chunk_ids), dtype=np.int64)
        if not len(want) or not len(self.ids):
            return want[:0], want[:0], self.matrix[:0]
        pos = np.minimum(np.searchsorted(self.ids, want), len(self.ids) - 1)
        found = (self.ids[pos] == want) & (self.counts[pos] > 0)
        pos = pos[found]
        starts, counts = self.starts[pos], self.counts[pos]
        # row numbers of every chunk's sentences, chunk after chunk
        first = np.repeat(starts - np.cumsum(counts) + counts, counts)
        rows = first + np.arange(int(counts.sum()), dtype=np.int64)
        return want[found], counts, self.matrix[rows]

    # -- persistence -------------------------------------------------------------------
    @staticmethod
    def write(path: Path, generation: int, encoder: str, dim: int, chunks) -> dict:
        """Write the file for ``chunks`` (``(chunk id, packed blob)`` in ascending id order)
        atomically; returns its header."""
        from ..sentence_vectors import vectors_bytes

        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        ids, counts = [], []
        rows = 0
        with open(tmp, "wb") as f:
            f.write(b"\0" * HEADER)
            for chunk_id, blob in chunks:
                n, raw = vectors_bytes(blob, dim)
                if len(raw) != n * dim:
                    continue  # a damaged blob: SQLite's copy is what queries would read
                f.write(raw)
                ids.append(int(chunk_id))
                counts.append(n)
                rows += n
            c = np.asarray(counts, dtype=np.int64)
            starts = np.cumsum(c) - c
            offset = HEADER + rows * dim
            head = {"generation": generation, "encoder": encoder, "dim": dim,
                    "chunks": len(ids), "rows": rows, "matrix": HEADER, "ids": offset,
                    "starts": offset + 8 * len(ids), "counts": offset + 16 * len(ids)}
            for a in (np.asarray(ids, dtype=np.int64), starts, c):
                f.write(a.astype("<i8").tobytes())
            text = json.dumps(head).encode()
            if len(MAGIC) + len(text) > HEADER:
                raise ValueError("sentence matrix header too long")
            f.seek(0)
            f.write(MAGIC + text.ljust(HEADER - len(MAGIC)))
        fsync_file(tmp)
        os.replace(tmp, path)
        return head

    @classmethod
    def load(cls, path: Path, generation: int, encoder: str,
             dim: int) -> "SentenceMatrix | None":
        """The file if it was built from ``generation`` of ``encoder``'s vectors and is
        whole, else None."""
        try:
            with open(path, "rb") as f:
                block = f.read(HEADER)
            if not block.startswith(MAGIC):
                return None
            head = json.loads(block[len(MAGIC):].decode().strip())
            n, rows = int(head["chunks"]), int(head["rows"])
            if (head.get("generation") != generation or head.get("encoder") != encoder
                    or head.get("dim") != dim
                    or path.stat().st_size != HEADER + rows * dim + 24 * n):
                return None
            arrays = [np.fromfile(path, dtype="<i8", count=n, offset=head[k])
                      for k in ("ids", "starts", "counts")]
            matrix = (np.memmap(path, dtype=np.int8, mode="r", offset=HEADER,
                                shape=(rows, dim)) if rows else np.zeros((0, dim), np.int8))
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        ids, starts, counts = arrays
        if (len(ids) != n or (n and (np.any(np.diff(ids) <= 0) or counts.min() < 0
                                     or int(counts.sum()) != rows))):
            return None
        return cls(generation, encoder, ids, starts, counts, matrix)
