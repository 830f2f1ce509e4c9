"""Metadata and vectors in SQLite (through sqlite-utils): the source of truth of an index.

SQLite runs in WAL mode, so readers keep reading the last committed state while one writer
writes. Vectors live here too (table ``embeddings``, keyed by encoder id and chunk-text hash,
which doubles as the embedding cache); the FAISS file is derived from them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..errors import IndexNotFound

if TYPE_CHECKING:
    import sqlite_utils

# Named migrations, applied in order once each (the habit of llm's m001_... functions).
MIGRATIONS: list[tuple[str, Callable[["sqlite_utils.Database"], None]]] = []


def migration(fn):
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: "sqlite_utils.Database") -> None:
    db.table("manifest").create({"key": str, "value": str}, pk="key")
    db.execute("""CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        title TEXT, format TEXT, size INTEGER, mtime REAL,
        content_hash TEXT, n_chars INTEGER, indexed_at REAL,
        metadata TEXT)""")
    db.execute("""CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id INTEGER NOT NULL REFERENCES documents(id),
        ord INTEGER NOT NULL,
        text TEXT NOT NULL, text_hash TEXT NOT NULL,
        start_char INTEGER, end_char INTEGER, start_line INTEGER, end_line INTEGER,
        page INTEGER, heading TEXT, n_tokens INTEGER)""")
    db.execute("CREATE INDEX chunks_doc ON chunks(doc_id)")
    db.execute("CREATE INDEX chunks_hash ON chunks(text_hash)")
    db.execute("CREATE INDEX documents_hash ON documents(content_hash)")
    db.execute("""CREATE TABLE embeddings (
        encoder TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (encoder, text_hash)) WITHOUT ROWID""")


@migration
def m002_document_unit(db: "sqlite_utils.Database") -> None:
    # What a chunk's ``page`` counts in this document (page, slide, cell, message ...);
    # NULL in indexes written before it: there ``page`` is a PDF page.
    db.execute("ALTER TABLE documents ADD COLUMN unit TEXT")


@migration
def m003_sources(db: "sqlite_utils.Database") -> None:
    """The folders and files a user indexed (``search sources``)."""
    db.execute("CREATE TABLE IF NOT EXISTS sources (path TEXT PRIMARY KEY, added_at REAL, "
               "last_sync REAL)")


@migration
def m004_real_path(db: "sqlite_utils.Database") -> None:
    """Where a document reached through a symlinked folder really is (path filters match
    either name)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(documents)")}
    if "real_path" not in cols:
        db.execute("ALTER TABLE documents ADD COLUMN real_path TEXT")


@migration
def m005_sentence_vectors(db: "sqlite_utils.Database") -> None:
    # Highlight vectors of each chunk's sentences (searchkit.sentence_vectors), keyed like
    # the embedding cache so that moved or re-synced chunks keep them.
    db.execute("""CREATE TABLE IF NOT EXISTS sentence_vectors (
        encoder TEXT NOT NULL, text_hash TEXT NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (encoder, text_hash)) WITHOUT ROWID""")


class ReadOnlyDatabase:
    """What readers use of ``sqlite_utils.Database`` (``conn``, ``execute``, ``query``), on
    plain sqlite3. sqlite-utils (its imports and its plugin hooks, which scan every installed
    package's entry points) costs a cold ``search query`` more than the search itself."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Iterable | dict | None = None) -> sqlite3.Cursor:
        if params is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, params if isinstance(params, dict) else list(params))

    def query(self, sql: str, params: Iterable | dict | None = None) -> Iterator[dict]:
        cur = self.execute(sql, params)
        keys = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(keys, row))


class PerThreadDatabase:
    """A :class:`ReadOnlyDatabase` with one connection per thread (``search serve``'s
    threads share one index: a SQLite connection is not for concurrent use)."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    def _db(self):
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path, readonly=True)
            with self._lock:
                self._all.append(db)
        return db

    @property
    def conn(self):
        return self._db().conn

    def execute(self, sql, params=None):
        return self._db().execute(sql, params)

    def query(self, sql, params=None):
        return self._db().query(sql, params)

    def close_all(self) -> None:
        with self._lock:
            for db in self._all:
                db.conn.close()
            self._all.clear()


