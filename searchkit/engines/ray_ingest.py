"""Distributed ingest on Ray: files are parsed and chunked by a Ray Data ``map_batches``
actor pool (each actor loads the tokenizer once) and come back in the order the files were
planned; this process groups them into commit groups exactly as the local path does, and a
pool of encoder actors (each loads the model once) embeds the groups, several at a time.
The one writer in this process commits them as the local path does (same sync plan, same
lock, same commit groups).

Why groups, not Ray Data batches, go to the encoders: a quantised encoder (``minilm-int8``
quantises activations per batch) gives a text slightly different vectors in different
batches. Embedding each commit group's new texts in the local path's batches (longest
first, 32 at a time) keeps the vectors equal to the local path's.

Fault tolerance is Ray's: an actor that dies is restarted and its work re-run (Ray Data
hands a block's output to the driver once; an encoder call is retried until it returns).
The writer's commits are idempotent per document (a document's chunks are replaced in the
transaction that writes it), so a re-run can neither lose nor duplicate passages.

Loopback: Ray resolves ``127.0.0.1`` to the machine's outward address unless told the
node is local; :func:`_loopback` makes a local instance (and a driver connecting to a
``127.0.0.1:PORT`` cluster) bind and connect on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import numpy as np

from ..errors import BadInput, SearchkitError

#: Files per Ray Data batch (read and chunked by one reader actor call).
DOCS_PER_BATCH = 8
#: Texts per encoder call inside a commit group: the local encoder thread's batch size.
ENCODE_BATCH = 32
#: Environment passed to Ray workers (so they find the same models, caches and code).
_FORWARD_ENV = ("PYTHONPATH", "SEARCHKIT_HOME", "SEARCHKIT_CACHE", "HF_HUB_OFFLINE",
                "SEARCHKIT_MAX_FILE_MB")


def ray_available() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise SearchkitError("--engine ray needs Ray Data: pip install 'searchkit[ray]' "
                             "(or: pip install 'ray[data]')") from None
    return ray


def _is_loopback(address: str | None) -> bool:
    if address is None:
        return True
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


@contextlib.contextmanager
def _loopback(on: bool):
    """While on, Ray takes 127.0.0.1 as this node's address instead of resolving it to the
    outward one (its own switch for single-machine clusters)."""
    if not on:
        yield
        return
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


class _Ingest:
    """A Ray Data actor: read and chunk a batch of files. The tokenizer loads once, in the
    constructor. :func:`_ingest_class` sets ``ENCODER`` and ``CHUNKING`` on a subclass: an
    actor whose constructor takes arguments cannot be restarted once they leave Ray's
    object store."""

    ENCODER = ""
    CHUNKING: dict = {}

    def __init__(self):
        from ..config import ChunkSettings
        from ..encoders import get_encoder
        from ..prepare import Chunker

        enc = get_encoder(self.ENCODER)
        enc.tokenizer  # noqa: B018 (load now, once per actor)
        self.chunker = Chunker(enc, ChunkSettings(**self.CHUNKING))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        from ..errors import ReadError

        out: list[bytes] = []
        done: list[Any] = []
        for path, data, digest, size, mtime, limit in zip(
                batch["path"], batch["data"], batch["digest"], batch["size"],
                batch["mtime"], batch["max_bytes"]):
            path = Path(str(path))
            try:
                # a long document comes as its parts (the local path's segments), pickled
                # together so that they share their ``doc_ref``; a large file (no data) is
                # read again here as the local reader does
                done.append(list(self.chunker.read_file(
                    path, bytes(data) if data is not None else None, str(digest),
                    int(size), float(mtime), int(limit))))
            except ReadError as e:
                done.append((str(path), str(e)))
            except SearchkitError as e:
                done.append(e)  # e.g. an encoder mismatch: stops the run, in the driver
            except Exception as e:  # a reader bug must not abort the run
                done.append((str(path), f"could not read ({type(e).__name__}: {e})"))
        for p in done:
            out.append(pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL))
        return {"result": out}


class SearchkitEncoder:
    """A Ray actor holding the encoder (loaded once): embeds one commit group's new texts
    as the local encoder thread does (see :class:`searchkit.pipeline._Encoding`)."""

    def __init__(self, encoder: str):
        from ..encoders import get_encoder

        self.enc = get_encoder(encoder)
        self.enc.encode_documents(["load the model now, once per actor"])

    def embed(self, texts: list[str]) -> list[tuple]:
        """(vector, packed sentence vectors or None) per text, in order: longest first,
        ``ENCODE_BATCH`` at a time, as the local path batches them."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with_sentences = getattr(self.enc, "embed_with_sentences", None)
        out: list[Any] = [None] * len(texts)
        for s in range(0, len(order), ENCODE_BATCH):
            idx = order[s:s + ENCODE_BATCH]
            batch = [texts[i] for i in idx]
            if with_sentences:
                vecs, blobs = with_sentences(batch)
            else:
                vecs = self.enc.encode_documents(batch, batch_size=ENCODE_BATCH)
                blobs = [None] * len(idx)
            for i, v, b in zip(idx, np.asarray(vecs, dtype=np.float32), blobs):
                out[i] = (v, b)
        return out


