"""The indexing pipeline's moving parts: documents waiting to be written, commit groups,
a reader thread that chunks ahead, and an encoder thread that embeds the next group while the
previous one is written. ``Index`` (index.py) drives them; they know nothing of SQLite."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

#: Chunks embedded and committed together: the unit a kill can interrupt.
#: ``SEARCHKIT_COMMIT_CHUNKS`` overrides it (tests use small batches to commit often).
COMMIT_CHUNKS = 256


def commit_chunks() -> int:
    env = os.environ.get("SEARCHKIT_COMMIT_CHUNKS")
    return max(1, int(env)) if env else COMMIT_CHUNKS

Progress = Callable[[str, int, int | None], None]  # (phase, advance, total)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    """A document read and chunked, waiting to be embedded and written."""

    path: str
    row: dict
    chunks: list[dict]
    replaces: int | None = None  # the doc id it replaces (changed file)
    kind: str = "new"
    #: text hash -> (vector, packed sentence vectors or None), when embedded elsewhere
    vectors: dict | None = None


def _groups(pending: Iterable[_Pending], size: int) -> Iterable[list[_Pending]]:
    """Whole documents, in groups of at least ``size`` chunks (the last may be smaller)."""
    group: list[_Pending] = []
    n = 0
    for p in pending:
        group.append(p)
        n += len(p.chunks)
        if n >= size:
            yield group
            group, n = [], 0
    if group:
        yield group


class _Prefetch:
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


class _Encoding:
    """``encoder.encode_documents(texts)`` in a daemon thread, batch by batch (longest
    first, as encode_documents does), so that :meth:`cancel` stops it between batches."""

    def __init__(self, encoder, texts: list[str], progress, batch_size: int = 32):
        import threading

        self._out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
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
                self._out[idx] = encoder.encode_documents([texts[i] for i in idx],
                                                          batch_size=batch_size)
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

    def cancel(self) -> None:
        self._cancel.set()


class _Embedded:
    """:class:`_Encoding`'s interface for a group whose vectors an engine computed (see
    :mod:`searchkit.engines`): nothing left to run."""

    def __init__(self, group: list[_Pending], hashes: list[str], progress):
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