def connect(path: Path, readonly: bool = False):
    """A ``sqlite_utils.Database`` for writing, a :class:`ReadOnlyDatabase` for reading."""
    if readonly:
        if not path.exists():
            raise IndexNotFound(f"no index at {path.parent}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30,
                               check_same_thread=False)
        conn.execute("PRAGMA foreign_keys=ON")
        return ReadOnlyDatabase(conn)
    else:
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def migrate(db: "sqlite_utils.Database") -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {r[0] for r in db.execute("SELECT name FROM _migrations").fetchall()}
    for name, fn in MIGRATIONS:
        if name not in done:
            with db.conn:
                fn(db)
                db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", [name])


#: Tables searchkit's migrations create.
OWN_TABLES = {"_migrations", "manifest", "documents", "chunks", "embeddings",
              "sqlite_sequence", "sources", "sentence_vectors"}


def holds_index(db: Path) -> bool:
    """Whether the database file ``db`` holds an index: one with a manifest naming its
    encoder, or one that is not only what an interrupted create leaves (a database that is
    not ours, or one that is unreadable, counts: opening it says what is wrong)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "manifest" in tables and conn.execute(
                    "SELECT 1 FROM manifest WHERE key = 'encoder'").fetchone():
                return True
            return bool(tables - OWN_TABLES) or (
                "documents" in tables
                and conn.execute("SELECT count(*) FROM documents").fetchone()[0] > 0)
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # unreadable or not SQLite: let open() report it


def like_prefix(s: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern for the strings that start with ``s``."""
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _under(root: str) -> tuple[str, list[str]]:
    """A ``WHERE`` condition (and its parameters) for ``root`` and the paths below it."""
    return "path = ? OR path LIKE ? ESCAPE '\\'", [root, like_prefix(root.rstrip(os.sep) + os.sep)]


