"""The indexing pipeline's moving parts: documents waiting to be written, commit groups,
a reader thread that chunks ahead, and an encoder thread that embeds the next group while the
previous one is written. ``Index`` (index.py) drives them; they know nothing of SQLite."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable, Iterator

import numpy as np

#: Chunks embedded and committed together: the unit a kill can interrupt.
#: ``SEARCHKIT_COMMIT_CHUNKS`` overrides it (tests use small batches to commit often).
COMMIT_CHUNKS = 256


def commit_chunks() -> int:
    env = os.environ.get("SEARCHKIT_COMMIT_CHUNKS")
    return max(1, int(env)) if env else COMMIT_CHUNKS

#: Text longer than this (characters) is chunked and committed in segments of about this
#: size, cut at a paragraph or line break: a 50 MB file never sits in memory as a whole list
#: of tokens, chunks and vectors, and a kill keeps the segments committed so far (their
#: vectors stay cached, so the next sync does not embed them again).
SEGMENT_CHARS = 200_000


def segments(text: str, size: int | None = None) -> list[tuple[int, int]]:
    """``[(start, end)]`` covering ``text``, each at most ``size`` characters, cut after a
    blank line, else a line break, else a space, where one lies in the segment's second half."""
    size = size or SEGMENT_CHARS
    out, a, n = [], 0, len(text)
    while a < n:
        b = min(a + size, n)
        if b < n:
            lo = a + size // 2
            for sep in ("\n\n", "\n", " "):
                cut = text.rfind(sep, lo, b)
                if cut != -1:
                    b = cut + len(sep)
                    break
        out.append((a, b))
        a = b
    return out


Progress = Callable[[str, int, int | None], None]  # (phase, advance, total)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class Pending:
    """A document read and chunked, waiting to be embedded and written."""

    path: str
    row: dict
    chunks: list[dict]
    replaces: int | None = None  # the doc id it replaces (changed file)
    kind: str = "new"
    #: a long document comes in parts committed one after another (see SEGMENT_CHARS):
    #: part 0 writes the document row, the last one its final size and content hash
    part: int = 0
    last: bool = True
    doc_ref: dict | None = None  # {"id": doc id}, shared by the parts of one document
    #: text hash -> (vector, packed sentence vectors or None), when embedded elsewhere
    vectors: dict | None = None


def document_groups(pending: Iterable[Pending], size: int) -> Iterator[list[Pending]]:
    """Whole documents, in groups of at least ``size`` chunks (the last may be smaller)."""
    group: list[Pending] = []
    n = 0
    for p in pending:
        group.append(p)
        n += len(p.chunks)
        if n >= size:
            yield group
            group, n = [], 0
    if group:
        yield group


class Prefetch:
    """Runs an iterator in a daemon thread, up to ``depth`` items ahead of the consumer;
    re-raises its exception on the consumer's side. Leaving the ``with`` block stops it."""

    _END = object()

    def __init__(self, it: Iterable, depth: int = 256):
        import queue
        import threading

        self._q: Any = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(it),), daemon=True,
                                        name="searchkit-reader")

    def _run(self, it) -> None:
        import queue

        try:
            for item in it:
                while not self._stop.is_set():
                    try:
                        self._q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if self._stop.is_set():
                    return
            self._q.put((self._END, None))
        except BaseException as e:  # handed to the consumer
            self._q.put((self._END, e))

    def __enter__(self):
        self._thread.start()
        return self

    def __iter__(self):
        while True:
            item, err = self._q.get()
            if err is not None:
                raise err
            if item is self._END:
                return
            yield item

    def __exit__(self, *exc) -> None:
        self._stop.set()


class EncodingJob:
    """``encoder.encode_documents(texts)`` in a daemon thread, batch by batch (longest
    first, as encode_documents does), so that :meth:`cancel` stops it between batches."""

    def __init__(self, encoder, texts: list[str], progress, batch_size: int = 32):
        import threading

        self._out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        #: packed sentence vectors per text (searchkit.sentence_vectors), where the encoder
        #: makes them while embedding; else None
        self.sentences: list[bytes | None] | None = (
            [None] * len(texts) if hasattr(encoder, "embed_with_sentences") else None)
        self._err: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        args=(encoder, texts, progress, batch_size),
                                        name="searchkit-encoder")
        self._thread.start()

    def _run(self, encoder, texts, progress, batch_size) -> None:
        try:
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
            for start in range(0, len(order), batch_size):
                if self._cancel.is_set():
                    return
                idx = order[start:start + batch_size]
                batch = [texts[i] for i in idx]
                if self.sentences is not None:
                    self._out[idx], blobs = encoder.embed_with_sentences(batch)
                    for i, b in zip(idx, blobs):
                        self.sentences[i] = b
                else:
                    self._out[idx] = encoder.encode_documents(batch, batch_size=batch_size)
                if progress:
                    progress(len(idx))
        except BaseException as e:
            self._err = e

    def result(self) -> np.ndarray:
        self._thread.join()
        if self._err is not None:
            raise self._err
        if self._cancel.is_set():
            raise RuntimeError("encoding was cancelled")
        return self._out

    def embedded(self) -> tuple[np.ndarray, list[bytes | None] | None]:
        """``(vectors, sentence vectors or None)`` once done."""
        return self.result(), self.sentences

    def cancel(self) -> None:
        self._cancel.set()


class EmbeddedJob:
    """:class:`EncodingJob`'s interface for a group whose vectors an engine computed (see
    :mod:`searchkit.engines`): nothing left to run."""

    def __init__(self, group: list[Pending], hashes: list[str], progress):
        lookup: dict = {}
        for p in group:
            lookup.update(p.vectors or {})
        self._out = (np.stack([lookup[h][0] for h in hashes]).astype(np.float32, copy=False)
                     if hashes else np.zeros((0, 0), np.float32))
        #: packed sentence vectors per text, where the engine's encoder made them
        self.sentences = ([lookup[h][1] for h in hashes]
                          if any(lookup[h][1] is not None for h in hashes) else None)
        if progress:
            progress(len(hashes))

    def result(self) -> np.ndarray:
        return self._out

    def embedded(self):
        return self._out, self.sentences

    def cancel(self) -> None:
        pass
