"""The Index facade: create/open an index directory, sync folders into it, search it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import __version__
from .config import ChunkSettings, Manifest, default_index_path, max_file_bytes
from .errors import BadInput, EncoderMismatch, IndexNotFound, ReadError, SearchkitError
from .pipeline import (COMMIT_CHUNKS, Progress, _Encoding, _groups, _Pending,  # noqa: F401
                       _Prefetch, commit_chunks, text_hash)
from .store.lock import WriteLock
from .store.meta import MetaStore
from .store.vectors import VectorIndex
from .types import Answer, Hit, IndexReport, Skipped

# The write path's modules (readers, chunker, walker) load in the methods that use them:
# a cold `search query` should pay for nothing but the read path.

log = logging.getLogger("searchkit")

DB_FILE = "index.db"
VECTORS_FILE = "vectors.faiss"
MANIFEST_FILE = "manifest.json"


class Index:
    """A searchable index directory.

    Use :meth:`create` for a new (or existing) index and :meth:`open` for an existing one.
    Writing methods take the index's write lock for their duration.
    """

    def __init__(self, path: Path, store: MetaStore, manifest: Manifest, readonly: bool):
        self.path = path
        self.store = store
        self.manifest = manifest
        self.readonly = readonly
        self._encoder = None
        self._vectors: VectorIndex | None = None
        self._vectors_gen = -1

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path | None = None, encoder: str = "minilm",
               chunking: ChunkSettings | None = None, exist_ok: bool = True,
               vector_index: str | None = None) -> "Index":
        """Create an index directory (or open it if it exists and ``exist_ok``).

        Args:
            vector_index: ``auto`` (default), ``flat`` or ``hnsw``: see
                :mod:`searchkit.store.vectors`. Given for an existing index, it replaces
                the index's setting (its vectors are re-derived at the next write).

        Raises:
            EncoderMismatch: the existing index was built with another encoder.
        """
        path = Path(path) if path else default_index_path()
        recover_swap(path)
        if vector_index is not None:
            VectorIndex.kind_for(0, vector_index)  # validates
        if index_exists(path):
            if not exist_ok:
                raise BadInput(f"an index already exists at {path}")
            idx = cls.open(path, readonly=False)
            if not _same_encoder(encoder, idx.manifest.encoder):
                idx.close()
                raise EncoderMismatch(
                    f"index {path} was built with encoder {idx.manifest.encoder!r}, not "
                    f"{encoder!r}; use --rebuild (Index.rebuild) to switch encoders")
            if vector_index is not None:
                idx.set_vector_index(vector_index)
            return idx
        from .encoders import get_encoder

        enc = get_encoder(encoder)
        chunking = chunking or ChunkSettings(max_tokens=min(256, enc.max_tokens))
        if chunking.max_tokens > enc.max_tokens:
            raise BadInput(f"chunk size {chunking.max_tokens} exceeds the encoder's "
                           f"{enc.max_tokens} tokens")
        path.mkdir(parents=True, exist_ok=True)
        store = MetaStore(path / DB_FILE)
        manifest = Manifest(encoder=enc.id, dim=enc.dim,
                            chunking={"max_tokens": chunking.max_tokens,
                                      "overlap": chunking.overlap,
                                      "tokenizer": enc.model_dir.name},
                            searchkit_version=__version__,
                            vector_index=vector_index or "auto")
        with store.db.conn:
            for k, v in manifest.to_dict().items():
                store.set_meta(k, v)
            store.set_meta("generation", 0)
            store.set_meta("created_at", time.time())
        idx = cls(path, store, manifest, readonly=False)
        idx._encoder = enc
        idx._write_manifest_file()
        return idx

    @classmethod
    def open(cls, path: str | Path | None = None, readonly: bool = True,
             encoder: str | None = None) -> "Index":
        """Open an existing index. ``encoder``, when given, must match the manifest's.

        Raises:
            IndexNotFound: nothing is indexed at ``path``.
            EncoderMismatch: ``encoder`` differs from the one the index was built with.
        """
        path = Path(path) if path else default_index_path()
        recover_swap(path)
        if not (path / DB_FILE).exists():
            raise IndexNotFound(f"no index at {path} (create one with: search index PATH "
                                f"--index {path})")
        store = MetaStore(path / DB_FILE, readonly=readonly)
        try:
            manifest = Manifest.from_dict({k: store.get_meta(k) for k in
                                           Manifest.__dataclass_fields__
                                           if store.get_meta(k) is not None})
        except Exception as e:  # a database that is not ours
            store.close()
            raise IndexNotFound(f"{path} does not hold a searchkit index ({e})") from e
        if encoder and not _same_encoder(encoder, manifest.encoder):
            store.close()
            raise EncoderMismatch(
                f"index {path} was built with encoder {manifest.encoder!r} "
                f"(dim {manifest.dim}); it cannot be used with {encoder!r}")
        return cls(path, store, manifest, readonly)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def chunk_settings(self) -> ChunkSettings:
        c = self.manifest.chunking
        return ChunkSettings(max_tokens=c.get("max_tokens", 256), overlap=c.get("overlap", 32))

    @property
    def encoder(self):
        """The index's encoder, checked against the manifest."""
        if self._encoder is None:
            from .encoders import get_encoder

            enc = get_encoder(self.manifest.encoder)
            if enc.dim != self.manifest.dim:
                raise EncoderMismatch(
                    f"index {self.path} holds {self.manifest.dim}-d vectors from "
                    f"{self.manifest.encoder!r}, but that encoder now gives {enc.dim}-d")
            self._encoder = enc
        return self._encoder

    def set_vector_index(self, kind: str) -> None:
        """Switch the FAISS index kind (``auto``, ``flat``, ``hnsw``); the vectors are
        re-derived from SQLite at the end of the next write."""
        self._writable()
        VectorIndex.kind_for(0, kind)
        if kind == self.manifest.vector_index:
            return
        with self.store.db.conn:
            self.store.set_meta("vector_index", kind)
        self.manifest.vector_index = kind
        self._write_manifest_file()

    def _write_manifest_file(self) -> None:
        data = {**self.manifest.to_dict(), "generation": self.store.generation()}
        tmp = self.path / (MANIFEST_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.path / MANIFEST_FILE)

    def _writable(self) -> None:
        if self.readonly:
            raise SearchkitError(f"index {self.path} was opened read-only")

    # -- writing -----------------------------------------------------------------------
    def add_paths(self, paths: Sequence[str | Path], include: Sequence[str] = (),
                  exclude: Sequence[str] = (), dry_run: bool = False,
                  progress: Progress | None = None,
                  max_bytes: int | None = None) -> IndexReport:
        """Sync the files under ``paths`` into the index: new and changed files (by content
        hash) are (re-)indexed, moved files keep their document and vectors, files gone from
        disk are removed, and only chunk texts the index has never embedded with its encoder
        are sent to the encoder. Documents indexed from other paths are left alone.

        Files that cannot be indexed (binary, empty, too large, broken PDF, unreadable,
        vanished ...) are skipped and listed in the report with their reason; an indexed
        file that now fails to read keeps its previous entry, and so do the files under a
        folder that cannot be listed.

        Args:
            paths: files and folders to sync.
            include, exclude: glob filters on file names / paths relative to their root.
            dry_run: plan only (the report's counts are what a real run would do).
            progress: ``progress(phase, advance, total)`` callback.
            max_bytes: skip files larger than this; default ``SEARCHKIT_MAX_FILE_MB``
                or 50 MB.

        Raises:
            BadInput: a path does not exist.
            IndexLocked: another process is writing the index.
        """
        if not dry_run:
            self._writable()
        roots = [Path(os.path.abspath(p)) for p in paths]
        for given, root in zip(paths, roots):
            if not root.exists():
                raise BadInput(f"path not found: {given}")
        max_bytes = max_file_bytes() if max_bytes is None else max_bytes
        if dry_run:
            return self._sync(roots, include, exclude, True, progress, max_bytes)
        lock = WriteLock(self.path).acquire()
        try:
            return self._sync(roots, include, exclude, False, progress, max_bytes)
        except BaseException:
            self._vectors = None  # may hold removals of a rolled-back transaction
            raise
        finally:
            lock.release()

    def _sync(self, roots, include, exclude, dry_run, progress, max_bytes) -> IndexReport:
        from .readers import read_bytes
        from .walk import walk

        t0 = time.perf_counter()
        report = IndexReport(dry_run=dry_run)
        existing = self._docs_under(roots)
        by_path = {d["path"]: d for d in existing}
        seen: set[str] = set()
        blind: list[str] = []  # folders that could not be listed: their files are not gone
        renames: list[tuple[dict, str, dict]] = []  # (old doc, new path, stat row)
        fresh: list[tuple[Path, bytes, str, Any]] = []  # (path, data, hash, found)
        for found in walk(roots, include, exclude, max_bytes):
            key = str(found.path)
            seen.add(key)
            if found.skip:
                report.skipped.append(Skipped(_printable_path(key), found.skip))
                if found.skip.startswith("unreadable folder"):
                    blind.append(key.rstrip(os.sep) + os.sep)
                continue
            old = by_path.get(key)
            if old and old["size"] == found.size and old["mtime"] == found.mtime:
                report.unchanged.append(key)
                continue
            try:
                data = found.path.read_bytes()
            except FileNotFoundError:
                report.skipped.append(Skipped(key, "file vanished"))
                continue
            except OSError as e:
                report.skipped.append(Skipped(key, f"unreadable ({e.strerror or e})"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if old and old["content_hash"] == digest:
                report.unchanged.append(key)
                if not dry_run:
                    self.store.db["documents"].update(old["id"], {"mtime": found.mtime})
                continue
            fresh.append((found.path, data, digest, found))
        # A file whose content equals that of an indexed file now gone from disk was moved.
        gone = {p: d for p, d in by_path.items() if p not in seen and not os.path.exists(p)
                and not any(p.startswith(b) for b in blind)}
        gone_by_hash: dict[str, list[dict]] = {}
        for d in gone.values():
            gone_by_hash.setdefault(d["content_hash"], []).append(d)
        from collections import deque

        to_read: deque = deque()
        for path, data, digest, found in fresh:
            key = str(path)
            if key not in by_path and gone_by_hash.get(digest):
                old = gone_by_hash[digest].pop()
                del gone[old["path"]]
                renames.append((old, key, {"size": found.size, "mtime": found.mtime}))
                report.renamed.append((old["path"], key))
                continue
            to_read.append((path, data, digest, found))

        def prepared() -> Iterable[_Pending]:
            """Read and chunk each new or changed file (in a reader thread on a real run)."""
            while to_read:
                path, data, digest, found = to_read.popleft()  # its bytes freed as we go
                key = str(path)
                try:
                    doc = read_bytes(path, data)
                    p = self._prepare(key, doc, {"size": found.size, "mtime": found.mtime,
                                                 "content_hash": digest})
                except ReadError as e:
                    report.skipped.append(Skipped(key, str(e)))
                    continue
                except SearchkitError:
                    raise  # e.g. an encoder mismatch: not this file's fault
                except Exception as e:  # a reader bug must not abort the run
                    report.skipped.append(
                        Skipped(key, f"could not read ({type(e).__name__}: {e})"))
                    continue
                old = by_path.get(key)
                if not p.chunks:
                    report.skipped.append(Skipped(key, "no text"))
                    continue
                p.replaces = old["id"] if old else None
                p.kind = "changed" if old else "new"
                (report.changed if old else report.new).append(key)
                yield p

        report.deleted = sorted(gone)
        self.encoder.tokenizer  # noqa: B018 (loaded here, not raced for by the reader thread)
        if dry_run:
            pending = list(prepared())
            todo = {c["text_hash"] for p in pending for c in p.chunks}
            report.chunks_embedded = len(todo - self.store.cached_hashes(self.manifest.encoder,
                                                                          todo))
            report.chunks_added = sum(len(p.chunks) for p in pending)
            removed = [d["id"] for d in gone.values()] + [p.replaces for p in pending
                                                          if p.replaces]
            report.chunks_removed = sum(len(self.store.chunk_ids_of(i)) for i in removed)
            report.seconds = time.perf_counter() - t0
            return report
        vec = self._load_vectors()
        self._apply_renames(renames)
        with _Prefetch(prepared()) as stream:
            self._write_pending(stream, report, vec, progress)
        if gone:
            with self.store.db.conn:
                for d in gone.values():
                    ids = self.store.delete_document(d["id"])
                    report.chunks_removed += len(ids)
                    vec_remove(vec, ids)
                self.store.bump_generation()
        self._finish_write(vec)
        report.seconds = time.perf_counter() - t0
        return report

    def add_texts(self, texts: Sequence[str], metadata: Sequence[dict] | None = None,
                  progress: Progress | None = None) -> list[int]:
        """Index raw texts. Each becomes a document whose key is ``metadata["path"]`` or
        ``metadata["id"]`` when given (re-adding the same key replaces it), else a hash of
        the text (re-adding the same text changes nothing). Returns the document ids."""
        self._writable()
        if metadata is not None and len(metadata) != len(texts):
            raise BadInput("texts and metadata differ in length")
        lock = WriteLock(self.path).acquire()
        try:
            report = IndexReport()
            pending, doc_keys = [], []
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise BadInput(f"text {i} is not a string")
                meta = dict(metadata[i]) if metadata else {}
                key = str(meta.pop("path", None) or meta.pop("id", None)
                          or f"text:{text_hash(text)[:16]}")
                doc_keys.append(key)
                digest = hashlib.sha256(text.encode()).hexdigest()
                old = self.store.document_by_path(key)
                if old and old["content_hash"] == digest:
                    continue
                from .readers import Extracted

                p = self._prepare(key, Extracted(text=text, title=meta.pop("title", None),
                                                 format="text"),
                                  {"size": len(text.encode()), "mtime": time.time(),
                                   "content_hash": digest}, meta)
                p.replaces = old["id"] if old else None
                if p.chunks or old:
                    pending.append(p)
            vec = self._load_vectors()
            self._write_pending(pending, report, vec, progress)
            self._finish_write(vec)
            ids = {d["path"]: d["id"] for d in self.store.documents()}
            return [ids.get(k, -1) for k in doc_keys]
        finally:
            lock.release()

    def remove(self, paths: Iterable[str]) -> int:
        """Remove documents by their stored path/key. Returns the number removed."""
        self._writable()
        lock = WriteLock(self.path).acquire()
        try:
            vec = self._load_vectors()
            n = 0
            with self.store.db.conn:
                for p in paths:
                    d = self.store.document_by_path(str(p))
                    if d:
                        vec_remove(vec, self.store.delete_document(d["id"]))
                        n += 1
                if n:
                    self.store.bump_generation()
            self._finish_write(vec)
            return n
        finally:
            lock.release()

    def import_embeddings(self, other: str | Path) -> int:
        """Copy the embedding cache of the index at ``other`` (every encoder's vectors) into
        this one, so that texts embedded there are not embedded again here. Vectors that no
        chunk uses are dropped again at the end of the next write. Returns rows copied."""
        self._writable()
        db = Path(other) / DB_FILE
        if not db.exists():
            return 0
        conn = self.store.db.conn
        conn.execute("ATTACH DATABASE ? AS other", [str(db)])
        try:
            with conn:
                cur = conn.execute("INSERT OR IGNORE INTO embeddings "
                                   "SELECT encoder, text_hash, vector FROM other.embeddings")
                return cur.rowcount
        finally:
            conn.execute("DETACH DATABASE other")

    def _docs_under(self, roots: Sequence[Path]) -> list[dict]:
        out: dict[int, dict] = {}
        for r in roots:
            r = str(r)
            for d in self.store.documents("path = ? OR path LIKE ? ESCAPE '\\'",
                                          [r, _like_prefix(r.rstrip(os.sep) + os.sep)]):
                out[d["id"]] = d
        return list(out.values())

    def _prepare(self, key: str, doc, stat: dict, metadata: dict | None = None) -> _Pending:
        from .chunking import chunk_text
        from .readers import heading_path

        spans = chunk_text(doc.text, self.encoder.tokenizer, self.chunk_settings, doc.pages)
        chunks = []
        for i, s in enumerate(spans):
            t = doc.text[s.start:s.end]
            chunks.append({"ord": i, "text": t, "text_hash": text_hash(t),
                           "start_char": s.start, "end_char": s.end,
                           "start_line": s.start_line, "end_line": s.end_line,
                           "page": s.page, "n_tokens": s.n_tokens,
                           "heading": heading_path(doc.headings, s.start) if doc.headings
                           else None})
        row = {"path": key, "title": doc.title, "format": doc.format, **stat,
               "n_chars": len(doc.text), "n_chunks": len(chunks),
               "metadata": json.dumps(metadata) if metadata else None}
        return _Pending(key, row, chunks)

    def _apply_renames(self, renames) -> None:
        if not renames:
            return
        with self.store.db.conn:
            for old, new_path, stat in renames:
                self.store.db["documents"].update(old["id"], {"path": new_path, **stat})
            self.store.bump_generation()

    def _write_pending(self, pending: Iterable[_Pending], report: IndexReport,
                       vec: VectorIndex, progress: Progress | None) -> None:
        """Embed what is new and write documents in commits of about COMMIT_CHUNKS chunks;
        each commit holds whole documents with their vectors, so a kill leaves the index at
        a commit boundary.

        A pipeline: ``pending`` may be a stream (files read and chunked by a reader thread,
        see :class:`_Prefetch`), and the encoder embeds the next group in a worker thread
        while this one commits the previous (onnxruntime and tokenizers release the GIL).
        The progress total grows as the stream is read when ``pending`` is not a list.
        """
        enc = self.encoder
        encoder_id = self.manifest.encoder
        planned: set[str] = set()  # hashes cached or already sent to the encoder
        total = None
        if isinstance(pending, list):
            all_hashes = {c["text_hash"] for p in pending for c in p.chunks}
            planned = self.store.cached_hashes(encoder_id, all_hashes)
            if progress:
                progress("embed", 0, len(all_hashes - planned))
        else:
            total = 0
        step = (lambda n: progress("embed", n, None)) if progress else None
        prev = None  # (group, todo, _Encoding | None): embedded, not yet committed
        job = None
        groups = _groups(pending, commit_chunks())
        try:
            while True:
                try:
                    group = next(groups, None)
                except Exception:  # the reader failed: keep what is embedded, then stop
                    if prev:
                        vectors = prev[2].result() if prev[2] else None
                        job = None
                        self._commit_group(prev[0], prev[1], vectors, encoder_id, report,
                                           vec)
                        prev = None
                    raise
                if group is None:
                    break
                todo = self._todo(group, encoder_id, planned)
                if progress and total is not None and todo:
                    total += len(todo)
                    progress("embed", 0, total)
                vectors = prev[2].result() if prev and prev[2] else None  # one at a time
                job = _Encoding(enc, list(todo.values()), step) if todo else None
                if prev:  # committed while the encoder works on ``group``
                    self._commit_group(prev[0], prev[1], vectors, encoder_id, report, vec)
                prev = (group, todo, job)
            if prev:
                vectors = prev[2].result() if prev[2] else None
                self._commit_group(prev[0], prev[1], vectors, encoder_id, report, vec)
            job = None
        finally:
            if job is not None:
                job.cancel()

    def _todo(self, group: list[_Pending], encoder_id: str, planned: set[str]) -> dict:
        """hash -> text of the group's chunk texts that are neither cached nor planned."""
        todo: dict[str, str] = {}
        for p in group:
            for c in p.chunks:
                if c["text_hash"] not in planned:
                    todo[c["text_hash"]] = c["text"]
        if todo:
            for h in self.store.cached_hashes(encoder_id, todo):
                del todo[h]
        planned.update(todo)
        return todo

    def _commit_group(self, group, todo, vectors, encoder_id, report, vec) -> None:
        with self.store.db.conn:
            if todo:
                self.store.put_vectors(encoder_id, list(todo), vectors)
            new_ids, new_hashes = [], []
            now = time.time()
            for p in group:
                row = {**p.row, "indexed_at": now}
                row.pop("n_chunks", None)
                if p.replaces:
                    old_ids = self.store.chunk_ids_of(p.replaces)
                    self.store.db.execute("DELETE FROM chunks WHERE doc_id = ?", [p.replaces])
                    self.store.db["documents"].update(p.replaces, row)
                    report.chunks_removed += len(old_ids)
                    vec_remove(vec, old_ids)
                    doc_id = p.replaces
                else:
                    doc_id = self.store.insert_document(row)
                ids = self.store.insert_chunks([{**c, "doc_id": doc_id} for c in p.chunks])
                new_ids += ids
                new_hashes += [c["text_hash"] for c in p.chunks]
            self.store.bump_generation()
        report.chunks_added += len(new_ids)
        report.chunks_embedded += len(todo)
        if new_ids:
            lookup = dict(zip(todo, vectors)) if todo else {}
            missing = [h for h in new_hashes if h not in lookup]
            if missing:
                lookup.update(self._cached_vectors(encoder_id, missing))
            vec.add(np.asarray(new_ids, dtype=np.int64),
                    np.stack([lookup[h] for h in new_hashes]))

    def _cached_vectors(self, encoder_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        out = {}
        uniq = list(set(hashes))
        for s in range(0, len(uniq), 900):
            part = uniq[s:s + 900]
            q = ",".join("?" * len(part))
            for h, blob in self.store.db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE encoder = ? AND "
                    f"text_hash IN ({q})", [encoder_id, *part]):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def _finish_write(self, vec: VectorIndex) -> None:
        with self.store.db.conn:
            self.store.prune_embeddings(self.manifest.encoder)
            self.store.set_meta("last_sync", time.time())
        gen = self.store.generation()
        vec = self._maybe_switch_kind(vec)
        _remove_stale_temp_files(self.path)
        vec.save(self.path / VECTORS_FILE, gen, self.manifest.encoder)
        self._vectors, self._vectors_gen = vec, gen
        self._write_manifest_file()

    def _maybe_switch_kind(self, vec: VectorIndex) -> VectorIndex:
        """The kind the setting wants at this size; an HNSW index heavy with tombstones is
        rebuilt as well."""
        want = VectorIndex.kind_for(len(vec), self.manifest.vector_index)
        if want == vec.kind and not vec.needs_compaction():
            return vec
        return self._build_vectors(kind=want)

    # -- vectors -----------------------------------------------------------------------
    def _load_vectors(self) -> VectorIndex:
        """The FAISS index for the current generation: from disk when it matches, else
        rebuilt from SQLite (after a crash, a corrupt file, or a write by another process)."""
        gen = self.store.generation()
        if self._vectors is not None and self._vectors_gen == gen:
            return self._vectors
        vec = VectorIndex.load(self.path / VECTORS_FILE, gen, self.manifest.encoder,
                               self.manifest.dim)
        if vec is None:
            if (self.path / VECTORS_FILE).exists() or self.store.count("chunks"):
                log.warning("searchkit: vector file of %s is missing, stale or corrupt; "
                            "rebuilding it from the database", self.path)
            vec = self._build_vectors()
            if not self.readonly:
                vec.save(self.path / VECTORS_FILE, gen, self.manifest.encoder)
        self._vectors, self._vectors_gen = vec, gen
        return vec

    def _build_vectors(self, kind: str | None = None) -> VectorIndex:
        n = self.store.count("chunks")
        kind = kind or VectorIndex.kind_for(n, self.manifest.vector_index)
        vec = VectorIndex(self.manifest.dim, kind)
        with self.store.db.conn:  # one read transaction: a consistent snapshot
            for ids, vecs in self.store.iter_chunk_vectors(self.manifest.encoder,
                                                            self.manifest.dim):
                vec.add(ids, vecs)
        return vec

    # -- reading -----------------------------------------------------------------------
    def retriever(self, method: str, fusion=None, by_document: bool = False):
        """The retriever behind search ``method`` (``dense``, ``tfidf``, ``bm25``, ``glove``,
        ``hybrid``), over this index's chunks. Static baselines are loaded from
        ``baselines/<name>/``, or built (and saved) when missing or older than the index's
        current generation; see :mod:`searchkit.retrieval.methods`.

        Args:
            fusion: for ``hybrid``, a :class:`~searchkit.retrieval.hybrid.Fusion`.
            by_document: for ``hybrid``, fuse document ranks (one chunk per document back).
        """
        from .retrieval.methods import get_method

        return get_method(self, method, fusion, by_document)

    def search(self, query: str, k: int = 10, method: str | None = None,
               group: bool = True, fuse: Sequence[str] | str | None = None,
               weights: Sequence[float] | str | None = None, rrf_k: float | None = None,
               diverse: bool = False, highlight: bool = False, **filters) -> list[Hit]:
        """Rank passages for ``query``.

        Args:
            query: the question or phrase.
            k: how many hits.
            method: ``dense``, ``tfidf``, ``bm25``, ``glove`` or ``hybrid``; default
                :data:`searchkit.query.DEFAULT_METHOD`.
            group: one hit per document (its best chunk) instead of raw chunks.
            fuse, weights, rrf_k: for ``hybrid``: the methods fused (default dense and
                bm25), one weight each (default 1) and the RRF constant (default 60).
            diverse: re-rank by maximal marginal relevance (less redundant hits).
            highlight: set each hit's ``highlights`` to its best-matching sentence spans.
            **filters: ``path`` (glob or list), ``ext`` (str or list), ``modified_after``
                (datetime, date, ISO string), ``metadata`` (dict of key: value), applied
                before the search (see :mod:`searchkit.filters`).

        Raises:
            BadInput: empty or unusable query, k < 1, unknown method or filter.
        """
        from .query import search

        query = _check_query(query)
        if k < 1:
            raise BadInput("k must be at least 1")
        fusion = None
        if fuse is not None or weights is not None or rrf_k is not None:
            from .retrieval.hybrid import Fusion

            fusion = Fusion.parse(fuse, weights, rrf_k)
        allowed = None
        if filters:
            from .filters import allowed_chunk_ids

            allowed = allowed_chunk_ids(self, **filters)
        return search(self, query, k=k, method=method, allowed=allowed, group=group,
                      fusion=fusion, diverse=diverse, highlight=highlight)

    def ask(self, question: str, **filters) -> "Answer":
        """Answer ``question`` with a sentence of the corpus, its citation, passage,
        confidence and supporting passages, or ``answered=False`` when the evidence is
        below the calibrated threshold (see :mod:`searchkit.ask`). Filters as in
        :meth:`search`.

        Raises:
            BadInput: empty or unusable question, unknown filter.
        """
        from .ask import ask
        from .filters import allowed_chunk_ids

        question = _check_query(question)
        return ask(self, question, allowed=allowed_chunk_ids(self, **filters))

    def _hits(self, ranked: list[tuple[int, float]], method: str) -> list[Hit]:
        rows = self.store.chunks_by_ids([i for i, _ in ranked])
        hits = []
        for cid, score in ranked:
            r = rows.get(cid)
            if r is None:  # removed since the vector index was loaded
                continue
            hits.append(Hit(rank=len(hits) + 1, score=round(float(score), 6), chunk_id=cid,
                            doc_id=r["doc_id"], path=display_path(r["path"]),
                            title=r["title"], text=r["text"], start_char=r["start_char"],
                            end_char=r["end_char"], start_line=r["start_line"],
                            end_line=r["end_line"], page=r["page"], heading=r["heading"],
                            method=method))
        return hits

    def stats(self) -> dict:
        """Counts, encoder, size on disk (everything under the index folder), last sync
        (Unix time, None before the first), and the baseline retrievers saved under
        ``<index>/baselines/<name>`` (name -> their ``retriever.json``, or {} without one)."""
        return {
            "path": str(self.path), "documents": self.store.count("documents"),
            "chunks": self.store.count("chunks"), "encoder": self.manifest.encoder,
            "dim": self.manifest.dim, "chunking": self.manifest.chunking,
            "bytes_on_disk": _tree_size(self.path), "last_sync": self.store.get_meta("last_sync"),
            "generation": self.store.generation(),
            "baselines": _baselines(self.path / "baselines"),
            "format_version": self.manifest.format_version,
            "searchkit_version": self.manifest.searchkit_version,
        }

    def documents(self) -> list[dict]:
        return self.store.documents()

    def senses(self, word: str, max: int = 400, senses: int | str = "auto", seed: int = 0,
               examples: int = 3):
        """The senses of ``word`` (or a phrase) in the indexed text: each use's contextual
        token vector, clustered. Reads the stored chunk text (no file is re-read); a use in
        the overlap of two chunks counts once. See :func:`searchkit.senses_report.word_senses`.

        Args:
            max: the most uses clustered (a reproducible sample of them beyond that).
            senses: ``"auto"`` or the number of senses.

        Returns:
            a :class:`searchkit.senses_report.Senses`.

        Raises:
            BadInput: the word is empty or does not occur, or bad arguments.
        """
        from .senses import _pattern
        from .senses_report import document_text, word_senses

        _pattern(word)  # empty -> BadInput
        # LIKE (case-insensitive for ASCII) narrows the documents read; the regex decides.
        longest = sorted(word.split(), key=len)[-1]
        where, params = "", []
        if longest.isascii():
            where = "WHERE c.doc_id IN (SELECT doc_id FROM chunks WHERE text LIKE ? ESCAPE '\\')"
            params = ["%" + _like_prefix(longest)[:-1] + "%"]
        docs: dict[int, tuple[str, list]] = {}
        for doc_id, path, text, start, line in self.store.db.execute(
                "SELECT c.doc_id, d.path, c.text, c.start_char, c.start_line FROM chunks c "
                f"JOIN documents d ON d.id = c.doc_id {where} ORDER BY c.doc_id, c.start_char",
                params):
            docs.setdefault(doc_id, (display_path(path), []))[1].append((text, start, line))
        documents = [(path, document_text(chunks)) for path, chunks in docs.values()]
        return word_senses(word, documents, self.encoder, max_uses=max, senses=senses,
                           seed=seed, examples=examples)


def _remove_stale_temp_files(path: Path) -> None:
    """Temporary vector files (``*.tmp<pid>``) left by a killed process."""
    for f in path.glob(VECTORS_FILE + "*.tmp*"):
        pid = f.name.rsplit(".tmp", 1)[-1]
        try:
            if pid.isdigit() and int(pid) != os.getpid():
                os.kill(int(pid), 0)  # raises when no such process
            continue
        except ProcessLookupError:
            pass
        except OSError:
            continue
        f.unlink(missing_ok=True)


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass  # removed while counting
    return total


def _baselines(folder: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if not folder.is_dir():
        return out
    for d in sorted(folder.iterdir()):
        if not d.is_dir() or d.name.startswith("."):  # .name.tmp-* while being written
            continue
        try:
            meta = json.loads((d / "retriever.json").read_text())
        except (OSError, ValueError):
            meta = {}
        out[d.name] = meta if isinstance(meta, dict) else {}
    return out


def index_exists(path: Path) -> bool:
    """Whether ``path`` holds an index. A database left without a manifest by a process
    killed while creating the index does not count (creating it again completes it); a
    database that is not ours does (opening it then says so)."""
    import sqlite3

    db = Path(path) / DB_FILE
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "manifest" in tables and conn.execute(
                    "SELECT 1 FROM manifest WHERE key = 'encoder'").fetchone():
                return True
            return bool(tables - {"_migrations", "manifest", "documents", "chunks",
                                  "embeddings", "sqlite_sequence"}) or (
                "documents" in tables
                and conn.execute("SELECT count(*) FROM documents").fetchone()[0] > 0)
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # unreadable or not SQLite: let open() report it


def swap_directories(a: Path, b: Path) -> None:
    """Exchange two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); where
    that is unavailable, by two renames that :func:`recover_swap` completes after a crash."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)),
                     rename_exchange) == 0:
            return
    # Fallback: b -> b.swap, a -> b, b.swap -> a. recover_swap(b) finishes a broken swap.
    parked = b.with_name(b.name + ".swap")
    os.replace(b, parked)
    os.replace(a, b)
    os.replace(parked, a)


def recover_swap(path: Path) -> None:
    """Finish a directory swap that a crash interrupted between its renames."""
    parked = path.with_name(path.name + ".swap")
    if parked.exists() and not path.exists():
        rebuilt = path.with_name(path.name + ".rebuild")
        if rebuilt.exists():
            os.replace(rebuilt, path)  # the new index was complete: it was being moved in
        else:
            os.replace(parked, path)


def vec_remove(vec: VectorIndex, ids: list[int]) -> None:
    if not ids:
        return
    vec.remove(ids)  # HNSW keeps tombstones (see searchkit.store.vectors)


def _printable_path(path: str) -> str:
    """``path`` with undecodable bytes of its name shown as U+FFFD (safe to print/store)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _like_prefix(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _check_query(query) -> str:
    if not isinstance(query, str) or not query.strip():
        raise BadInput("empty query")
    if len(query) > 10_000:
        raise BadInput(f"query too long ({len(query)} characters; the limit is 10000)")
    cleaned = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in query)
    if not cleaned.strip():
        raise BadInput("query has no printable characters")
    return cleaned


def display_path(path: str) -> str:
    """A stored path relative to the current directory when it lies below it."""
    if path.startswith("text:") or not os.path.isabs(path):
        return path
    try:
        return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path
    except ValueError:
        return path


def _same_encoder(name: str, recorded: str) -> bool:
    from .encoders import same_encoder

    return same_encoder(name, recorded)