class MetaStore:
    """Typed access to the SQLite side of an index: every SQL statement of searchkit's
    local index is here (the migrations above, and the methods below)."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.db = connect(path, readonly)
        #: (generation, {document id: its number of chunks}) as far as asked for
        self._sizes: tuple[int, dict[int, int]] = (-1, {})

    def close(self) -> None:
        self.db.conn.close()

    def transaction(self):
        """A context manager: what is written inside commits together or not at all, and a
        reader inside sees one consistent state."""
        return self.db.conn

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: ``["ok"]`` for a sound database."""
        return [r[0] for r in self.db.execute("PRAGMA quick_check")]

    # -- manifest ----------------------------------------------------------------------
    def get_meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM manifest WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)", [key, json.dumps(value)])

    def generation(self) -> int:
        return int(self.get_meta("generation", 0))

    def bump_generation(self) -> int:
        g = self.generation() + 1
        self.set_meta("generation", g)
        return g

    # -- documents and chunks ----------------------------------------------------------
    def documents(self, where: str = "", params: Iterable = ()) -> list[dict]:
        sql = "SELECT * FROM documents" + (f" WHERE {where}" if where else "")
        return list(self.db.query(sql, list(params)))

    def document_by_path(self, path: str) -> dict | None:
        rows = self.documents("path = ?", [path])
        return rows[0] if rows else None

    def documents_under(self, root: str) -> list[dict]:
        """The documents whose path is ``root`` or lies below it."""
        return self.documents(*_under(root))

    def document_paths(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM documents")]

    def document_view(self, doc_id: int) -> dict | None:
        """Document ``doc_id``'s id, path, title and format, or None."""
        return next(self.db.query("SELECT id, path, title, format FROM documents WHERE id = ?",
                                  [int(doc_id)]), None)

    def filterable_documents(self, modified_after: float | None = None
                             ) -> Iterator[tuple[int, str, str | None, str | None]]:
        """``(id, path, metadata JSON, real path)`` of every document (modified after the
        timestamp ``modified_after`` when given); the real path is None in an index from
        before it was stored."""
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(documents)")}
        real = "real_path" if "real_path" in cols else "NULL"
        sql = f"SELECT id, path, metadata, {real} FROM documents"
        params: list = []
        if modified_after is not None:
            sql += " WHERE mtime > ?"
            params.append(modified_after)
        yield from self.db.execute(sql, params)

    def update_document(self, doc_id: int, fields: dict) -> None:
        self.db["documents"].update(doc_id, fields)

    def chunk_ids_of_documents(self, doc_ids: Iterable[int]) -> list[int]:
        docs = list(doc_ids)
        ids: list[int] = []
        for s in range(0, len(docs), 900):
            part = docs[s:s + 900]
            q = ",".join("?" * len(part))
            ids += [r[0] for r in self.db.execute(
                f"SELECT id FROM chunks WHERE doc_id IN ({q})", part)]
        return ids

    def chunk_spans(self, doc_id: int) -> list[tuple]:
        """``(id, text, start_char, start_line, end_char, end_line, page)`` of each chunk of
        document ``doc_id``, in text order."""
        return self.db.execute("SELECT id, text, start_char, start_line, end_char, end_line, "
                               "page FROM chunks WHERE doc_id = ? ORDER BY start_char",
                               [int(doc_id)]).fetchall()

    def chunks_with_titles(self) -> list[tuple[int, str, int, str | None]]:
        """``(id, text, ord, document title)`` of every chunk, in id order."""
        return self.db.execute("SELECT c.id, c.text, c.ord, d.title FROM chunks c JOIN "
                               "documents d ON d.id = c.doc_id ORDER BY c.id").fetchall()

    def chunk_paths(self) -> dict[int, str]:
        """``{chunk id: its document's path}``."""
        return dict(self.db.execute(
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.doc_id").fetchall())

    def chunk_texts_by_document(self, containing: str | None = None
                                ) -> Iterator[tuple[int, str, str, int, int]]:
        """``(doc id, path, text, start_char, start_line)`` of every chunk, by document and
        position; with ``containing``, only the documents with a chunk whose text holds it
        (SQLite's LIKE: case-insensitive for ASCII)."""
        where, params = "", []
        if containing is not None:
            where = "WHERE c.doc_id IN (SELECT doc_id FROM chunks WHERE text LIKE ? ESCAPE '\\')"
            params = ["%" + like_prefix(containing)[:-1] + "%"]
        yield from self.db.execute(
            "SELECT c.doc_id, d.path, c.text, c.start_char, c.start_line FROM chunks c "
            f"JOIN documents d ON d.id = c.doc_id {where} ORDER BY c.doc_id, c.start_char",
            params)

    def chunk_text_of_hash(self, text_hash: str) -> str | None:
        row = self.db.execute("SELECT text FROM chunks WHERE text_hash = ? LIMIT 1",
                              [text_hash]).fetchone()
        return row[0] if row else None

    def delete_chunks_of(self, doc_id: int) -> None:
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])

    # -- sources -----------------------------------------------------------------------
    def sources(self) -> list[tuple[str, float | None]]:
        """``(path, last sync)`` of each folder or file a sync was given, by path (none in
        an index made before they were recorded)."""
        try:
            return list(self.db.execute("SELECT path, last_sync FROM sources ORDER BY path"))
        except sqlite3.OperationalError:
            return []

    def record_sources(self, paths: Iterable[str], now: float) -> None:
        for p in paths:
            self.db.execute("INSERT INTO sources VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE "
                            "SET last_sync = excluded.last_sync", [p, now, now])

    def forget_source(self, root: str) -> None:
        """Drop ``root`` and every recorded source below it."""
        cond, params = _under(root)
        self.db.execute(f"DELETE FROM sources WHERE {cond}", params)

    def chunk_ids_of(self, doc_id: int) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", [doc_id])]

    def delete_document(self, doc_id: int) -> list[int]:
        ids = self.chunk_ids_of(doc_id)
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE id = ?", [doc_id])
        return ids

    def insert_document(self, row: dict) -> int:
        return self.db["documents"].insert(row).last_pk

    def insert_chunks(self, rows: list[dict]) -> list[int]:
        ids = []
        for r in rows:  # one by one for the primary keys; all inside the caller's transaction
            ids.append(self.db["chunks"].insert(r).last_pk)
        return ids

    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, dict]:
        ids = [int(i) for i in ids]
        out: dict[int, dict] = {}
        # an index opened read-only is not migrated: one from before m002 has no unit
        unit = "d.unit" if self._has_unit() else "NULL AS unit"
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            q = ",".join("?" * len(part))
            for r in self.db.query(
                f"SELECT c.*, d.path, d.title, d.format, d.mtime, d.metadata AS doc_metadata, "
                f"{unit} "
                f"FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({q})", part):
                out[r["id"]] = r
        return out

    def _has_unit(self) -> bool:
        if getattr(self, "_unit_column", None) is None:
            self._unit_column = any(r[1] == "unit" for r in
                                    self.db.execute("PRAGMA table_info(documents)"))
        return self._unit_column

    def doc_ids_of_chunks(self, ids: Iterable[int]) -> dict[int, int]:
        ids = [int(i) for i in ids]
        out: dict[int, int] = {}
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            q = ",".join("?" * len(part))
            out.update(self.db.execute(f"SELECT id, doc_id FROM chunks WHERE id IN ({q})", part))
        return out

    def chunks_per_document(self, doc_ids: Iterable[int]) -> dict[int, int]:
        """``{document id: its number of chunks}`` for ``doc_ids`` (those still indexed).
        Counts are kept while the index's generation (bumped with any chunk change) stays
        the same, so a warm query counts only documents it has not met yet (hybrid's length
        prior asks this for every query's candidates; benchmarks/RESULTS_eval.md, "Long
        documents")."""
        gen = self.generation()
        seen_gen, sizes = self._sizes
        if seen_gen != gen:
            sizes = {}
            self._sizes = (gen, sizes)
        ids = [int(i) for i in doc_ids]
        todo = [i for i in ids if i not in sizes]
        for start in range(0, len(todo), 900):
            part = todo[start : start + 900]
            q = ",".join("?" * len(part))
            sizes.update(self.db.execute(
                f"SELECT doc_id, count(*) FROM chunks WHERE doc_id IN ({q}) GROUP BY doc_id",
                part))
        return {i: sizes[i] for i in ids if i in sizes}

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    # -- vectors -----------------------------------------------------------------------
    def cached_hashes(self, encoder: str, hashes: Iterable[str]) -> set[str]:
        hashes = list(set(hashes))
        have: set[str] = set()
        for start in range(0, len(hashes), 900):
            part = hashes[start : start + 900]
            q = ",".join("?" * len(part))
            have.update(r[0] for r in self.db.execute(
                f"SELECT text_hash FROM embeddings WHERE encoder = ? AND text_hash IN ({q})",
                [encoder, *part]))
        return have

    def put_vectors(self, encoder: str, hashes: list[str], vectors: np.ndarray,
                    sentences: list[bytes | None] | None = None) -> None:
        """Store chunk vectors, and the packed sentence vectors where the encoder made them."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
            [(encoder, h, v.tobytes()) for h, v in zip(hashes, vectors)])
        if sentences:
            self.put_sentence_vectors(encoder, hashes, sentences)

    def put_sentence_vectors(self, encoder: str, hashes: list[str],
                             blobs: list[bytes | None]) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO sentence_vectors VALUES (?, ?, ?)",
            [(encoder, h, s) for h, s in zip(hashes, blobs) if s is not None])

    def texts_without_sentence_vectors(self, encoder: str) -> list[tuple[str, str]]:
        """``(text hash, text)`` of each distinct chunk text without ``encoder``'s sentence
        vectors."""
        return self.db.execute(
            "SELECT DISTINCT c.text_hash, c.text FROM chunks c WHERE NOT EXISTS (SELECT 1 "
            "FROM sentence_vectors s WHERE s.encoder = ? AND s.text_hash = c.text_hash)",
            [encoder]).fetchall()

    def vectors_of_hashes(self, encoder: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """``{text hash: stored vector}`` of those of ``hashes`` that ``encoder`` embedded."""
        out = {}
        uniq = list(set(hashes))
        for s in range(0, len(uniq), 900):
            part = uniq[s:s + 900]
            q = ",".join("?" * len(part))
            for h, blob in self.db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE encoder = ? AND "
                    f"text_hash IN ({q})", [encoder, *part]):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def stored_vectors(self, encoder: str) -> Iterator[tuple[str, bytes]]:
        """``(text hash, raw vector bytes)`` of every vector ``encoder`` stored."""
        yield from self.db.execute("SELECT text_hash, vector FROM embeddings WHERE encoder = ?",
                                   [encoder])

    def chunks_without_vector(self, encoder: str) -> list[int]:
        """Ids of the chunks whose text has no vector of ``encoder``."""
        return [r[0] for r in self.db.execute(
            "SELECT c.id FROM chunks c LEFT JOIN embeddings e ON e.encoder = ? AND "
            "e.text_hash = c.text_hash WHERE e.text_hash IS NULL", [encoder])]

    def texts_without_vector(self, encoder: str) -> dict[str, str]:
        """``{text hash: text}`` of the chunk texts that have no vector of ``encoder``."""
        return dict(self.db.execute(
            "SELECT DISTINCT text_hash, text FROM chunks WHERE text_hash IN "
            "(SELECT c.text_hash FROM chunks c LEFT JOIN embeddings e ON e.encoder = ? AND "
            "e.text_hash = c.text_hash WHERE e.text_hash IS NULL)", [encoder]))

    def chunk_rows_with_vectors(self, columns: Iterable[str], encoder: str):
        """A cursor over ``(*columns, vector bytes)`` of every chunk with a vector of
        ``encoder``, in id order (what a store loaded from this index copies)."""
        cols = ", ".join(f"c.{c}" for c in columns)
        return self.db.execute(
            f"SELECT {cols}, e.vector FROM chunks c JOIN embeddings e ON e.encoder = ? "
            f"AND e.text_hash = c.text_hash ORDER BY c.id", [encoder])

    def import_embeddings(self, other_db: Path) -> int:
        """Copy the vectors (every encoder's) and sentence vectors stored in the database
        file ``other_db`` that this one lacks; returns the vectors copied."""
        conn = self.db.conn
        conn.execute("ATTACH DATABASE ? AS other", [str(other_db)])
        try:
            with conn:
                cur = conn.execute("INSERT OR IGNORE INTO embeddings "
                                   "SELECT encoder, text_hash, vector FROM other.embeddings")
                n = cur.rowcount
                if conn.execute("SELECT 1 FROM other.sqlite_master "
                                "WHERE name = 'sentence_vectors'").fetchone():
                    conn.execute("INSERT OR IGNORE INTO sentence_vectors "
                                 "SELECT encoder, text_hash, data FROM other.sentence_vectors")
                return n
        finally:
            conn.execute("DETACH DATABASE other")

    def sentence_vectors(self, encoder: str, chunk_ids: Iterable[int]) -> dict[int, bytes]:
        """``{chunk id: packed sentence vectors}`` for the chunks that have them (none in an
        index written before they were stored, until it is re-synced)."""
        ids = [int(i) for i in chunk_ids]
        if not ids or not self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sentence_vectors'").fetchone():
            return {}
        q = ",".join("?" * len(ids))
        # CROSS JOIN fixes the loop order: the chunks by primary key, then each one's row by
        # (encoder, text_hash). Left to itself SQLite scans every sentence_vectors row of the
        # encoder and probes chunks (126 ms for 100 chunks of SciFact's index, 1.1 ms this
        # way; EXPLAIN QUERY PLAN shows both: benchmarks/RESULTS_eval.md, "The
        # sentence_vectors lookup").
        return dict(self.db.execute(
            f"SELECT c.id, s.data FROM chunks c CROSS JOIN sentence_vectors s "
            f"ON s.encoder = ? AND s.text_hash = c.text_hash WHERE c.id IN ({q})",
            [encoder, *ids]))

    def iter_sentence_blobs(self, encoder: str, batch: int = 10_000):
        """Yield ``(chunk id, packed sentence vectors)`` of every chunk that has them, in id
        order (what the sentence matrix file is built from)."""
        cur = self.db.execute(
            "SELECT c.id, s.data FROM chunks c CROSS JOIN sentence_vectors s "
            "ON s.encoder = ? AND s.text_hash = c.text_hash ORDER BY c.id", [encoder])
        while rows := cur.fetchmany(batch):
            yield from rows

    def iter_chunk_vectors(self, encoder: str, dim: int, batch: int = 50_000):
        """Yield ``(ids, vectors)`` of every chunk, in id order, in batches."""
        cur = self.db.execute(
            "SELECT c.id, e.vector FROM chunks c JOIN embeddings e "
            "ON e.encoder = ? AND e.text_hash = c.text_hash ORDER BY c.id", [encoder])
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
            yield ids, vecs

    def prune_embeddings(self, encoder: str) -> int:
        """Drop cached vectors no chunk uses any more (other encoders' are kept for a switch back)."""
        cur = self.db.execute(
            "DELETE FROM embeddings WHERE encoder = ? AND text_hash NOT IN "
            "(SELECT text_hash FROM chunks)", [encoder])
        self.db.execute("DELETE FROM sentence_vectors WHERE encoder = ? AND text_hash NOT IN "
                        "(SELECT text_hash FROM chunks)", [encoder])
        return cur.rowcount