def _ingest_class(index) -> type:
    s = index.chunk_settings
    return type("SearchkitIngest", (_Ingest,), {
        "ENCODER": index.manifest.encoder,
        "CHUNKING": {"max_tokens": s.max_tokens, "overlap": s.overlap}})


class RayPipeline:
    """``pipeline`` for :meth:`searchkit.index.Index.add_paths`: reads, chunks and embeds
    the files to (re-)index on Ray.

    Args:
        address: a running cluster (``HOST:PORT`` of its head, or ``auto``); default: a
            Ray started in this process for the run, bound to 127.0.0.1.
        actors: encoder actors (each loads the model once); default: one per CPU of the
            cluster.
        docs_per_batch: files per Ray batch.
    """

    def __init__(self, address: str | None = None, actors: int | None = None,
                 docs_per_batch: int = DOCS_PER_BATCH):
        if actors is not None and actors < 1:
            raise BadInput("--actors must be at least 1")
        self.address = address
        self.actors = actors
        self.docs_per_batch = docs_per_batch

    # The writer calls ``pipeline(index, to_read, by_path, report)`` and iterates the
    # result inside a ``with`` block, as it does the local reader thread.
    def __call__(self, index, to_read, by_path: dict, report,
                 max_bytes: int | None = None) -> "_RayRun":
        return _RayRun(self, index, to_read, by_path, report, max_bytes)


