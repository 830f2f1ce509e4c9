"""A Postgres + pgvector store: the index's documents and chunks as tables, each chunk's
vector in a pgvector column with an HNSW index (inner product: vectors are normalised),
text search through Postgres full-text search.

How it is written: ``search index PATH --store postgresql://...`` syncs the local index
(the index folder, as always: it keeps the embedding cache and the sync plan) and then
makes the Postgres copy equal to it in one transaction, bulk-loading new rows with COPY.
A kill during the load leaves Postgres at its previous state; the next run loads again.
Chunk and document ids are the local index's, so both stores rank the same chunks.

How it is read: :class:`PostgresIndex` (``Index.open(store=URL)``) needs only the URL:
the manifest (encoder, dimension) is a table too. Filters become parameterised SQL.
One index per database (tables ``sk_*`` in the connection's default schema).

Needs ``pip install 'searchkit[postgres]'`` (psycopg 3 and pgvector).
"""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import BadUsage, IndexNotFound, SearchkitError
from ..types import Hit
from .protocol import Closing

METHODS = ("dense", "fts", "hybrid")
#: HNSW candidates per query (pgvector's ``hnsw.ef_search``, default 40).
EF_SEARCH = 100
_DOC_COLS = ("id", "path", "title", "format", "size", "mtime", "content_hash", "n_chars",
             "indexed_at", "metadata", "unit", "real_path")
_CHUNK_COLS = ("id", "doc_id", "ord", "text", "text_hash", "start_char", "end_char",
               "start_line", "end_line", "page", "heading", "n_tokens")


def check_url(store: str) -> str:
    """``store`` if it is a ``postgresql://`` URL (the one other store there is)."""
    if not str(store).startswith(("postgresql://", "postgres://")):
        raise BadUsage(f"unknown store {store!r}: give a postgresql://... URL (the local "
                       f"store is the default)")  # the CLI exits 2
    return str(store)


def _connect(url: str):
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError:
        raise SearchkitError("--store postgresql:// needs psycopg and pgvector: pip install "
                             "'searchkit[postgres]'") from None
    try:
        conn = psycopg.connect(url, autocommit=False)
    except psycopg.Error as e:
        raise SearchkitError(f"cannot connect to {_redact(url)}: "
                             f"{str(e).strip().splitlines()[0]}") from None
    with conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    return conn


