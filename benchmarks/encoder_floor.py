"""How fast can indexing SciFact be? The encoder-only floor, beside what the peers encode.

    python benchmarks/encoder_floor.py [--docs 300] [--corpus /work/shared/eval/scifact/corpus.jsonl]
                                       [--out benchmarks/results/encoder_floor.json]

Issue #14 asks for indexing SciFact in <= 0.6x the time Chroma or LanceDB take. Both peers
embed each document once, truncated to the model's 256 tokens, with the fp32 ONNX (Chroma) or
torch (LanceDB) MiniLM; searchkit embeds every passage of every document (256-token chunks
overlapping by 32, the settings its quality figures are measured with) with the int8 model.

On the first ``--docs`` SciFact documents, in one run, on the same cores:

* the documents as the peers embed them (title + text, truncated to 256 tokens), batches of
  32: through sentence-transformers on torch, what Chroma's and LanceDB's
  sentence-transformers functions run (``peer.torch_s``; needs searchkit[torch]), and
  through the fp32 ONNX graph (``peer.fp32_onnx_s``, a peer that moved to ONNX);
* searchkit's chunks of the same documents (chunked exactly as ``search index`` does)
  through each int8 variant: the shipped recipe, the same without ``reduce_range``, only
  the MatMuls quantised (fp32 attention), and the shipped graph in two single-thread
  sessions on two threads instead of one two-thread session; and fp32 for reference.

``floor_ratio`` = searchkit's encoder-only time with its fastest variant / the peers'
encoder-only time on torch (``floor_ratio_vs_onnx_fp32``: against the fp32 ONNX graph): indexing cannot beat that ratio whatever the rest of the pipeline costs
(the peers pay for more than their encoder too, so their real ratio is lower still).
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit.chunking import chunk_text  # noqa: E402
from searchkit.config import ChunkSettings  # noqa: E402
from searchkit.encoders import get_encoder  # noqa: E402
from searchkit.encoders import onnx as O  # noqa: E402

BATCH = 32


def _session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.disable_prepacking", "1")  # as the encoder does
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _feeds(tok, texts: list[str]) -> list[dict]:
    texts = sorted(texts, key=len, reverse=True)
    out = []
    for s in range(0, len(texts), BATCH):
        encs = tok.encode_batch(texts[s:s + BATCH])
        out.append({"input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64)})
    return out


def _run(sessions, feeds) -> float:
    """Seconds to run every batch; with several sessions, one thread each, batches shared
    round-robin."""
    names = {i.name for i in sessions[0].get_inputs()}
    feeds = [{k: v for k, v in f.items() if k in names} for f in feeds]
    for s in sessions:
        s.run(["last_hidden_state"], feeds[-1])  # warm
    t = time.perf_counter()
    if len(sessions) == 1:
        for f in feeds:
            sessions[0].run(["last_hidden_state"], f)
    else:
        def work(j):
            for f in feeds[j::len(sessions)]:
                sessions[j].run(["last_hidden_state"], f)
        threads = [threading.Thread(target=work, args=(j,)) for j in range(len(sessions))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    return time.perf_counter() - t


def _torch_seconds(model_dir: Path, docs: list[str]) -> float:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")  # max_seq_length 256
    model.encode(docs[:BATCH], batch_size=BATCH)  # warm
    t = time.perf_counter()
    model.encode(docs, batch_size=BATCH)
    return time.perf_counter() - t


def _quantized(src: Path, out: Path, **overrides) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    args = dict(per_channel=O.QUANTIZE["per_channel"], reduce_range=O.QUANTIZE["reduce_range"],
                weight_type=getattr(QuantType, O.QUANTIZE["weight_type"]),
                op_types_to_quantize=O.QUANTIZE["op_types"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    args.update(overrides)
    quantize_dynamic(str(src), str(out), **args)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--corpus", default="/work/shared/eval/scifact/corpus.jsonl")
    ap.add_argument("--out", default="benchmarks/results/encoder_floor.json")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the quantiser's advice on pre-processing
    docs = []
    with open(args.corpus) as f:
        for line in f:
            d = json.loads(line)
            docs.append(f"{d.get('title', '')}\n\n{d.get('text', '')}".strip())
            if len(docs) >= args.docs:
                break
    enc = get_encoder("minilm-int8")
    tok = enc.batch_tokenizer  # truncates at 256 and pads per batch, as the peers' models do
    cs = ChunkSettings()
    from tokenizers import Tokenizer

    plain = Tokenizer.from_file(str(enc.model_dir / "tokenizer.json"))
    plain.no_truncation()
    plain.no_padding()
    chunks = [d[s.start:s.end] for d in docs for s in chunk_text(d, plain, cs)]
    peer_tokens = sum(min(len(plain.encode(d).ids), enc.max_tokens) for d in docs)
    our_tokens = sum(len(plain.encode(c).ids) for c in chunks)
    peer_feeds, our_feeds = _feeds(tok, docs), _feeds(tok, chunks)

    work = Path(tempfile.mkdtemp(prefix="encoder-floor-"))
    O._export(enc.model_dir, work / "fp32.onnx")
    graphs = {
        "fp32": work / "fp32.onnx",
        "int8": enc.model_path,  # the shipped, cached graph
        "int8_no_reduce_range": _quantized(work / "fp32.onnx", work / "a.onnx", reduce_range=False),
        "int8_matmul_only": _quantized(work / "fp32.onnx", work / "b.onnx",
                                       op_types_to_quantize=["MatMul"]),
    }
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load_before = os.getloadavg()
    peer_s = _run([_session(graphs["fp32"], cores)], peer_feeds)
    torch_s = _torch_seconds(enc.model_dir, docs)
    ours = {name: _run([_session(path, cores)], our_feeds) for name, path in graphs.items()}
    ours["int8_two_sessions"] = _run([_session(graphs["int8"], 1) for _ in range(cores)],
                                     our_feeds)
    best = min((v, k) for k, v in ours.items())
    result = {
        "documents": len(docs), "cores": cores, "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "peer": {"texts": len(docs), "tokens": peer_tokens, "torch_s": round(torch_s, 2),
                 "fp32_onnx_s": round(peer_s, 2)},
        "searchkit": {"chunks": len(chunks), "tokens": our_tokens,
                      "seconds": {k: round(v, 2) for k, v in ours.items()},
                      "chunks_per_s": {k: round(len(chunks) / v, 1) for k, v in ours.items()}},
        "token_ratio": round(our_tokens / peer_tokens, 3),
        "fastest": best[1],
        "floor_ratio": round(best[0] / torch_s, 3),
        "floor_ratio_vs_onnx_fp32": round(best[0] / peer_s, 3),
        "target_ratio": 0.6,
    }
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
