"""The write path of :class:`searchkit.index.Index`: sync folders, add texts, remove
documents, commit chunks and vectors. An :class:`IndexWriter` is the index's ``writer``
helper: the facade's write methods are its methods, and it reaches the index's state
through the index's public seams (``store``, ``encoder``, ``vectors``, ``save_vectors`` ...)."""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import DB_FILE, VECTORS_FILE, max_file_bytes
from .errors import BadInput, IndexDamaged, ReadError, SearchkitError
from .pipeline import (Progress, EmbeddedJob, EncodingJob, document_groups, Pending, Prefetch,
                       commit_chunks, text_hash)
from .prepare import real_path_of
from .store.lock import WriteLock
from .store.vectors import VectorIndex
from .types import IndexReport, Skipped

if TYPE_CHECKING:
    from .index import Index
    from .store.meta import MetaStore


class IndexWriter:
    """The write path of one :class:`~searchkit.index.Index` (its ``writer``): the index
    hands its write methods to this object and keeps its state (store, manifest, vectors);
    this one plans and applies syncs, adds and removes, and commits chunks and vectors."""

    def __init__(self, index: Index):
        self.index = index
        self.path: Path = index.path
        self.store: MetaStore = index.store

    # -- writing -----------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's write lock for the block: one writer per index, across
        processes; readers go on reading meanwhile.

        Raises:
            IndexLocked: another process is writing the index.
        """
        self.index.check_writable()
        with WriteLock(self.path):
            yield

    def add_paths(self, paths: Sequence[str | Path], include: Sequence[str] = (),
                  exclude: Sequence[str] = (), dry_run: bool = False,
                  progress: Progress | None = None,
                  max_bytes: int | None = None, follow_outside: bool = False,
                  ignore: bool = True, pipeline=None) -> IndexReport:
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
                or 50 MB. Every read stops there, whatever the file's size claims.
            follow_outside: index files that symlinks lead to outside the given folders
                (by default they are skipped and reported: anyone who can write into an
                indexed folder could otherwise pull any file you can read into results).
            ignore: honour ``.gitignore`` and ``.searchignore`` files (git's syntax).
            pipeline: read, chunk and embed elsewhere instead of in this process's
                threads, e.g. :class:`searchkit.engines.ray_ingest.RayPipeline`; the
                sync plan, lock and commits stay here.

        Only regular files are read: FIFOs, sockets and devices are skipped with their
        reason, and so are the index's own folder and any other searchkit index.

        Raises:
            BadInput: a path does not exist.
            IndexLocked: another process is writing the index.
        """
        if not dry_run:
            self.index.check_writable()
            self.index.check_revision()
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        for p in paths:
            if not isinstance(p, (str, os.PathLike)):
                raise BadInput(f"a path must be a string or a Path, not {p!r}")
        roots = [Path(os.path.abspath(p)) for p in paths]
        for given, root in zip(paths, roots):
            if not root.exists():
                raise BadInput(f"path not found: {given}")
        max_bytes = max_file_bytes() if max_bytes is None else max_bytes
        opts = {"follow_outside": follow_outside, "ignore": ignore}
        if dry_run:
            with damaged_as_error(self.path):
                return self._sync(roots, include, exclude, True, progress, max_bytes, opts)
        with self.writing():
            try:
                with damaged_as_error(self.path):
                    report = self._sync(roots, include, exclude, False, progress, max_bytes,
                                        opts, pipeline=pipeline)
                    self._record_sources(roots)
                    return report
            except BaseException:
                self.index.forget_vectors()  # may hold removals of a rolled-back transaction
                raise

    def _record_sources(self, roots: Sequence[Path]) -> None:
        with self.store.transaction():
            self.store.record_sources([str(r) for r in roots], time.time())

    def _own_folders(self) -> list[Path]:
        """This index's folder and its rebuild twin: never indexed."""
        base = self.path.with_name(self.path.name.removesuffix(".rebuild"))
        return [self.path, base, base.with_name(base.name + ".rebuild")]

    def _sync(self, roots, include, exclude, dry_run, progress, max_bytes,
              opts: dict | None = None, pipeline=None) -> IndexReport:
        plan = self._plan_sync(roots, include, exclude, dry_run, max_bytes, opts or {})
        if dry_run:
            return self._count_sync(plan, max_bytes)
        return self._apply_sync(plan, progress, max_bytes, pipeline)

    def _plan_sync(self, roots, include, exclude, dry_run: bool, max_bytes: int,
                   opts: dict) -> SyncPlan:
        """Walk ``roots`` and compare what is found with what is indexed under them: which
        files are unchanged, skipped, moved (a file whose content equals that of an indexed
        file now gone from disk), gone, or to be read. Writes nothing but, on a real run,
        the new mtime of a file whose content did not change."""
        from . import fileio
        from .walk import walk

        t0 = time.perf_counter()
        report = IndexReport(dry_run=dry_run)
        by_path = {d["path"]: d for d in self._docs_under(roots)}
        seen: set[str] = set()
        blind: list[str] = []  # folders that could not be listed: their files are not gone
        # (path, data or None when it is large and read again later, hash, found)
        fresh: list[tuple[Path, bytes | None, str, Any]] = []
        for found in walk(roots, include, exclude, max_bytes,
                          follow_outside=opts.get("follow_outside", False),
                          ignore=opts.get("ignore", True), skip_dirs=self._own_folders()):
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
                data = fileio.read_limited(found.path, max_bytes)
            except ReadError as e:
                report.skipped.append(Skipped(key, str(e)))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if old and old["content_hash"] == digest:
                report.unchanged.append(key)
                if not dry_run:
                    self.store.update_document(old["id"], {"mtime": found.mtime})
                continue
            # keep small files' bytes; read large ones again when their turn comes, so
            # that a folder of big files is never in memory at once
            fresh.append((found.path, data if len(data) < KEEP_BYTES else None, digest,
                           found))
            del data
        plan = SyncPlan(report, by_path, t0=t0)
        plan.gone = {p: d for p, d in by_path.items() if p not in seen
                     and not os.path.exists(p) and not any(p.startswith(b) for b in blind)}
        gone_by_hash: dict[str, list[dict]] = {}
        for d in plan.gone.values():
            gone_by_hash.setdefault(d["content_hash"], []).append(d)
        for path, kept, digest, found in fresh:
            key = str(path)
            if key not in by_path and gone_by_hash.get(digest):
                old = gone_by_hash[digest].pop()
                del plan.gone[old["path"]]
                plan.renames.append((old, key, {"size": found.size, "mtime": found.mtime,
                                                "real_path": real_path_of(key)}))
                report.renamed.append((old["path"], key))
                continue
            plan.to_read.append((path, kept, digest, found))
        report.deleted = sorted(plan.gone)
        return plan

    def _prepared(self, plan: SyncPlan, max_bytes: int) -> Iterator[Pending]:
        """Read and chunk each new or changed file of ``plan`` (in a reader thread on a
        real run); a file that cannot be read is skipped with its reason."""
        report, to_read = plan.report, plan.to_read
        chunker = self.index.chunker
        while to_read:
            path, data, digest, found = to_read.popleft()  # its bytes freed as we go
            key = str(path)
            parts = chunker.read_file(path, data, digest, found.size, found.mtime, max_bytes)
            del data
            try:
                p = next(parts, None)
            except ReadError as e:
                report.skipped.append(Skipped(key, str(e)))
                continue
            except SearchkitError:
                raise  # e.g. an encoder mismatch: not this file's fault
            except MemoryError:
                report.skipped.append(Skipped(key, "too large to read in memory"))
                continue
            except Exception as e:  # a reader bug must not abort the run
                report.skipped.append(
                    Skipped(key, f"could not read ({type(e).__name__}: {e})"))
                continue
            old = plan.by_path.get(key)
            if p is None or not p.chunks:
                report.skipped.append(Skipped(key, "no text"))
                continue
            p.replaces = old["id"] if old else None
            p.kind = "changed" if old else "new"
            (report.changed if old else report.new).append(key)
            yield p
            try:
                yield from parts
            except (SearchkitError, MemoryError):
                raise
            except Exception as e:  # its committed parts stay, marked unfinished
                report.skipped.append(
                    Skipped(key, f"could not chunk ({type(e).__name__}: {e})"))

    def _count_sync(self, plan: SyncPlan, max_bytes: int) -> IndexReport:
        """A dry run's report: what applying ``plan`` would add, embed and remove."""
        report = plan.report
        self.index.encoder.tokenizer  # noqa: B018 (loaded here, as a real run does)
        pending = list(self._prepared(plan, max_bytes))
        todo = {c["text_hash"] for p in pending for c in p.chunks}
        report.chunks_embedded = len(todo - self.store.cached_hashes(self.index.vector_key, todo))
        report.chunks_added = sum(len(p.chunks) for p in pending)
        removed = [d["id"] for d in plan.gone.values()] + [p.replaces for p in pending
                                                           if p.replaces]
        report.chunks_removed = sum(len(self.store.chunk_ids_of(i)) for i in removed)
        report.seconds = time.perf_counter() - plan.t0
        return report

    def _apply_sync(self, plan: SyncPlan, progress, max_bytes: int, pipeline) -> IndexReport:
        """Carry ``plan`` out: renames, then new and changed files in commits, then the
        documents gone from disk; the vector file last."""
        report = plan.report
        self.index.encoder.tokenizer  # noqa: B018 (loaded here, not raced for by the reader thread)
        vec = self.index.vectors
        self._apply_renames(plan.renames)
        with (Prefetch(self._prepared(plan, max_bytes)) if pipeline is None
              # engine hook: see searchkit.engines
              else pipeline(self.index, plan.to_read, plan.by_path, report,
                            max_bytes=max_bytes)) as stream:
            self._write_pending(stream, report, vec, progress)
        if plan.gone:
            with self.store.transaction():
                for d in plan.gone.values():
                    ids = self.store.delete_document(d["id"])
                    report.chunks_removed += len(ids)
                    vec_remove(vec, ids)
                self.store.bump_generation()
        self._finish_write(vec)
        report.seconds = time.perf_counter() - plan.t0
        return report

    def add_texts(self, texts: Sequence[str], metadata: Sequence[dict] | None = None,
                  progress: Progress | None = None) -> list[int]:
        """Index raw texts. Each becomes a document whose key is ``metadata["path"]`` or
        ``metadata["id"]`` when given (re-adding the same key replaces it), else a hash of
        the text (re-adding the same text changes nothing). Returns the document ids."""
        self.index.check_writable()
        self.index.check_revision()
        if isinstance(texts, (str, bytes)) or not hasattr(texts, "__len__"):
            raise BadInput("texts must be a list of strings")
        if metadata is not None and (not hasattr(metadata, "__len__")
                                     or any(not isinstance(m, dict) for m in metadata)):
            raise BadInput("metadata must be a list of dicts, one per text")
        if metadata is not None and len(metadata) != len(texts):
            raise BadInput("texts and metadata differ in length")
        with self.writing():
            report = IndexReport()
            chunker = self.index.chunker
            pending: list[Pending] = []
            doc_keys: list[str] = []
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

                p = chunker.prepare(key, Extracted(text=text, title=meta.pop("title", None),
                                                   format="text"),
                                    {"size": len(text.encode()), "mtime": time.time(),
                                     "content_hash": digest}, meta)
                p.replaces = old["id"] if old else None
                pending = [q for q in pending if q.path != key]  # the same key twice: last wins
                if p.chunks or old:
                    pending.append(p)
            vec = self.index.vectors
            self._write_pending(pending, report, vec, progress)
            self._finish_write(vec)
            ids = {d["path"]: d["id"] for d in self.store.documents()}
            return [ids.get(k, -1) for k in doc_keys]

    def remove(self, paths: str | Path | Iterable[str | Path]) -> int:
        """Remove documents: each of ``paths`` is a stored path/key (a file, a text's
        key), or a folder (relative to the current directory, or absolute) whose documents
        all go, and which ``sources()`` no longer lists. Returns the number removed."""
        self.index.check_writable()
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        for p in paths:
            if not isinstance(p, (str, os.PathLike)) or not str(p):
                raise BadInput(f"a path must be a non-empty string or a Path, not {p!r}")
        with self.writing():
            vec = self.index.vectors
            n = 0
            with self.store.transaction():
                for p in paths:
                    d = self.store.document_by_path(str(p))
                    docs = [d] if d else self._docs_under([Path(os.path.abspath(p))])
                    for d in docs:
                        vec_remove(vec, self.store.delete_document(d["id"]))
                        n += 1
                    self.store.forget_source(os.path.abspath(p))
                if n:
                    self.store.bump_generation()
            self._finish_write(vec)
            return n

    def backfill_sentence_vectors(self, progress=None, batch_size: int = 32) -> int:
        """Store the highlight sentence vectors (searchkit.sentence_vectors) of every chunk
        that has none: an index written before they were stored, or by an encoder that did
        not make them. Runs the encoder over those chunks once (their chunk vectors are kept
        as they are); returns how many chunks got them. ``progress(n)`` after each batch."""
        self.index.check_writable()
        enc = self.index.encoder
        if not hasattr(enc, "embed_with_sentences"):
            return 0
        key = self.index.vector_key
        rows = self.store.texts_without_sentence_vectors(key)
        rows.sort(key=lambda r: len(r[1]), reverse=True)  # batches as the index makes them
        for start in range(0, len(rows), batch_size):
            part = rows[start:start + batch_size]
            _, blobs = enc.embed_with_sentences([t for _, t in part])
            with self.store.transaction():
                self.store.put_sentence_vectors(key, [h for h, _ in part], blobs)
            if progress:
                progress(len(part))
        if rows:
            self.index.save_sentence_matrix()
        return len(rows)

    def import_embeddings(self, other: str | Path) -> int:
        """Copy the embedding cache of the index at ``other`` (every encoder's vectors, and
        the highlight sentence vectors made with them) into this one, so that texts embedded there are not embedded again here. Vectors that no
        chunk uses are dropped again at the end of the next write. Returns rows copied."""
        self.index.check_writable()
        db = Path(other) / DB_FILE
        if not db.exists():
            return 0
        return self.store.import_embeddings(db)

    def _docs_under(self, roots: Sequence[Path]) -> list[dict]:
        out: dict[int, dict] = {}
        for root in roots:
            for d in self.store.documents_under(str(root)):
                out[d["id"]] = d
        return list(out.values())

    def _apply_renames(self, renames) -> None:
        if not renames:
            return
        with self.store.transaction():
            for old, new_path, stat in renames:
                self.store.update_document(old["id"], {"path": new_path, **stat})
            self.store.bump_generation()

    def _write_pending(self, pending: Iterable[Pending], report: IndexReport,
                       vec: VectorIndex, progress: Progress | None) -> None:
        """Embed what is new and write documents in commits of about ``commit_chunks()`` chunks;
        each commit holds whole documents with their vectors, so a kill leaves the index at
        a commit boundary.

        A pipeline: ``pending`` may be a stream (files read and chunked by a reader thread,
        see :class:`Prefetch`), and the encoder embeds the next group in a worker thread
        while this one commits the previous (onnxruntime and tokenizers release the GIL).
        The progress total grows as the stream is read when ``pending`` is not a list.
        """
        enc = self.index.encoder
        encoder_id = self.index.vector_key
        vectors: Any
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
        prev = None  # (group, todo, EncodingJob | None): embedded, not yet committed
        job = None
        groups = document_groups(pending, commit_chunks())
        try:
            while True:
                try:
                    group = next(groups, None)
                except Exception:  # the reader failed: keep what is embedded, then stop
                    if prev:
                        vectors = prev[2].embedded() if prev[2] else None
                        job = None
                        self._commit_group(prev[0], prev[1], vectors, encoder_id, report,
                                           vec)
                        prev = None
                    raise
                if group is None:
                    break
                todo = self.new_texts(group, encoder_id, planned)
                if progress and total is not None and todo:
                    total += len(todo)
                    progress("embed", 0, total)
                vectors = prev[2].embedded() if prev and prev[2] else None  # one at a time
                job = ((EmbeddedJob(group, list(todo), step)
                        if group[0].vectors is not None
                        else EncodingJob(enc, list(todo.values()), step)) if todo else None)
                if prev:  # committed while the encoder works on ``group``
                    self._commit_group(prev[0], prev[1], vectors, encoder_id, report, vec)
                prev = (group, todo, job)
            if prev:
                vectors = prev[2].embedded() if prev[2] else None
                self._commit_group(prev[0], prev[1], vectors, encoder_id, report, vec)
            job = None
        finally:
            if job is not None:
                job.cancel()

    def new_texts(self, group: list[Pending], encoder_id: str, planned: set[str]) -> dict:
        """hash -> text of the group's chunk texts that are neither cached nor planned (and
        now planned): what the encoder gets for a commit group."""
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

    def _commit_group(self, group, todo, embedded, encoder_id, report, vec) -> None:
        vectors: Any
        vectors, sentences = embedded if embedded is not None else (None, None)
        with self.store.transaction():
            if todo:
                self.store.put_vectors(encoder_id, list(todo), vectors, sentences)
            new_ids, new_hashes = [], []
            now = time.time()
            for p in group:
                row = {**p.row, "indexed_at": now}
                row.pop("n_chunks", None)
                if p.part:  # a later part of a long document: its row exists
                    doc_id = p.doc_ref["id"]
                    if p.last:
                        self.store.update_document(doc_id, row)
                    ids = self.store.insert_chunks([{**c, "doc_id": doc_id} for c in p.chunks])
                    new_ids += ids
                    new_hashes += [c["text_hash"] for c in p.chunks]
                    continue
                if not p.last:  # unfinished until its last part: the next sync redoes it
                    row.update(size=-1, content_hash="partial")
                if p.replaces:
                    old_ids = self.store.chunk_ids_of(p.replaces)
                    self.store.delete_chunks_of(p.replaces)
                    self.store.update_document(p.replaces, row)
                    report.chunks_removed += len(old_ids)
                    vec_remove(vec, old_ids)
                    doc_id = p.replaces
                else:
                    doc_id = self.store.insert_document(row)
                if p.doc_ref is not None:
                    p.doc_ref["id"] = doc_id
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
                lookup.update(self.store.vectors_of_hashes(encoder_id, missing))
            vec.add(np.asarray(new_ids, dtype=np.int64),
                    np.stack([lookup[h] for h in new_hashes]))

    def _finish_write(self, vec: VectorIndex) -> None:
        with self.store.transaction():
            self.store.prune_embeddings(self.index.vector_key)
            self.store.set_meta("last_sync", time.time())
        vec = self._maybe_switch_kind(vec)
        _remove_stale_temp_files(self.path)
        self.index.save_vectors(vec)
        self.index.save_sentence_matrix()
        self.index.write_manifest_file()

    def _maybe_switch_kind(self, vec: VectorIndex) -> VectorIndex:
        """The kind the setting wants at this size; an HNSW index heavy with tombstones is
        rebuilt as well."""
        want = VectorIndex.kind_for(len(vec), self.index.manifest.vector_index)
        if want == vec.kind and not vec.needs_compaction():
            return vec
        return self.index.build_vectors(kind=want)


