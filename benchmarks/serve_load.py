"""Load on `search serve`: 1, 4 and 16 concurrent clients against a running server.

Measures, in one run on one machine:
  * the in-process time of the same calls (``Service.search`` / ``Service.ask`` in this
    process, before the server starts), the baseline of the HTTP overhead;
  * for search (the API's defaults: hybrid, k=10, highlights) and ask, at 1, 4 and 16
    clients: requests/s, p50 and p95 latency, errors;
  * the server's RSS after 1,000 and after 10,000 requests (dense search, k=10, no
    highlights: the cheapest full path through encoder, FAISS, SQLite and JSON).

The server runs ``search serve --workers N`` (``--workers``, default ``auto`` as the
command's own default: one process per core up to 4, each with cores/N encoder threads); the in-process baseline runs its encoder with the
same threads, and, for comparison, with every core.

Targets (issue #15): HTTP p50 of search at one client <= in-process p50 + 3 ms; 16 clients
without errors at >= 1.5x one client's throughput; RSS after 10,000 requests within 10% of
RSS after 1,000. Prints JSON and writes benchmarks/results/serve_load.json.

    # an index of SciFact (built by search eval; minilm-int8 recommended)
    search eval ../shared/eval/scifact --encoder minilm-int8 --method dense
    python benchmarks/serve_load.py --index indexes/eval/scifact-minilm-int8-256-32
    # or: build (once) an index of SciFact's first N documents, then load it
    python benchmarks/serve_load.py --index /tmp/scifact-1000 --build 1000 --encoder minilm-int8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUERIES = ROOT.parent / "shared" / "eval" / "scifact" / "queries.jsonl"


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def summary(lat: list[float], wall: float, errors: int) -> dict:
    return {"requests": len(lat) + errors, "errors": errors,
            "rps": round(len(lat) / wall, 2) if wall else None,
            "p50_ms": round(1000 * percentile(lat, 50), 2) if lat else None,
            "p95_ms": round(1000 * percentile(lat, 95), 2) if lat else None}


def in_process(index: str, queries: list[str], n_search: int, n_ask: int,
               threads: int | None = None) -> dict:
    """Search and ask timed in this process; ``threads``: the encoder's intra-op threads
    (None: the default, every core)."""
    from searchkit.encoders import _cache
    from searchkit.serve.core import Service

    _cache.clear()  # a fresh encoder, so its session takes ``threads``
    if threads:
        os.environ["SEARCHKIT_ONNX_THREADS"] = str(threads)
    else:
        os.environ.pop("SEARCHKIT_ONNX_THREADS", None)
    svc = Service(index)
    try:
        svc.search(queries[0], k=10, highlight=True)  # baselines built, caches warm
        svc.ask(queries[0])
        out = {}
        for name, n, call in (("search", n_search, lambda q: svc.search(q, k=10, highlight=True)),
                              ("ask", n_ask, lambda q: svc.ask(q))):
            lat = []
            t0 = time.perf_counter()
            for i in range(n):
                t = time.perf_counter()
                call(queries[i % len(queries)])
                lat.append(time.perf_counter() - t)
            out[name] = summary(lat, time.perf_counter() - t0, 0)
        return out
    finally:
        svc.close()
        os.environ.pop("SEARCHKIT_ONNX_THREADS", None)


def build_subset(dataset: str, index: str, n: int, encoder: str) -> dict:
    """Index SciFact's first ``n`` documents (all when 0), as ``search eval`` would."""
    import dataclasses

    from searchkit.eval import load_beir
    from searchkit.eval.runner import build_index

    ds = load_beir(dataset, "test")
    if n:
        ds = dataclasses.replace(ds, corpus=dict(list(ds.corpus.items())[:n]))
    t = time.perf_counter()
    idx, info = build_index(ds, index, encoder=encoder)
    idx.close()
    return {"documents": info.documents, "chunks": info.chunks,
            "seconds": round(time.perf_counter() - t, 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: str, port: int, workers: int = 1,
                 encoder_slots: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if encoder_slots is not None:
        env["SEARCHKIT_SERVE_ENCODER_SLOTS"] = str(encoder_slots)
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "serve", "--index", index,
                             "--port", str(port), "--rate-limit", "0", "-q",
                             "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/stats")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


def load(port: int, paths: list[str], clients: int) -> dict:
    """``paths`` requested by ``clients`` threads, each on its own keep-alive connection."""
    lat: list[float] = []
    errors = [0]
    why: dict[str, int] = {}  # what the failed requests got
    lock = threading.Lock()
    it = iter(paths)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        while True:
            with lock:
                path = next(it, None)
            if path is None:
                break
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ok, reason = r.status == 200, f"HTTP {r.status}"
            except (OSError, http.client.HTTPException) as e:
                ok, reason = False, type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            if ok:
                mine.append(time.perf_counter() - t)
            else:
                with lock:
                    errors[0] += 1
                    why[reason] = why.get(reason, 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = summary(lat, time.perf_counter() - t0, errors[0])
    if why:
        out["error_kinds"] = why
    return out


def rss(pid: int) -> int:
    """Resident memory of the server: the process and its worker processes."""
    import psutil

    p = psutil.Process(pid)
    return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, help="index directory to serve")
    ap.add_argument("--build", type=int, default=None, metavar="N",
                    help="when --index does not exist: build it from SciFact's first N "
                         "documents (0: all) with --encoder")
    ap.add_argument("--encoder", default="minilm-int8")
    ap.add_argument("--dataset", default=str(DEFAULT_QUERIES.parent),
                    help="the BEIR dataset --build reads")
    ap.add_argument("--queries", default=str(DEFAULT_QUERIES),
                    help="BEIR queries.jsonl (their text is the query set)")
    ap.add_argument("--search", type=int, default=200, help="search requests per level")
    ap.add_argument("--ask", type=int, default=40, help="ask requests per level")
    ap.add_argument("--rss-requests", type=int, default=10_000)
    ap.add_argument("--workers", default="auto",
                    help="search serve --workers: N or auto, the command's default "
                         "(each worker gets cores/N encoder threads)")
    ap.add_argument("--encoder-slots", type=int, default=None,
                    help="encoder runs at once per worker (0: no cap; default: the "
                         "server's own)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve_load.json"))
    args = ap.parse_args()
    queries = [json.loads(line)["text"] for line in open(args.queries)]
    enc = urllib.parse.quote

    build = None
    if args.build is not None and not (Path(args.index) / "index.db").exists():
        build = build_subset(args.dataset, args.index, args.build, args.encoder)
    t_start = time.time()
    load_before = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    from searchkit.cli.serve import worker_count

    args.workers = worker_count(str(args.workers))
    threads = max(1, cores // args.workers)
    # the baseline runs the encoder as each worker does (cores/N threads); with every core
    # too, when that differs, so the figure of a plain `search query` is beside it
    base = in_process(args.index, queries, args.search, args.ask, threads)
    base_all_cores = (in_process(args.index, queries, args.search, args.ask)
                      if threads != cores else None)
    port = free_port()
    proc = start_server(args.index, port, args.workers, args.encoder_slots)
    try:
        # One client asks what the in-process run asked (paired, both cold: another
        # process); 4 and 16 clients get fresh questions, since ask keeps the sentence
        # vectors of passages it has seen and a repeated question would be cheaper.
        def search_paths(n, start=0, extra=""):
            return [f"/api/search?q={enc(queries[(start + i) % len(queries)])}&k=10{extra}"
                    for i in range(n)]

        def ask_paths(n, start=0):
            return [f"/api/ask?q={enc(queries[(start + i) % len(queries)])}" for i in range(n)]

        warm = len(queries) - 20
        load(port, search_paths(20, warm) + ask_paths(5, warm), 4)  # warm-up
        rss_start = rss(proc.pid)
        http = {"search": {}, "ask": {}}
        for level, c in enumerate((1, 4, 16)):
            http["search"][str(c)] = load(port, search_paths(args.search, level * args.search), c)
            http["ask"][str(c)] = load(port, ask_paths(args.ask, level * args.ask), c)
        cheap = "&method=dense&highlight=false"
        first = load(port, search_paths(1000, extra=cheap), 16)
        rss_1k = rss(proc.pid)
        rest = load(port, search_paths(args.rss_requests - 1000, 1000, cheap), 16)
        rss_10k = rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)

    from searchkit import Index

    with Index.open(args.index) as idx:
        st = idx.stats()
    s1, s16 = http["search"]["1"], http["search"]["16"]
    result = {
        "index": os.path.basename(os.path.normpath(args.index)), "encoder": st["encoder"],
        "documents": st["documents"], "chunks": st["chunks"],
        "built": build, "cores": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "workers": args.workers, "encoder_threads_per_worker": threads,
        "encoder_slots": args.encoder_slots,
        "in_process": base, "in_process_all_cores": base_all_cores, "http": http,
        "rss": {"phase": "dense search, k=10, no highlights, 16 clients",
                "after_warm_up_mb": round(rss_start / 2**20, 1),
                "after_1000_mb": round(rss_1k / 2**20, 1),
                "after_10000_mb": round(rss_10k / 2**20, 1),
                "errors": first["errors"] + rest["errors"], "rps": rest["rps"]},
        "targets": {
            "http_overhead_p50_ms": round(s1["p50_ms"] - base["search"]["p50_ms"], 2),
            "http_overhead_met": s1["p50_ms"] <= base["search"]["p50_ms"] + 3,
            "http_p50_minus_all_cores_p50_ms": round(
                s1["p50_ms"] - base_all_cores["search"]["p50_ms"], 2) if base_all_cores else None,
            "throughput_16_over_1": round(s16["rps"] / s1["rps"], 2),
            "throughput_met": s16["errors"] == 0 and s16["rps"] >= 1.5 * s1["rps"],
            "rss_growth": round(rss_10k / rss_1k - 1, 4),
            "rss_met": rss_10k <= 1.10 * rss_1k,
        },
        "seconds": round(time.time() - t_start, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