def _redact(url: str) -> str:
    """The URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(url)
    if u.password:
        u = u._replace(netloc=u.netloc.replace(":" + u.password + "@", ":***@"))
    return urlunsplit(u)


def _schema(conn, dim: int) -> None:
    conn.execute("""CREATE TABLE IF NOT EXISTS sk_manifest (key TEXT PRIMARY KEY, value TEXT)""")
    conn.execute("""CREATE TABLE IF NOT EXISTS sk_documents (
        id BIGINT PRIMARY KEY, path TEXT NOT NULL UNIQUE, title TEXT, format TEXT,
        size BIGINT, mtime DOUBLE PRECISION, content_hash TEXT, n_chars BIGINT,
        indexed_at DOUBLE PRECISION, metadata JSONB, unit TEXT)""")
    # what ``page`` counts (slide, cell ...); a store loaded before it had none
    conn.execute("ALTER TABLE sk_documents ADD COLUMN IF NOT EXISTS unit TEXT")
    # where a file reached through a symlinked folder really is (--path matches it too)
    conn.execute("ALTER TABLE sk_documents ADD COLUMN IF NOT EXISTS real_path TEXT")
    conn.execute(f"""CREATE TABLE IF NOT EXISTS sk_chunks (
        id BIGINT PRIMARY KEY, doc_id BIGINT NOT NULL REFERENCES sk_documents(id)
        ON DELETE CASCADE, ord INT NOT NULL, text TEXT NOT NULL, text_hash TEXT NOT NULL,
        start_char INT, end_char INT, start_line INT, end_line INT, page INT, heading TEXT,
        n_tokens INT, embedding vector({int(dim)}) NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)""")
    conn.execute("CREATE INDEX IF NOT EXISTS sk_chunks_doc ON sk_chunks (doc_id)")
    conn.execute("CREATE INDEX IF NOT EXISTS sk_chunks_tsv ON sk_chunks USING gin (tsv)")
    conn.execute("CREATE INDEX IF NOT EXISTS sk_chunks_hnsw ON sk_chunks "
                 "USING hnsw (embedding vector_ip_ops)")


def load_index(local, url: str, batch: int = 5000) -> dict:
    """Make the Postgres store at ``url`` equal to the local index ``local``: documents
    that are new or changed (content or index time) are (re-)loaded with COPY, documents
    gone are deleted, moved ones updated; one transaction. Returns counts."""
    conn = _connect(url)
    try:
        with conn.transaction():
            # One loader at a time; readers go on reading the committed state.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('searchkit-load'))")
            man = dict(conn.execute("SELECT key, value FROM sk_manifest").fetchall()) \
                if _has_tables(conn) else {}
            if man and (man.get("encoder") != local.vector_key
                        or int(man.get("dim", 0)) != local.manifest.dim):
                from ..errors import EncoderMismatch

                raise EncoderMismatch(
                    f"{_redact(url)} holds vectors of {man.get('encoder')!r}; this index's "
                    f"are {local.vector_key!r} (use another database)")
            _schema(conn, local.manifest.dim)
            counts = _mirror(conn, local, batch)
            for k, v in {"encoder": local.vector_key, "encoder_name": local.manifest.encoder,
                         "dim": local.manifest.dim,
                         "chunking": json.dumps(local.manifest.chunking),
                         "generation": local.store.generation(),
                         "source": str(local.path)}.items():
                conn.execute("INSERT INTO sk_manifest VALUES (%s, %s) ON CONFLICT (key) "
                             "DO UPDATE SET value = EXCLUDED.value", [k, str(v)])
        return counts
    finally:
        conn.close()


def _has_tables(conn) -> bool:
    return conn.execute("SELECT to_regclass('sk_manifest') IS NOT NULL").fetchone()[0]


def _mirror(conn, local, batch: int) -> dict:
    ours = {r["id"]: r for r in local.store.documents()}
    theirs = {i: (h, t, (p, m, r)) for i, h, t, p, m, r in conn.execute(
        "SELECT id, content_hash, indexed_at, path, mtime, real_path FROM sk_documents")}
    stale = [i for i, (h, t, _) in theirs.items()
             if i not in ours or (ours[i]["content_hash"], ours[i]["indexed_at"]) != (h, t)]
    # moved (or loaded before real_path was kept): same content, other place
    where = {i: (d["path"], d["mtime"], d.get("real_path")) for i, d in ours.items()}
    moved = [(*where[i], i) for i, (_, _, place) in theirs.items()
             if i in ours and i not in stale and where[i] != place]
    if stale:
        conn.execute("DELETE FROM sk_documents WHERE id = ANY(%s)", [stale])
    if moved:  # paths are unique: park the moved rows first, then set their new paths
        conn.cursor().executemany("UPDATE sk_documents SET path = 'searchkit:moving:' || "
                                  "id::text WHERE id = %s", [(m[-1],) for m in moved])
        conn.cursor().executemany("UPDATE sk_documents SET path = %s, mtime = %s, "
                                  "real_path = %s WHERE id = %s", moved)
    new = sorted(set(ours) - (set(theirs) - set(stale)))
    with conn.cursor().copy(f"COPY sk_documents ({', '.join(_DOC_COLS)}) FROM STDIN") as cp:
        for i in new:
            d = ours[i]
            cp.write_row([d.get(c) for c in _DOC_COLS])
    n_chunks = _copy_chunks(conn, local, set(new), batch)
    return {"documents_loaded": len(new), "documents_deleted": len(stale) - len(
        set(stale) & set(new)), "documents_moved": len(moved), "chunks_loaded": n_chunks}


def _copy_chunks(conn, local, doc_ids: set[int], batch: int) -> int:
    if not doc_ids:
        return 0
    from pgvector import Vector

    dim = local.manifest.dim
    n = 0
    with conn.cursor().copy(f"COPY sk_chunks ({', '.join(_CHUNK_COLS)}, embedding) "
                            f"FROM STDIN") as cp:
        cur = local.store.chunk_rows_with_vectors(_CHUNK_COLS, local.vector_key)
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            for r in rows:
                if r[1] in doc_ids:
                    vec = np.frombuffer(r[-1], dtype=np.float32, count=dim)
                    cp.write_row([*r[:-1], Vector(vec).to_text()])
                    n += 1
    return n


class PostgresIndex(Closing):
    """The read side of an index held in Postgres: search, documents, stats. With
    ``local`` (the index folder it mirrors), :meth:`add_paths` and :meth:`remove` sync
    the folder and load the result."""

    def __init__(self, url: str, local=None, encoder: str | None = None):
        self.url = url
        self.local = local
        self.conn = _connect(url)
        if not _has_tables(self.conn):
            self.manifest = None
            if local is None:
                self.conn.close()
                raise IndexNotFound(f"no searchkit index in {_redact(url)} (load one with: "
                                    f"search index PATH --store URL)")
        else:
            self.manifest = dict(self.conn.execute(
                "SELECT key, value FROM sk_manifest").fetchall())
            self.conn.commit()
        if encoder and self.manifest:
            from ..encoders import same_encoder

            if not same_encoder(encoder, self.manifest["encoder_name"]):
                from ..errors import EncoderMismatch

                raise EncoderMismatch(f"{_redact(url)} was built with encoder "
                                      f"{self.manifest['encoder_name']!r}, not {encoder!r}")
        self._encoder = None

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()
        if self.local is not None:
            self.local.close()

    @property
    def encoder(self):
        if self._encoder is None:
            from ..encoders import get_encoder

            name = self.manifest["encoder_name"] if self.manifest else \
                self.local.manifest.encoder
            self._encoder = get_encoder(name)
        return self._encoder

    # -- writing (through the local index) -------------------------------------------------
    def add_paths(self, paths, *args, **kwargs):
        report = self._local().add_paths(paths, *args, **kwargs)
        if not kwargs.get("dry_run"):
            self.load()
        return report

    def remove(self, paths: Iterable[str]) -> int:
        n = self._local().remove(paths)
        self.load()
        return n

    def load(self) -> dict:
        counts = load_index(self._local(), self.url)
        self.manifest = dict(self.conn.execute("SELECT key, value FROM sk_manifest").fetchall())
        self.conn.commit()
        return counts

    def _local(self):
        if self.local is None:
            raise SearchkitError("this Postgres index was opened without its index folder; "
                                 "write through Index.create(PATH, store=URL)")
        return self.local

    # -- reading ---------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, method: str | None = None, group: bool = True,
               highlight: bool = False, diverse: bool = False, fuse=None, weights=None,
               rrf_k: float | None = None, combine: str | None = None,
               **filters) -> list[Hit]:
        """Rank passages for ``query``: ``dense`` (pgvector HNSW, the default), ``fts``
        (Postgres full-text search, ``ts_rank_cd``) or ``hybrid`` (reciprocal rank fusion of
        the two, k=60). Filters as :meth:`searchkit.index.Index.search`, as SQL."""
        from ..query import check_query

        query = check_query(query)
        if k < 1:
            raise BadUsage("k must be at least 1")
        method = method or "dense"
        if method not in METHODS:
            raise BadUsage(f"method {method!r} is not available on a Postgres store: use "
                           f"{', '.join(METHODS)}")
        if diverse or fuse or weights:
            raise BadUsage("--diverse and --fuse/--weights are not available on a "
                           "Postgres store")
        if combine not in (None, "rrf"):
            raise BadUsage(f"--combine {combine} is not available on a Postgres store: its "
                           "hybrid is reciprocal rank fusion (rrf)")
        if self.manifest is None:
            return []
        where, params = sql_filters(**filters)
        fetch = k * 8 if group else k
        while True:
            ranked = self._ranked(query, fetch, method, where, params, rrf_k or 60.0)
            rows = self._rows([i for i, _ in ranked])
            if group:
                seen: set[int] = set()
                best = []
                for cid, s in ranked:
                    d = rows[cid]["doc_id"]
                    if d not in seen:
                        seen.add(d)
                        best.append((cid, s))
                if len(best) < k and len(ranked) >= fetch:
                    fetch *= 4
                    continue
                ranked = best
            break
        from ..query import hits_from_rows

        hits = hits_from_rows(ranked[:k], rows, method)
        if highlight and hits:
            from ..highlight import highlight_hits

            hits = highlight_hits(self.encoder, query, hits)
        return hits

    def _ranked(self, query, fetch, method, where, params, rrf_k) -> list[tuple[int, float]]:
        if method == "dense":
            return self._dense(query, fetch, where, params)
        if method == "fts":
            return self._fts(query, fetch, where, params)
        fused: dict[int, float] = {}
        for ranked in (self._dense(query, fetch, where, params),
                       self._fts(query, fetch, where, params)):
            for r, (cid, _) in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + r + 1)
        return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:fetch]

    def _dense(self, query, fetch, where, params) -> list[tuple[int, float]]:
        from pgvector import Vector

        q = Vector(np.asarray(self.encoder.encode_queries([query])[0], dtype=np.float32))
        with self.conn.transaction():
            self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, int(fetch))}")
            self.conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")  # filters
            rows = self.conn.execute(
                "SELECT c.id, -(c.embedding <#> %s) FROM sk_chunks c JOIN sk_documents d ON "
                f"d.id = c.doc_id {where} ORDER BY c.embedding <#> %s LIMIT %s",
                [q, *params, q, fetch]).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def _fts(self, query, fetch, where, params) -> list[tuple[int, float]]:
        cond = "c.tsv @@ q" + (" AND " + where[len("WHERE "):] if where else "")
        with self.conn.transaction():
            rows = self.conn.execute(
                "SELECT c.id, ts_rank_cd(c.tsv, q) AS s FROM sk_chunks c JOIN sk_documents d "
                "ON d.id = c.doc_id, websearch_to_tsquery('english', %s) q "
                f"WHERE {cond} ORDER BY s DESC, c.id LIMIT %s",
                [query, *params, fetch]).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def _rows(self, ids: Sequence[int]) -> dict[int, dict]:
        if not ids:
            return {}
        with self.conn.transaction():
            cur = self.conn.execute(
                "SELECT c.id, c.doc_id, d.path, d.title, c.text, c.start_char, c.end_char, "
                "c.start_line, c.end_line, c.page, c.heading, d.unit FROM sk_chunks c JOIN "
                "sk_documents d ON d.id = c.doc_id WHERE c.id = ANY(%s)", [list(ids)])
            names = [c.name for c in cur.description]
            return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}

    def documents(self) -> list[dict]:
        with self.conn.transaction():
            cur = self.conn.execute(f"SELECT {', '.join(_DOC_COLS)} FROM sk_documents "
                                    "ORDER BY id")
            return [dict(zip(_DOC_COLS, r)) for r in cur.fetchall()]

    def stats(self) -> dict:
        with self.conn.transaction():
            docs, chunks = self.conn.execute(
                "SELECT (SELECT count(*) FROM sk_documents), (SELECT count(*) FROM sk_chunks)"
            ).fetchone()
        m = self.manifest or {}
        return {"store": _redact(self.url), "documents": docs, "chunks": chunks,
                "encoder": m.get("encoder_name"), "dim": int(m.get("dim", 0)) or None,
                "generation": int(m.get("generation", 0)), "source": m.get("source")}


def sql_filters(path=None, ext=None, modified_after=None, metadata=None,
                **unknown) -> tuple[str, list[Any]]:
    """The filters of :func:`searchkit.filters.allowed_chunk_ids` as a parameterised SQL
    ``WHERE`` clause on ``sk_documents d`` (``""`` when none is set)."""
    from ..filters import FILTER_KEYS, string_list, normalize_exts, to_timestamp

    if unknown:
        raise BadUsage(f"unknown filter {sorted(unknown)[0]!r}; filters are: "
                       + ", ".join(FILTER_KEYS))
    conds: list[str] = []
    params: list[Any] = []
    globs = string_list(path)
    if globs:
        conds.append("(" + " OR ".join(["d.path ~ %s OR d.real_path ~ %s"] * len(globs))
                     + ")")
        params += [rx for g in globs for rx in [_glob_to_regex(g)] * 2]
    exts = normalize_exts(ext) if ext else set()
    if exts:
        conds.append("(" + " OR ".join(["lower(d.path) LIKE %s ESCAPE '\\'"] * len(exts)) + ")")
        params += ["%" + _escape_like(e) for e in sorted(exts)]
    if modified_after not in (None, ""):
        conds.append("d.mtime > %s")
        params.append(to_timestamp(modified_after))
    for key, value in (metadata or {}).items():
        values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        conds.append("d.metadata ->> %s = ANY(%s)")
        params += [str(key), values]
    return ("WHERE " + " AND ".join(conds), params) if conds else ("", [])


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _glob_to_regex(glob: str) -> str:
    """A path glob as an anchored Postgres regular expression with the local store's
    meaning (:func:`searchkit.filters.path_matches`, ``fnmatchcase``): ``*`` any characters
    (``/`` included), ``?`` one, ``[...]`` / ``[!...]`` a class (an unclosed ``[`` is a
    literal); a leading ``./`` is dropped; a relative glob matches the whole path or any
    tail of it after a ``/``, an absolute one any tail (as the local ``*/GLOB`` try)."""
    from ..filters import check_glob

    g = check_glob(glob).removeprefix("./")
    if g.startswith("/"):
        return "^.*/" + _glob_body(g.lstrip("/")) + "$"
    return "^(.*/)?" + _glob_body(g) + "$"


def _glob_body(g: str) -> str:
    out, i, n = [], 0, len(g)
    while i < n:
        c = g[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (i < n and g[i] == "!")
            j += j < n and g[j] == "]"  # a "]" first is a member, as in fnmatch
            while j < n and g[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
            else:
                out.append(_glob_class(g[i:j]))
                i = j + 1
        elif c.isalnum() or c == "_" or ord(c) > 127:
            out.append(c)
        else:
            out.append("\\" + c)  # in an ARE, a backslash + non-alphanumeric is that character
    return "".join(out)


def _glob_class(stuff: str) -> str:
    """The inside of a glob's ``[...]`` as a regular expression's bracket expression."""
    neg = stuff.startswith("!")
    body = stuff[1:] if neg else stuff  # a reversed range was refused (check_glob)
    escaped = "".join("\\" + ch if ch in "\\[]^" else ch for ch in body)
    return "[" + ("^" if neg else "") + escaped + "]"
