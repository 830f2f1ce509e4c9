"""Cold ``search query`` (a fresh process) on a minilm-int8 index, against the bare imports.

    python benchmarks/cold_query.py [--index DIR] [--corpus DIR] [--runs 10]

Each run starts fresh processes, interleaved so that load from other processes hits every
variant alike:

- ``baseline``: ``python -c "import faiss, onnxruntime"`` (what any FAISS + ONNX Runtime
  query tool must pay);
- ``imports``: the modules a dense query loads, and nothing else (where the rest goes);
- ``dense``: ``search query Q --method dense --no-highlight``;
- ``dense+highlight``: ``search query Q --method dense`` (highlights are on by default:
  they embed every sentence of the hits);
- ``default``: ``search query Q`` exactly as a user types it (default method, highlights);
- ``hybrid``: ``search query Q --method hybrid --no-highlight`` (BM25 loaded from disk).

Prints one JSON object: median wall seconds, median CPU seconds (user + sys of the child,
less sensitive to a busy machine than wall time) and the largest peak RSS of each variant,
and each one's ratio to the baseline measured in the same run. Targets (issue #14):
``default`` <= 2.0 x baseline on sample_corpus and on a 40k+ passage index alike;
``dense`` <= 1.5 x; peak RSS of ``default`` <= 300 MiB.

The index is ``--index`` if given, else ``--corpus`` (default: sample_corpus/) indexed
with ``minilm-int8`` into a temporary folder first (the ONNX export is cached, see
``searchkit.encoders.onnx``). Queries are SciFact claims (a different one per run) when
/work/shared/eval/scifact exists, else fixed phrases. The page cache is warm: "cold" means
a new process, as a user running the command twice in a row sees it.

Children run with Python's default bytecode caching: PYTHONDONTWRITEBYTECODE is removed
from their environment, because a sandbox that sets it (this one does) makes every process
recompile searchkit's sources, which no default Python install does. ``--no-bytecode``
measures that case: searchkit's ``__pycache__`` folders are deleted first and none is
written (installed packages keep the .pyc files pip compiled for them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = Path("/work/shared/eval/scifact/queries.jsonl")
IMPORTS = ("import numpy, faiss, onnxruntime, click; import searchkit.cli, "
           "searchkit.api, searchkit.index, searchkit.query, searchkit.retrieval.dense, "
           "searchkit.encoders.onnx")


def search_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("search")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]


def timed(cmd: list[str], env: dict, ok=(0,)) -> tuple[float, float, float]:
    """Wall and CPU (user + sys) seconds and peak RSS (MiB) of one child process whose exit
    status is in ``ok``."""
    err = tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        err.seek(0)
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): "
                         f"{err.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def queries(n: int) -> list[str]:
    if QUERIES.exists():
        out = []
        with open(QUERIES, encoding="utf-8") as f:
            for line in f:
                out.append(json.loads(line)["text"])
                if len(out) == n:
                    break
        return out
    base = ["how do rivers wear away their banks", "vitamin D and bone fractures",
            "planting a wildflower meadow", "why do bridges need expansion joints"]
    return [base[i % len(base)] for i in range(n)]


def build_index(corpus: Path, where: Path, env: dict) -> Path:
    path = where / "idx"
    r = subprocess.run([*search_cmd(), "index", str(corpus), "--index", str(path),
                        "-q"], env=env, capture_output=True,
                       text=True)
    if r.returncode not in (0, 3):
        raise SystemExit(f"indexing failed: {r.stderr[-2000:]}")
    return path


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=None)
    ap.add_argument("--corpus", type=Path, default=ROOT / "sample_corpus")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE: every process recompiles sources")
    ap.add_argument("--variants", default="baseline,imports,dense,dense+highlight,default,"
                                          "hybrid")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    tmp = Path(tempfile.mkdtemp(prefix="cold-query-"))
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for cache in (ROOT / "searchkit").rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        index = args.index or build_index(args.corpus, tmp, env)
        search = search_cmd()
        variants = {
            "baseline": lambda q: [sys.executable, "-c", "import faiss, onnxruntime"],
            "imports": lambda q: [sys.executable, "-c", IMPORTS],
            "dense": lambda q: [*search, "query", q, "--index", str(index), "--method",
                                "dense", "--no-highlight"],
            "dense+highlight": lambda q: [*search, "query", q, "--index", str(index),
                                          "--method", "dense"],
            "default": lambda q: [*search, "query", q, "--index", str(index)],
            "hybrid": lambda q: [*search, "query", q, "--index", str(index), "--method",
                                 "hybrid", "--no-highlight"],
        }
        names = [v for v in args.variants.split(",") if v]
        # Untimed warm-up: page cache, .pyc files, the hybrid's saved BM25 baseline.
        for name in names:
            timed(variants[name]("warm up"), env)
        qs = queries(args.runs)
        walls: dict[str, list[float]] = {n: [] for n in names}
        cpus: dict[str, list[float]] = {n: [] for n in names}
        rss: dict[str, float] = {n: 0.0 for n in names}
        for q in qs:
            for name in names:
                w, c, m = timed(variants[name](q), env)
                walls[name].append(w)
                cpus[name].append(c)
                rss[name] = max(rss[name], m)
        med_w = {n: statistics.median(v) for n, v in walls.items()}
        med_c = {n: statistics.median(v) for n, v in cpus.items()}
        result = {
            "index": str(index), "runs": len(qs), "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in env,
            "wall_s": {n: round(v, 4) for n, v in med_w.items()},
            "cpu_s": {n: round(v, 4) for n, v in med_c.items()},
            "peak_rss_mib": {n: round(v, 1) for n, v in rss.items()},
        }
        if "baseline" in names:
            result["wall_ratio_to_baseline"] = {n: round(med_w[n] / med_w["baseline"], 3)
                                                for n in names if n != "baseline"}
            result["cpu_ratio_to_baseline"] = {n: round(med_c[n] / med_c["baseline"], 3)
                                               for n in names if n != "baseline"}
            if "dense" in names:
                result["target_dense_le_1.5x"] = result["wall_ratio_to_baseline"]["dense"] <= 1.5
            if "default" in names:
                result["target_default_le_2.0x"] = (
                    result["wall_ratio_to_baseline"]["default"] <= 2.0)
                result["target_default_rss_le_300mib"] = rss["default"] <= 300
        print(json.dumps(result, indent=2))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
