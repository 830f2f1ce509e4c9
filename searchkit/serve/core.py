"""One index shared by concurrent requests: what the HTTP app and the MCP server call.

The index is opened once, read-only. Its encoder, FAISS vectors and static baselines are
shared by every thread; each thread gets its own SQLite connection (a connection's
statements and transactions are not to be interleaved across threads). A sync by another
process commits a new generation; every search compares the generation and reloads the
vectors and baselines when it changed, so new documents are found without a restart.

Every path in a response is made relative to the indexed root (the deepest folder holding
every indexed document), and documents are rebuilt from the index's stored text: nothing
here opens a file named by a client.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import overload

from ..errors import BadInput, SearchkitError
from ..schema import DocumentView, SearchResult


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:  # between the two renames of a swap
        return None


class DocumentNotFound(SearchkitError):
    """No document (or chunk of it) with that id."""


def bound_encoder(encoder, slots: threading.BoundedSemaphore) -> None:
    """Let ``encoder`` run at most as many model calls at once as ``slots`` allows (its
    one abstract batch method and its token vectors, the two ways a read reaches the model).
    Results are those of the plain encoder: callers only wait their turn. Encoders are
    shared per process (``get_encoder``), so a second call only swaps the cap; a thread
    already holding a slot (one guarded call inside another) does not wait for a second.
    """
    state = vars(encoder).get("_searchkit_slots")
    if state is not None:
        state["slots"] = slots
        return
    state = encoder._searchkit_slots = {"slots": slots}
    held = threading.local()

    def guard(call):
        def guarded(*args, **kwargs):
            if getattr(held, "slot", False):
                return call(*args, **kwargs)
            with state["slots"]:
                held.slot = True
                try:
                    return call(*args, **kwargs)
                finally:
                    held.slot = False
        return guarded

    for name in ("embed_batch", "_embed", "token_vectors"):  # the batch method's new name, old
        if callable(getattr(encoder, name, None)):
            setattr(encoder, name, guard(getattr(encoder, name)))


class Service:
    """Search, ask, documents, stats and senses over one index, safe to call from threads.

    Args:
        index: the index directory.
        warm: load the encoder and vectors now, so the first request is not slow.
        encoder_slots: at most this many encoder runs at once (None: no cap). Each
            concurrent onnxruntime run keeps its own memory arena, so 16 concurrent
            requests grow the process by gigabytes; a cap of about the cores keeps the
            memory flat, and costs no throughput once the cores are busy.
    """

    def __init__(self, index: str | Path | None = None, warm: bool = True,
                 encoder_slots: int | None = None):
        self._path = index
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(encoder_slots) if encoder_slots else None
        self._open()
        self._retired: list = []
        self.name = self._idx.path.name
        self._root: tuple[tuple, str | None] = ((), None)
        if warm:
            self._idx.encoder  # noqa: B018  (loads the model)
            self._idx.vectors  # noqa: B018  (loads the vector file)

    def _open(self) -> None:
        from ..index import Index
        from ..store.meta import PerThreadDatabase

        idx = Index.open(self._path, readonly=True)
        idx.store.close()
        idx.store.db = PerThreadDatabase(idx.store.path)
        self._inode = _inode(idx.store.path)
        if self._slots is not None:
            bound_encoder(idx.encoder, self._slots)
        self._idx = idx

    @property
    def idx(self):
        """The open index; reopened when its database was replaced (``search index
        --rebuild`` swaps in a new folder), so requests follow the rebuilt index."""
        ino = _inode(self._idx.store.path)
        if ino is not None and ino != self._inode:
            with self._lock:
                if ino != self._inode:
                    self._retired.append(self._idx)  # in-flight requests may still use it
                    self._open()
        return self._idx

    def close(self) -> None:
        for idx in [*self._retired, self._idx]:
            idx.store.db.close_all()

    # -- paths -------------------------------------------------------------------------
    def root(self) -> str | None:
        """The deepest folder holding every indexed document, for the current generation."""
        idx = self.idx
        key = (id(idx), idx.store.generation())
        if self._root[0] != key:
            paths = [p for p in idx.store.document_paths() if os.path.isabs(p)]
            root = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else None
            self._root = (key, root)
        return self._root[1]

    @overload
    def rel(self, path: str) -> str: ...
    @overload
    def rel(self, path: None) -> None: ...

    def rel(self, path: str | None) -> str | None:
        """``path`` (as stored, or as a hit shows it) relative to the indexed root."""
        if not path or path.startswith("text:"):
            return path
        root = self.root()
        full = os.path.abspath(path)
        if root and (full == root or full.startswith(root.rstrip(os.sep) + os.sep)):
            return os.path.relpath(full, root)
        return os.path.basename(full)

    def _hit(self, d: dict) -> dict:
        d["path"] = self.rel(d["path"])
        return d

    # -- the calls ---------------------------------------------------------------------
    def search(self, query: str, k: int = 10, **kwargs) -> dict:
        hits = self.idx.search(query, k=k, **kwargs)
        out = SearchResult(query=query, hits=hits).to_dict()
        out["hits"] = [self._hit(h) for h in out["hits"]]
        return out

    def ask(self, question: str, **filters) -> dict:
        a = self.idx.ask(question, **filters).to_dict()
        if a.get("path"):
            rel = self.rel(a["path"])
            if a.get("citation", "").startswith(a["path"]):
                a["citation"] = rel + a["citation"][len(a["path"]):]
            a["path"] = rel
        if a.get("hit"):
            a["hit"] = self._hit(a["hit"])
        a["supporting"] = [self._hit(h) for h in a["supporting"]]
        return a

    def document(self, doc_id: int, chunk_id: int | None = None) -> dict:
        """The stored text of document ``doc_id``; with ``chunk_id``, that passage's range.

        Raises:
            DocumentNotFound: no such document, or the chunk is not one of it.
        """
        from ..senses_report import document_text

        store = self.idx.store
        doc = store.document_view(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document with id {doc_id}")
        rows = store.chunk_spans(doc_id)
        text = document_text([(r[1], r[2], r[3]) for r in rows])
        passage = {}
        if chunk_id is not None:
            row = next((r for r in rows if r[0] == int(chunk_id)), None)
            if row is None:
                raise DocumentNotFound(f"document {doc_id} has no chunk {chunk_id}")
            passage = dict(chunk_id=row[0], start_char=row[2], end_char=row[4],
                           start_line=row[3], end_line=row[5], page=row[6])
        return DocumentView(doc_id=doc["id"], path=self.rel(doc["path"]), title=doc["title"],
                            format=doc["format"], text=text, n_chars=len(text),
                            **passage).to_dict()

    def stats(self) -> dict:
        s = self.idx.stats()
        s["path"] = self.name  # the server's folders are not the client's business
        return s

    def senses(self, word: str, max: int = 200, senses: int | str = "auto") -> dict:
        if not isinstance(word, str) or not word.strip():
            raise BadInput("empty word")
        r = self.idx.senses(word.strip(), max=max, senses=senses).to_dict()
        for s in r["senses"]:
            for e in s["examples"]:
                e["path"] = self.rel(e["path"])
        return r