#: Files read while walking keep their bytes until chunked when smaller than this.
KEEP_BYTES = 1 << 20


@dataclass
class SyncPlan:
    """What a sync will do, worked out before anything is written (``IndexWriter._plan_sync``)
    and then applied (``_apply_sync``) or counted (``_count_sync``, a dry run)."""

    report: IndexReport  #: unchanged, skipped, renamed and deleted files so far
    by_path: dict[str, dict]  #: the indexed documents under the synced paths, by path
    renames: list[tuple[dict, str, dict]] = field(default_factory=list)  #: (old doc, new path, stat)
    gone: dict[str, dict] = field(default_factory=dict)  #: documents whose file is gone
    #: new and changed files: (path, bytes or None when large and read again, hash, found)
    to_read: deque = field(default_factory=deque)
    t0: float = 0.0  #: when the sync started (perf_counter)


class damaged_as_error:
    """Turns SQLite's "database disk image is malformed" (and kin) into
    :class:`~searchkit.errors.IndexDamaged`, which says what to do."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        import sqlite3

        if typ is not None and issubclass(typ, sqlite3.DatabaseError) and not issubclass(
                typ, sqlite3.OperationalError | sqlite3.IntegrityError):
            raise IndexDamaged(damaged_message(self.path, e)) from e
        if typ is not None and issubclass(typ, sqlite3.OperationalError) and (
                "malformed" in str(e) or "not a database" in str(e)):
            raise IndexDamaged(damaged_message(self.path, e)) from e
        return False


def damaged_message(path: Path, e) -> str:
    return (f"the database of index {path} is damaged ({e}); rebuild it from your "
            f"documents: search index PATHS --index {path} --rebuild")


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


def vec_remove(vec: VectorIndex, ids: list[int]) -> None:
    if not ids:
        return
    vec.remove(ids)  # HNSW keeps tombstones (see searchkit.store.vectors)


def _printable_path(path: str) -> str:
    """``path`` with undecodable bytes of its name shown as U+FFFD (safe to print/store)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
