"""Chunk preparation: a read document -> its document row and chunk rows (a
:class:`~searchkit.pipeline.Pending`), as the writer commits them. One place for the local
writer (:mod:`searchkit.writer`) and the engines that read and chunk elsewhere
(:mod:`searchkit.engines.ray_ingest`), so that both write the same rows."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .pipeline import Pending, segments, text_hash

if TYPE_CHECKING:
    from .config import ChunkSettings


class Chunker:
    """Chunks documents with an encoder's tokenizer and an index's chunk settings; needs no
    index (a Ray actor holds one of its own).

    Args:
        encoder: anything with a ``tokenizer`` (loaded on first use).
        settings: the index's chunk settings.
    """

    def __init__(self, encoder: Any, settings: ChunkSettings):
        self.encoder = encoder
        self.settings = settings

    def read_file(self, path: Path, data: bytes | None, digest: str, size: int,
                  mtime: float, max_bytes: int) -> Iterator[Pending]:
        """A file's document, read from ``data`` (or from disk when it is None: a large
        file's bytes are not kept between the walk and this), as :meth:`parts`. Reads on
        the first ``next()``; raises :class:`~searchkit.errors.ReadError` for a file that
        cannot be read."""
        from . import fileio
        from .readers import read_bytes

        if data is None:
            data = fileio.read_limited(path, max_bytes)
            digest = hashlib.sha256(data).hexdigest()
        doc = read_bytes(path, data)
        del data  # only the text is needed from here on
        key = str(path)
        yield from self.parts(key, doc, file_stat(key, size, mtime, digest))

    def prepare(self, key: str, doc, stat: dict, metadata: dict | None = None) -> Pending:
        """``doc`` (an :class:`~searchkit.readers.Extracted`) chunked whole, stored under
        ``key`` with the file facts ``stat`` and the user's ``metadata``."""
        chunks = self.chunk_rows(doc, 0, len(doc.text), 0, 1)
        return Pending(key, document_row(key, doc, stat, metadata, len(chunks)), chunks)

    def parts(self, key: str, doc, stat: dict,
              metadata: dict | None = None) -> Iterator[Pending]:
        """The document as one :class:`Pending`, or, when its text is longer than
        :data:`~searchkit.pipeline.SEGMENT_CHARS`, as parts chunked one segment at a time
        (lazily: the caller commits a part before the next is chunked)."""
        segs = segments(doc.text)
        if len(segs) == 1:
            yield self.prepare(key, doc, stat, metadata)
            return
        ref: dict = {}
        n, line = 0, 1
        for i, (a, b) in enumerate(segs):
            chunks = self.chunk_rows(doc, a, b, n, line)
            n += len(chunks)
            line += doc.text.count("\n", a, b)
            row = document_row(key, doc, stat, metadata, len(chunks))
            yield Pending(key, row, chunks, part=i, last=i == len(segs) - 1, doc_ref=ref)

    def chunk_rows(self, doc, a: int, b: int, ord0: int, line0: int) -> list[dict]:
        """Chunk rows of ``doc.text[a:b]`` (offsets, lines and pages of the whole text),
        numbered from ``ord0``; ``line0`` is the line ``a`` is on."""
        from .chunking import chunk_text
        from .readers import heading_path

        text = doc.text[a:b] if (a, b) != (0, len(doc.text)) else doc.text
        pages = [p - a for p in doc.pages] if doc.pages and a else doc.pages
        breaks = getattr(doc, "breaks", None)
        if breaks and (a, b) != (0, len(doc.text)):
            breaks = [x - a for x in breaks if a < x < b]
        spans = chunk_text(text, self.encoder.tokenizer, self.settings, pages, breaks)
        chunks = []
        for i, s in enumerate(spans):
            t = text[s.start:s.end]
            chunks.append({"ord": ord0 + i, "text": t, "text_hash": text_hash(t),
                           "start_char": a + s.start, "end_char": a + s.end,
                           "start_line": line0 - 1 + s.start_line,
                           "end_line": line0 - 1 + s.end_line,
                           "page": s.page, "n_tokens": s.n_tokens,
                           "heading": heading_path(doc.headings, a + s.start) if doc.headings
                           else None})
        return chunks


def document_row(key: str, doc, stat: dict, metadata: dict | None, n_chunks: int) -> dict:
    """The ``documents`` row of ``doc``: its key, title, format, the file facts ``stat``,
    its size in characters and chunks, and its metadata (the reader's, then the user's)."""
    metadata = {**getattr(doc, "metadata", {}), **(metadata or {})}
    return {"path": key, "title": doc.title, "format": doc.format, **stat,
            "n_chars": len(doc.text), "n_chunks": n_chunks,
            "metadata": json.dumps(metadata) if metadata else None,
            "unit": getattr(doc, "unit", None) if doc.pages is not None else None}


def file_stat(key: str, size: int, mtime: float, digest: str) -> dict:
    """The facts of a file a document row records (what the next sync compares)."""
    return {"size": size, "mtime": mtime, "content_hash": digest,
            "real_path": real_path_of(key)}


def real_path_of(path: str) -> str | None:
    """Where a file reached through symlinks really is (for path filters); None when that
    is the path itself."""
    real = os.path.realpath(path)
    return real if real != path else None