class _RayRun:
    def __init__(self, conf: RayPipeline, index, to_read, by_path, report,
                 max_bytes: int | None = None):
        from ..config import max_file_bytes

        self.conf, self.index, self.by_path, self.report = conf, index, by_path, report
        self.max_bytes = max_file_bytes() if max_bytes is None else max_bytes
        self.items = list(to_read)
        to_read.clear()
        self.started = False

    def __enter__(self) -> Iterator:
        return self._stream()

    def __exit__(self, *exc) -> None:
        if self.started:
            import ray

            ray.shutdown()

    def _connect(self) -> Any:
        ray = _import_ray()
        if ray.is_initialized():
            return ray  # the caller's Ray
        kwargs: dict[str, Any] = dict(log_to_driver=False, logging_level=logging.WARNING)
        if self.conf.address is None:
            kwargs.update(num_cpus=max(os.cpu_count() or 1, self.conf.actors or 1),
                          include_dashboard=False)
        try:
            with _loopback(_is_loopback(self.conf.address)):
                ray.init(address=self.conf.address or "local", **kwargs)
        except ConnectionError as e:
            raise SearchkitError(f"cannot reach the Ray cluster at {self.conf.address}: "
                                 f"{e}") from None
        self.started = True
        return ray

    def _stream(self) -> Iterator:
        if not self.items:
            return
        ray = self._connect()
        for name in ("ray", "ray.data"):  # the writer shows progress; Ray's INFO is noise
            logging.getLogger(name).setLevel(logging.WARNING)
        from ray.data import ActorPoolStrategy, DataContext

        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True  # the local path's document order
        ctx.enable_progress_bars = False  # the writer shows progress
        rows = [{"path": str(path), "data": data, "digest": digest, "size": found.size,
                 "mtime": found.mtime, "max_bytes": self.max_bytes}
                for path, data, digest, found in self.items]
        self.items = []
        per = max(1, self.conf.docs_per_batch)
        n_batches = -(-len(rows) // per)
        actors = self.conf.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actors = min(actors, n_batches)
        ds = ray.data.from_items(rows, override_num_blocks=n_batches)
        del rows
        env = {k: os.environ[k] for k in _FORWARD_ENV if k in os.environ}
        renv = {"env_vars": env} if env else None
        ds = ds.map_batches(_ingest_class(self.index), batch_size=per,
                            compute=ActorPoolStrategy(size=actors), num_cpus=0.25,
                            runtime_env=renv)
        # A reader and an encoder per CPU: the encoders do nearly all the work.
        encoder = ray.remote(SearchkitEncoder).options(num_cpus=0.75, max_restarts=-1,
                                                       max_task_retries=-1, runtime_env=renv)
        pool = [encoder.remote(self.index.manifest.encoder) for _ in range(actors)]

        def documents() -> Iterator:
            for row in ds.iter_rows():
                p = pickle.loads(row["result"])
                if isinstance(p, Exception):
                    raise p
                yield from _classify(p, self.by_path, self.report)

        try:
            yield from _embedded_groups(self.index, documents(), pool)
        finally:
            for a in pool:
                ray.kill(a)


def _embedded_groups(index, documents: Iterator, pool: list) -> Iterator:
    """The documents, each with the vectors of the texts the writer will find new in its
    commit group (the writer's own grouping and ``new_texts``, so the same texts in the same
    batches), embedded by the actors in ``pool``, up to one group per actor in flight."""
    import ray

    from ..pipeline import document_groups, commit_chunks

    planned: set[str] = set()
    flight: list = []  # (group, hashes, ObjectRef), oldest first
    turn = 0

    def finish(group, hashes, ref):
        got = ray.get(ref) if ref is not None else []
        vectors = dict(zip(hashes, got))
        for p in group:
            p.vectors = {c["text_hash"]: vectors[c["text_hash"]] for c in p.chunks
                         if c["text_hash"] in vectors}
        return group

    for group in document_groups(documents, commit_chunks()):
        todo = index.writer.new_texts(group, index.vector_key, planned)
        ref = None
        if todo:
            ref = pool[turn % len(pool)].embed.remote(list(todo.values()))
            turn += 1
        flight.append((group, list(todo), ref))
        if len(flight) > len(pool):
            yield from finish(*flight.pop(0))
    while flight:
        yield from finish(*flight.pop(0))


def _classify(p, by_path: dict, report) -> Iterator:
    """What the local reader does with a file's outcome (see ``IndexWriter._prepared``):
    a skip reason is reported, a document without chunks skipped, else new or changed."""
    from ..types import Skipped

    if isinstance(p, tuple):
        key, reason = p
        report.skipped.append(Skipped(key, reason))
        return
    parts = p if isinstance(p, list) else [p]  # a long document's segments, in order
    if not parts or not parts[0].chunks:
        if parts:
            report.skipped.append(Skipped(parts[0].path, "no text"))
        return
    p = parts[0]
    old = by_path.get(p.path)
    p.replaces = old["id"] if old else None
    p.kind = "changed" if old else "new"
    (report.changed if old else report.new).append(p.path)
    yield from parts
