"""Sentence vectors for highlights, made while a chunk is embedded: no extra encoder work.

When the ONNX encoder embeds a chunk it already has a contextual vector for every token; the
mean of a sentence's token vectors (normalised) is that sentence's vector *in context*. It is
stored at index time, int8, beside the chunk's vector (table ``sentence_vectors``, keyed like
the embedding cache by encoder and chunk-text hash), so ``search query`` highlights the best
sentence of each hit with a dot product instead of running the encoder over every sentence of
every hit (before, most of a cold default query on sample_corpus).

Measured on the 47 answerable questions of tests/data/qa.jsonl whose answer chunk is found
(minilm-int8, the chunk's sentences scored with the same lexical term): the answer sentence
scores highest for 30 with pooled vectors, 27 with each sentence embedded alone, 21 with the
lexical term alone (benchmarks/highlight_vectors.py, benchmarks/results/highlight_vectors.json).

A blob is ``uint32 n``, then ``n`` (start, end) int32 character spans into the chunk text,
then ``n`` int8 vectors (unit vector times 127).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from .highlight import split_sentences

SCALE = 127.0


def pool(text: str, hidden: np.ndarray, offsets: Sequence[tuple[int, int]],
         special: Sequence[int]) -> bytes:
    """The packed sentence vectors of ``text`` from its token vectors ``hidden`` (tokens,
    dim), the tokens' character ``offsets`` and their special-token flags. A sentence that no
    token reaches (cut off by truncation) is left out."""
    spans, rows = [], []
    starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=len(offsets))
    ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=len(offsets))
    real = np.asarray(special, dtype=bool) == 0
    for s in split_sentences(text):
        sel = real & (starts < s.end) & (ends > s.start)
        if not sel.any():
            continue
        v = hidden[sel].mean(axis=0)
        n = float(np.linalg.norm(v))
        if n > 0:
            spans.append((s.start, s.end))
            rows.append(v / n)
    return pack(spans, np.asarray(rows, dtype=np.float32).reshape(len(rows), hidden.shape[1]))


def pack(spans: Sequence[tuple[int, int]], unit: np.ndarray) -> bytes:
    q = np.clip(np.rint(unit * SCALE), -127, 127).astype(np.int8)
    return (struct.pack("<I", len(spans)) + np.asarray(spans, dtype="<i4").tobytes()
            + q.tobytes())


def vectors_bytes(blob: bytes, dim: int) -> tuple[int, bytes]:
    """``(n, the n int8 vectors' raw bytes)`` of a packed blob, without decoding them (for
    scoring many chunks' sentences in one product; times ``1 / SCALE`` for unit length)."""
    (n,) = struct.unpack_from("<I", blob)
    start = 4 + 8 * n
    return n, blob[start:start + n * dim]


def unpack(blob: bytes, dim: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """``(spans, vectors (n, dim) float32)`` of a packed blob; vectors are unit length up to
    the int8 rounding."""
    (n,) = struct.unpack_from("<I", blob)
    spans = np.frombuffer(blob, dtype="<i4", count=2 * n, offset=4).reshape(n, 2)
    q = np.frombuffer(blob, dtype=np.int8, count=n * dim, offset=4 + 8 * n).reshape(n, dim)
    return [(int(a), int(b)) for a, b in spans], q.astype(np.float32) / SCALE
