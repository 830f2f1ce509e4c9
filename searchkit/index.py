"""The Index facade: create/open an index directory, search it; the write path (sync,
add, remove) is in :mod:`searchkit.writer`."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from . import __version__
from .config import (DB_FILE, MANIFEST_FILE, SENTENCES_FILE, VECTORS_FILE,  # noqa: F401
                     ChunkSettings,
                     Manifest, default_index_path, max_file_bytes)
from .cache import IndexCache
from .errors import BadInput, BadUsage, EncoderMismatch, IndexDamaged, IndexNotFound, SearchkitError
from .pipeline import EncodingJob, text_hash  # noqa: F401  (re-exported for tests, benchmarks)
from .prepare import Chunker
from .store.meta import MetaStore
from .store.protocol import Closing
from .store.sentences import SentenceMatrix
from .store.vectors import VectorIndex
from .query import check_query, display_path, hits_from_rows
from .rebuild import recover_swap, swap_directories  # noqa: F401  (swap: re-exported)
from .types import Answer, Hit, IndexReport
from .writer import IndexWriter

# The write path's modules (readers, chunker, walker) load in the methods that use them:
# a cold `search query` should pay for nothing but the read path.

log = logging.getLogger("searchkit")


P = ParamSpec("P")
R = TypeVar("R")


def _written_by(method: Callable[Concatenate[IndexWriter, P], R]
                ) -> Callable[Concatenate[Index, P], R]:
    """An :class:`Index` method that is its writer's ``method`` (same signature, same
    docs): the write path lives in :mod:`searchkit.writer`, the facade keeps its names."""
    @functools.wraps(method)
    def call(self: Index, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.writer, *args, **kwargs)
    return call


class Index(Closing):
    """A searchable index directory.

    Use :meth:`create` for a new (or existing) index and :meth:`open` for an existing one.
    Writing methods (:meth:`add_paths`, :meth:`add_texts`, :meth:`remove` ...) are those of
    its :class:`~searchkit.writer.IndexWriter`; they take the index's write lock for their
    duration.
    """

    def __init__(self, path: Path, store: MetaStore, manifest: Manifest, readonly: bool):
        self.path = path
        self.store = store
        self.manifest = manifest
        self.readonly = readonly
        self._encoder = None
        self._vectors: VectorIndex | None = None
        self._vectors_gen = -1
        #: What searches keep between calls (built retrievers ...), per generation.
        self.cache = IndexCache()

    @property
    def writer(self) -> IndexWriter:
        """The write path (see :mod:`searchkit.writer`): a helper that holds nothing but
        this index, made for each use (so that the two never form a reference cycle that
        keeps the database open until the garbage collector runs)."""
        return IndexWriter(self)

    writing = _written_by(IndexWriter.writing)
    add_paths = _written_by(IndexWriter.add_paths)
    add_texts = _written_by(IndexWriter.add_texts)
    remove = _written_by(IndexWriter.remove)
    backfill_sentence_vectors = _written_by(IndexWriter.backfill_sentence_vectors)
    import_embeddings = _written_by(IndexWriter.import_embeddings)

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path | None = None, encoder: str | None = None,
               chunking: ChunkSettings | None = None, exist_ok: bool = True,
               vector_index: str | None = None, store: str | None = None) -> "Index":
        """Create an index directory (or open it if it exists and ``exist_ok``).

        Args:
            store: a ``postgresql://`` URL: the index folder is synced as usual and then
                loaded into Postgres (a :class:`searchkit.store.postgres.PostgresIndex`
                comes back); see :mod:`searchkit.store.postgres`.
            vector_index: ``auto`` (default), ``flat`` or ``hnsw``: see
                :mod:`searchkit.store.vectors`. Given for an existing index, it replaces
                the index's setting (its vectors are re-derived at the next write).

        Raises:
            EncoderMismatch: the existing index was built with another encoder than the
                one ``encoder`` names (``None``: the default for a new index, the index's
                own for an existing one).
        """
        if store is not None:  # the store protocol's other implementation
            from .store.postgres import PostgresIndex, check_url

            local = cls.create(path, encoder, chunking, exist_ok, vector_index)
            return PostgresIndex(check_url(store), local=local)  # type: ignore[return-value]
        path = as_index_path(path)
        recover_swap(path)
        if vector_index is not None:
            VectorIndex.kind_for(0, vector_index)  # validates
        if index_exists(path):
            if not exist_ok:
                raise BadInput(f"an index already exists at {path}")
            idx = cls.open(path, readonly=False)
            # an existing index keeps its own encoder (an old `minilm` one too) unless one
            # is named
            if encoder and not _same_encoder(encoder, idx.manifest.encoder):
                idx.close()
                raise EncoderMismatch(
                    f"index {path} was built with encoder {idx.manifest.encoder!r}, not "
                    f"{encoder!r}; to switch, rebuild it: search index PATHS --index {path} "
                    f"--encoder {encoder} --rebuild (Python: Index.rebuild(path, paths, "
                    f"encoder=...))")
            if vector_index is not None:
                idx.set_vector_index(vector_index)
            return idx
        from .encoders import get_encoder
        from .store.lock import WriteLock

        enc = get_encoder(encoder)
        chunking = chunking or ChunkSettings(max_tokens=min(256, enc.max_tokens))
        if chunking.max_tokens > enc.max_tokens:
            raise BadInput(f"chunk size {chunking.max_tokens} exceeds the encoder's "
                           f"{enc.max_tokens} tokens")
        path.mkdir(parents=True, exist_ok=True)
        # Created under the write lock, as any write: two first runs at once cannot both
        # write a manifest (the loser is told the index is being written, or, once the
        # winner is done, finds its index and its encoder).
        with WriteLock(path) as lock:
            if index_exists(path):
                lock.release()
                return cls.create(path, encoder, chunking, exist_ok, vector_index)
            return cls._create_locked(path, enc, chunking, vector_index)

    @classmethod
    def _create_locked(cls, path: Path, enc, chunking: ChunkSettings,
                       vector_index: str | None) -> "Index":
        for stale in (VECTORS_FILE, VECTORS_FILE + ".json", SENTENCES_FILE):
            (path / stale).unlink(missing_ok=True)  # of an index whose database was deleted
        store = MetaStore(path / DB_FILE)
        manifest = Manifest(encoder=enc.id, dim=enc.dim,
                            chunking={"max_tokens": chunking.max_tokens,
                                      "overlap": chunking.overlap,
                                      "tokenizer": enc.model_dir.name},
                            searchkit_version=__version__,
                            vector_index=vector_index or "auto",
                            encoder_revision=enc.revision)
        with store.transaction():
            for k, v in manifest.to_dict().items():
                store.set_meta(k, v)
            store.set_meta("generation", 0)
            store.set_meta("created_at", time.time())
        idx = cls(path, store, manifest, readonly=False)
        idx._encoder = enc
        idx.write_manifest_file()
        return idx

    @classmethod
    def open(cls, path: str | Path | None = None, readonly: bool = True,
             encoder: str | None = None, store: str | None = None) -> "Index":
        """Open an existing index. ``encoder``, when given, must match the manifest's.
        With ``store`` (a ``postgresql://`` URL), the index held in Postgres (a
        :class:`searchkit.store.postgres.PostgresIndex`; ``path`` is not needed to read).

        Raises:
            IndexNotFound: nothing is indexed at ``path``.
            EncoderMismatch: ``encoder`` differs from the one the index was built with.
        """
        if store is not None:
            from .store.postgres import PostgresIndex, check_url

            return PostgresIndex(check_url(store), encoder=encoder)  # type: ignore[return-value]
        path = as_index_path(path)
        recover_swap(path)
        if not (path / DB_FILE).exists():
            if (path / MANIFEST_FILE).exists():
                raise IndexDamaged(
                    f"index {path} has lost its database ({DB_FILE}); rebuild it from your "
                    f"documents: search index PATHS --index {path} --rebuild")
            raise IndexNotFound(f"no index at {path} (create one with: search index PATH "
                                f"--index {path})")
        meta: MetaStore | None = None
        try:
            meta = MetaStore(path / DB_FILE, readonly=readonly)
            manifest = Manifest.from_dict({k: meta.get_meta(k) for k in
                                           Manifest.__dataclass_fields__
                                           if meta.get_meta(k) is not None})
        except Exception as e:  # a database that is not ours, or a damaged one
            if meta is not None:
                meta.close()
            if (path / MANIFEST_FILE).exists():
                from .writer import damaged_message

                raise IndexDamaged(damaged_message(path, e)) from e
            raise IndexNotFound(f"{path} does not hold a searchkit index ({e})") from e
        if encoder and not _same_encoder(encoder, manifest.encoder):
            meta.close()
            raise EncoderMismatch(
                f"index {path} was built with encoder {manifest.encoder!r} "
                f"(dim {manifest.dim}); it cannot be used with {encoder!r}")
        return cls(path, meta, manifest, readonly)

    @classmethod
    def plan(cls, paths: Sequence[str | Path], include: Sequence[str] = (),
             exclude: Sequence[str] = (), encoder: str | None = None,
             chunking: ChunkSettings | None = None, max_bytes: int | None = None,
             reuse: str | Path | None = None, follow_outside: bool = False,
             ignore: bool = True) -> IndexReport:
        """What indexing ``paths`` into a new index would do, writing nothing: the report
        a real run would give (chunk counts, skipped files), from a throw-away index. With
        ``reuse`` (an index folder), counting its cached vectors as :meth:`rebuild` would.
        For an existing index, ``add_paths(..., dry_run=True)`` plans a sync.

        Args:
            max_bytes: the largest file read (default: ``SEARCHKIT_MAX_FILE_MB``).
            follow_outside, ignore: as for :meth:`add_paths`.
        """
        from .rebuild import plan_new

        return plan_new(cls, paths, include, exclude, encoder, chunking,
                        max_file_bytes() if max_bytes is None else max_bytes,
                        reuse=Path(reuse) if reuse is not None else None,
                        walk_opts={"follow_outside": follow_outside, "ignore": ignore})

    @classmethod
    def rebuild(cls, path: str | Path | None, paths: Sequence[str | Path],
                include: Sequence[str] = (), exclude: Sequence[str] = (),
                encoder: str | None = None, chunking: ChunkSettings | None = None,
                progress=None, max_bytes: int | None = None, vector_index: str | None = None,
                pipeline=None, follow_outside: bool = False, ignore: bool = True
                ) -> IndexReport:
        """Rebuild the index at ``path`` from ``paths``: a complete new index is built
        beside it and swapped in only when finished, so an interruption leaves the old one
        as it was. Encoder, chunking and vector index default to the old index's (or, when
        its database is damaged or gone, to what its manifest.json says); vectors already
        computed for a chunk text are reused. See :func:`searchkit.rebuild.rebuild`.

        Raises:
            IndexLocked: another process is writing the index.
        """
        from .rebuild import rebuild

        return rebuild(cls, as_index_path(path), paths, include, exclude, encoder, chunking,
                       progress, max_file_bytes() if max_bytes is None else max_bytes,
                       vector_index, {"follow_outside": follow_outside, "ignore": ignore},
                       pipeline)

    def close(self) -> None:
        self.store.close()

    @property
    def chunk_settings(self) -> ChunkSettings:
        c = self.manifest.chunking
        return ChunkSettings(max_tokens=c.get("max_tokens", 256), overlap=c.get("overlap", 32))

    @property
    def chunker(self) -> Chunker:
        """Chunks documents as this index does (its encoder's tokenizer, its settings)."""
        return Chunker(self.encoder, self.chunk_settings)

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
            if enc.revision != self.manifest.encoder_revision:
                log.warning("searchkit: %s; results may be slightly off until it is rebuilt",
                            self._revision_note(enc))
            if self.manifest.encoder == "minilm":
                log.warning("searchkit: index %s uses the torch encoder (minilm): each query "
                            "loads torch; search index PATHS --index %s --encoder minilm-int8 "
                            "--rebuild makes it faster", self.path, self.path)
            self._encoder = enc
        return self._encoder

    def _revision_note(self, enc) -> str:
        was = self.manifest.encoder_revision or "not recorded"
        return (f"index {self.path} was built with another revision of encoder "
                f"{self.manifest.encoder!r} ({was}; this searchkit makes "
                f"{enc.revision or 'none'})")

    def check_revision(self) -> None:
        """Refuse to write when the encoder's name is the index's but its recipe is not (a
        release changed how ``minilm-int8`` is exported): the index would mix two kinds of
        vectors. Reading such an index works, with a notice: the two stay close."""
        from .encoders import get_encoder

        enc = self._encoder or get_encoder(self.manifest.encoder)
        if enc.revision != self.manifest.encoder_revision:
            raise EncoderMismatch(
                f"{self._revision_note(enc)}; rebuild it (search index PATHS --index "
                f"{self.path} --rebuild; an index `search eval` made can just be deleted)")

    @property
    def vector_key(self) -> str:
        """The key of this index's vectors in the embedding cache: the encoder, and its
        revision when it has one."""
        rev = self.manifest.encoder_revision
        return f"{self.manifest.encoder}#{rev}" if rev else self.manifest.encoder

    def set_vector_index(self, kind: str) -> None:
        """Switch the FAISS index kind (``auto``, ``flat``, ``hnsw``); the vectors are
        re-derived from SQLite at the end of the next write."""
        self.check_writable()
        VectorIndex.kind_for(0, kind)
        if kind == self.manifest.vector_index:
            return
        with self.store.transaction():
            self.store.set_meta("vector_index", kind)
        self.manifest.vector_index = kind
        self.write_manifest_file()

    def write_manifest_file(self) -> None:
        """Write ``manifest.json`` (the manifest and the current generation) atomically."""
        data = {**self.manifest.to_dict(), "generation": self.store.generation()}
        tmp = self.path / (MANIFEST_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.path / MANIFEST_FILE)

    def check_writable(self) -> None:
        """Raises :class:`~searchkit.errors.SearchkitError` on an index opened read-only."""
        if self.readonly:
            raise SearchkitError(f"index {self.path} was opened read-only")

    # -- vectors -----------------------------------------------------------------------
    @property
    def vectors(self) -> VectorIndex:
        """The FAISS index of the chunk vectors for the current generation: from disk when
        it matches, else rebuilt from SQLite (after a crash, a corrupt file, or a write by
        another process)."""
        gen = self.store.generation()
        if self._vectors is not None and self._vectors_gen == gen:
            return self._vectors
        vec = VectorIndex.load(self.path / VECTORS_FILE, gen, self.vector_key,
                               self.manifest.dim)
        if vec is None:
            if (self.path / VECTORS_FILE).exists() or self.store.count("chunks"):
                log.warning("searchkit: vector file of %s is missing, stale or corrupt; "
                            "rebuilding it from the database", self.path)
            vec = self.build_vectors()
            if not self.readonly:
                self.save_vectors(vec, gen)
                return vec
        self._vectors, self._vectors_gen = vec, gen
        return vec

    def save_vectors(self, vec: VectorIndex, gen: int | None = None) -> None:
        """Write ``vec`` as the vector file of generation ``gen`` (default: the current
        one) and use it from now on."""
        gen = self.store.generation() if gen is None else gen
        vec.save(self.path / VECTORS_FILE, gen, self.vector_key)
        self._vectors, self._vectors_gen = vec, gen

    @property
    def sentence_matrix(self) -> SentenceMatrix | None:
        """The stored sentence vectors as one memory-mapped matrix
        (:mod:`searchkit.store.sentences`), when its file matches the current generation;
        None otherwise (readers then use the database's copy)."""
        gen = self.store.generation()
        held = self.cache.get("sentence_matrix", gen)
        if held is None:
            held = (SentenceMatrix.load(self.path / SENTENCES_FILE, gen, self.vector_key,
                                        self.manifest.dim),)
            self.cache.put("sentence_matrix", gen, held)
        return held[0]

    def save_sentence_matrix(self) -> int:
        """Write the sentence matrix file from the database (after a write); returns how
        many chunks it holds. An index whose store keeps no sentence vectors writes none."""
        self.check_writable()
        blobs = getattr(self.store, "iter_sentence_blobs", None)
        if blobs is None:
            return 0
        with self.store.transaction():  # one read transaction: a consistent snapshot
            gen = self.store.generation()
            head = SentenceMatrix.write(self.path / SENTENCES_FILE, gen, self.vector_key,
                                        self.manifest.dim, blobs(self.vector_key))
        self.cache.clear("sentence_matrix")
        return head["chunks"]

    def forget_vectors(self) -> None:
        """Drop the vectors held in memory (e.g. after a rolled-back write): the next use
        loads them again."""
        self._vectors = None

    def build_vectors(self, kind: str | None = None) -> VectorIndex:
        """A FAISS index of ``kind`` (default: what the setting wants at this size) built
        from the vectors stored in the database."""
        n = self.store.count("chunks")
        kind = kind or VectorIndex.kind_for(n, self.manifest.vector_index)
        vec = VectorIndex(self.manifest.dim, kind)
        with self.store.transaction():  # one read transaction: a consistent snapshot
            for ids, vecs in self.store.iter_chunk_vectors(self.vector_key,
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
               combine: str | None = None, diverse: bool = False, highlight: bool = False, **filters) -> list[Hit]:
        """Rank passages for ``query``.

        Args:
            query: the question or phrase.
            k: how many hits.
            method: ``dense``, ``tfidf``, ``bm25``, ``glove`` or ``hybrid``; default
                :data:`searchkit.query.DEFAULT_METHOD`.
            group: one hit per document (its best chunk) instead of raw chunks.
            fuse, weights, combine, rrf_k: for ``hybrid``: the methods fused (default
                dense and bm25), one weight each (default 1), how (``zscore``, the
                default, or ``rrf``) and the RRF constant (default 60; given alone it
                means ``rrf``).
            diverse: re-rank by maximal marginal relevance (less redundant hits).
            highlight: set each hit's ``highlights`` to its best-matching sentence spans.
            **filters: ``path`` (glob or list), ``ext`` (str or list), ``modified_after``
                (datetime, date, ISO string), ``metadata`` (dict of key: value), applied
                before the search (see :mod:`searchkit.filters`).

        Raises:
            BadInput: empty or unusable query, k < 1, unknown method or filter.
        """
        from .query import search

        query = check_query(query)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise BadUsage(f"k must be an integer of at least 1, not {k!r}")
        fusion = None
        if any(x is not None for x in (fuse, weights, rrf_k, combine)):
            from .retrieval.hybrid import Fusion

            fusion = Fusion.parse(fuse, weights, rrf_k, combine)
        allowed = None
        if filters:
            from .filters import allowed_chunk_ids

            allowed = allowed_chunk_ids(self.store, **filters)
        from .writer import damaged_as_error

        with damaged_as_error(self.path):
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

        from .writer import damaged_as_error

        question = check_query(question)
        with damaged_as_error(self.path):
            return ask(self, question, allowed=allowed_chunk_ids(self.store, **filters))

    def hits(self, ranked: list[tuple[int, float]], method: str) -> list[Hit]:
        """:class:`Hit` objects for ranked ``(chunk id, score)`` pairs of ``method``, best
        first (a chunk removed meanwhile is passed over)."""
        return hits_from_rows(ranked, self.store.chunks_by_ids([i for i, _ in ranked]),
                              method)

    def stats(self) -> dict:
        """Counts, encoder, size on disk (everything under the index folder), last sync
        (Unix time, None before the first), and the baseline retrievers saved under
        ``<index>/baselines/<name>`` (name -> their ``retriever.json``, or {} without one)."""
        return {
            "path": str(self.path), "documents": self.store.count("documents"),
            "chunks": self.store.count("chunks"), "encoder": self.manifest.encoder,
            "encoder_revision": self.manifest.encoder_revision, "dim": self.manifest.dim, "chunking": self.manifest.chunking,
            "bytes_on_disk": _tree_size(self.path), "last_sync": self.store.get_meta("last_sync"),
            "generation": self.store.generation(),
            "baselines": _baselines(self.path / "baselines"),
            "format_version": self.manifest.format_version,
            "searchkit_version": self.manifest.searchkit_version,
        }

    def documents(self) -> list[dict]:
        return self.store.documents()

    def sources(self):
        """The folders and files synced into this index, each with its document count
        (a list of :class:`searchkit.maintenance.Source`; documents under no recorded root,
        such as texts added through :meth:`add_texts`, come last with ``path=None``)."""
        from .maintenance import sources

        return sources(self)

    def check(self, repair: bool = False):
        """Check the index's files (see :func:`searchkit.maintenance.check`); with
        ``repair``, fix what can be fixed in place. Returns a
        :class:`searchkit.maintenance.CheckReport`."""
        from .maintenance import check

        return check(self, repair=repair)

    def senses(self, word: str, max: int = 400, senses: int | str = "auto", seed: int = 0,
               examples: int = 3, encoder: str | None = None):
        """The senses of ``word`` (or a phrase) in the indexed text: each use's contextual
        token vector, clustered. Reads the stored chunk text (no file is re-read); a use in
        the overlap of two chunks counts once. See :func:`searchkit.senses_report.word_senses`.

        Args:
            max: the most uses clustered (a reproducible sample of them beyond that).
            senses: ``"auto"`` or the number of senses.
            encoder: take the token vectors from this encoder (a name, tuned model or
                sentence-transformers model directory) instead of the index's; the
                stored text is the same whatever encoded it.

        Returns:
            a :class:`searchkit.senses_report.Senses`.

        Raises:
            BadInput: the word is empty or does not occur, or bad arguments.
        """
        from .senses import word_pattern
        from .senses_report import document_text, word_senses

        word_pattern(word)  # empty -> BadUsage
        # LIKE (case-insensitive for ASCII) narrows the documents read; the regex decides.
        longest = sorted(word.split(), key=len)[-1]
        docs: dict[int, tuple[str, list]] = {}
        for doc_id, path, text, start, line in self.store.chunk_texts_by_document(
                longest if longest.isascii() else None):
            docs.setdefault(doc_id, (display_path(path), []))[1].append((text, start, line))
        documents = [(path, document_text(chunks)) for path, chunks in docs.values()]
        if encoder is None:
            enc = self.encoder
        else:
            from .encoders import get_encoder

            enc = get_encoder(encoder)
        return word_senses(word, documents, enc, max_uses=max, senses=senses,
                           seed=seed, examples=examples)


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
    from .store.meta import holds_index

    db = Path(path) / DB_FILE
    return db.exists() and holds_index(db)


def as_index_path(path) -> Path:
    if not path:
        return default_index_path()
    if not isinstance(path, (str, os.PathLike)):
        raise BadInput(f"an index path must be a string or a Path, not {path!r}")
    return Path(path)


def _same_encoder(name: str, recorded: str) -> bool:
    from .encoders import same_encoder

    return same_encoder(name, recorded)
