"""all-MiniLM-L6-v2 on onnxruntime, fp32 or int8: the fast CPU backend.

On first use the fused ONNX graph is built straight from the packaged safetensors weights
(:mod:`searchkit.encoders.onnx_build`: onnx + numpy, no torch) and, for int8, dynamically
quantised. The result is cached under ``$SEARCHKIT_CACHE/onnx/<key>/model.onnx``, once per
machine and user; encoding then needs only onnxruntime, tokenizers and numpy, so neither
building nor querying ever imports torch.

The cached graph keeps its weights beside it in ``model.onnx.data`` (ONNX external data): onnxruntime then
maps the weights instead of parsing them out of one 70 MB protobuf, which makes loading the
session, the largest cost of a cold ``search query`` after the imports, much cheaper in CPU
time (measured once, on the int8 model).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from functools import cached_property
from pathlib import Path
from typing import TypedDict

import numpy as np

from .base import Encoder, TokenVectors

# Bump when the export pipeline changes in a way the options below do not capture.
EXPORT_FORMAT = 2  # 2: weights as external data (model.onnx.data)
#: How the fp32 graph is made; part of the cache key, not of the revision: the graph built
#: from safetensors is the one the torch export + onnxruntime optimizer made before (fp32 and
#: int8 outputs equal to the bit, checked when it was written), so indexes stay valid.
BUILDER = "safetensors-1"
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Quantize(TypedDict):
    """How the int8 graph is made (onnxruntime's quantize_dynamic arguments)."""

    per_channel: bool
    reduce_range: bool
    weight_type: str  # a QuantType member's name
    op_types: list[str]
    exclude: str | None  # a regex of node names left in fp32; None quantises them all


# Fusing attention/layer-norm/gelu before quantising makes int8 faster, and QAttention
# then covers the Q/K/V projections too. Per-channel scales keep int8 close to fp32 in
# cosine; reduce_range (7-bit weights) avoids the u8*s8 saturation of AVX2 kernels that
# lack VNNI. Every MatMul is quantised, the feed-forward output projections too: keeping
# those fp32 (they take GELU's wide-ranged outputs) raised the worst passage cosine a
# little but left a third of the matrix work in fp32, for no gain in nDCG@10. As shipped,
# on SciFact (2 cores, AVX2): 30.47 passages/s against torch's 17.32, cosine to torch at
# least 0.990 (benchmarks/results/encoders.json); dense nDCG@10 0.6497 against torch's
# 0.6536 on the test split (benchmarks/results/default_encoder.json).
# Embedding tables stay fp32: quantising them saves disk, not time.
OPTIMIZE = {"model_type": "bert", "num_heads": 12, "hidden_size": 384}
QUANTIZE: Quantize = {"per_channel": True, "reduce_range": True, "weight_type": "QInt8",
                      "op_types": ["MatMul", "Attention"], "exclude": None}

# Number of exports this process has run; tests use it to see the cache being reused.
EXPORTS = 0
#: Batches of ASCII text up to this many characters are tokenized in pure Python until the
#: ``tokenizers`` one is loaded (see searchkit.encoders.wordpiece): queries and highlight
#: sentences then never load the extension.
FAST_TOKENIZER_CHARS = 50_000


def cache_home() -> Path:
    """``$SEARCHKIT_CACHE`` or ``~/.cache/searchkit``."""
    return Path(os.environ.get("SEARCHKIT_CACHE") or Path.home() / ".cache" / "searchkit")


def _threads() -> int:
    """Intra-op threads of a session: ``$SEARCHKIT_ONNX_THREADS`` when set (``search serve
    --workers N`` gives each worker its share of the cores), else every core."""
    try:
        return max(1, int(os.environ["SEARCHKIT_ONNX_THREADS"]))
    except (KeyError, ValueError):
        return _cores()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _weights_files(model_dir: Path) -> list[Path]:
    names = ("model.safetensors", "pytorch_model.bin")
    files = [model_dir / n for n in names if (model_dir / n).exists()]
    return files or sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))


def _file_digest(path: Path) -> str:
    """sha256 of a file's content, remembered per (path, size, mtime) so the query path
    does not rehash 90 MB of weights on every start."""
    st = path.stat()
    stamp = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo = cache_home() / "onnx" / "digests" / hashlib.sha256(stamp.encode()).hexdigest()[:32]
    try:
        return memo.read_text().strip()
    except OSError:
        pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
        tmp.write_text(digest)
        os.replace(tmp, memo)
    except OSError:
        pass  # a read-only cache only costs rehashing
    return digest


class OnnxEncoder(Encoder):
    """MiniLM through onnxruntime on CPU; ``quantize=True`` gives the int8 model."""

    def __init__(self, model_dir: str | Path | None = None, quantize: bool = False):
        super().__init__(model_dir)
        self.quantize = quantize
        self.id = "minilm-int8" if quantize else "minilm-onnx"
        cfg = self.model_dir / "sentence_bert_config.json"
        if cfg.exists():
            self.max_tokens = int(json.loads(cfg.read_text()).get("max_seq_length", 256))
        hidden = json.loads((self.model_dir / "config.json").read_text()).get("hidden_size")
        self.dim = int(hidden or self.dim)

    @property
    def revision(self) -> str:
        """A digest of the export recipe (format, opset, fusion, quantisation), recorded by
        the indexes this encoder builds: when a release changes the recipe, an index built
        with the old one asks for a rebuild instead of mixing the two kinds of vectors.
        onnxruntime's version and the weights' digest stay out: the first only re-derives
        the same graph, the second is the model itself (tuned models carry their own id)."""
        recipe = {"format": EXPORT_FORMAT, "opset": OPSET, "inputs": list(INPUTS),
                  "optimize": OPTIMIZE, "quantize": QUANTIZE if self.quantize else None}
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]

    # -- the cached ONNX file ------------------------------------------------------------
    def options(self) -> dict:
        """Everything that decides the exported file's content, for the cache key."""
        import onnxruntime

        return {
            "format": EXPORT_FORMAT, "opset": OPSET, "inputs": list(INPUTS),
            "optimize": OPTIMIZE, "quantize": QUANTIZE if self.quantize else None,
            "builder": BUILDER, "onnxruntime": onnxruntime.__version__,
            "weights": [_file_digest(p) for p in _weights_files(self.model_dir)],
        }

    @cached_property
    def model_path(self) -> Path:
        """The cached ``model.onnx``, exported on first use."""
        opts = self.options()
        key = hashlib.sha256(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:24]
        final = cache_home() / "onnx" / key
        path = final / "model.onnx"
        if not path.exists():
            self._build(final, opts)
        return path

    def _build(self, final: Path, opts: dict) -> None:
        """Export (and quantise) into a temporary directory beside ``final``, then rename
        it into place: a reader sees a whole model or none; of two racing writers, one
        rename wins and the other's copy is dropped."""
        import shutil
        import tempfile

        global EXPORTS
        final.parent.mkdir(parents=True, exist_ok=True)
        what = "int8 ONNX" if self.quantize else "ONNX"
        print(f"Building the {what} model from {self.model_dir.name} (once, a few seconds; "
              f"cached in {final})", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        try:
            if self.quantize:
                _export(self.model_dir, tmp / "fp32.onnx")
                _quantize(tmp / "fp32.onnx", tmp / "model.onnx")
                for name in ("fp32.onnx", "fp32.onnx.data"):
                    (tmp / name).unlink(missing_ok=True)
                _externalize(tmp / "model.onnx")
            else:
                _export(self.model_dir, tmp / "model.onnx")  # weights in model.onnx.data
            (tmp / "options.json").write_text(json.dumps(opts, indent=2, sort_keys=True))
            tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
            EXPORTS += 1
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / "model.onnx").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- inference -----------------------------------------------------------------------
    @cached_property
    def session(self):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = _threads()
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Pre-packing copies every weight matrix into the kernels' layout when the session
        # opens: most of the time a cold query spends opening the int8 model, for no gain in
        # batch throughput measured here (int8 and fp32, batches of 32 passages of 240
        # tokens).
        so.add_session_config_entry("session.disable_prepacking", "1")
        return ort.InferenceSession(str(self.model_path), so,
                                    providers=["CPUExecutionProvider"])

    @cached_property
    def _input_names(self) -> set[str]:
        return {i.name for i in self.session.get_inputs()}

    @cached_property
    def batch_tokenizer(self):
        """The fast tokenizer truncating at ``max_tokens`` and padding to each batch's
        longest text (tokenizer.json itself pads and truncates to a fixed 128)."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        pad = tok.padding or {}
        pad_token = pad.get("pad_token", "[PAD]")
        pad_id = pad.get("pad_id", tok.token_to_id(pad_token) or 0)
        tok.enable_truncation(max_length=self.max_tokens)
        tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
        return tok

    def _hidden(self, encodings) -> tuple[np.ndarray, np.ndarray]:
        """Last hidden state (batch, seq, dim) and attention mask (batch, seq)."""
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask,
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        feed = {k: v for k, v in feed.items() if k in self._input_names}
        return self.session.run(["last_hidden_state"], feed)[0], mask

    @cached_property
    def _wordpiece(self):
        from .wordpiece import AsciiWordPiece

        vocab = self.model_dir / "vocab.txt"
        return AsciiWordPiece(vocab) if vocab.exists() else None

    def _tokenize(self, texts: list[str]):
        from .wordpiece import usable

        if ("batch_tokenizer" not in self.__dict__ and usable(texts, FAST_TOKENIZER_CHARS)
                and self._wordpiece is not None):
            return self._wordpiece.encode_batch(texts, self.max_tokens)
        return self.batch_tokenizer.encode_batch(texts)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return _mean_pool(*self._hidden(self._tokenize(texts)))

    def embed_with_sentences(self, texts: list[str]) -> tuple[np.ndarray, list[bytes]]:
        """Chunk vectors, as :meth:`embed_batch` gives them for the same batch, and each text's
        packed sentence vectors pooled from the same token vectors
        (:mod:`searchkit.sentence_vectors`): highlights then cost no encoder run."""
        from ..sentence_vectors import pool

        encodings = self.batch_tokenizer.encode_batch(texts)
        hidden, mask = self._hidden(encodings)
        blobs = [pool(t, hidden[i], e.offsets, e.special_tokens_mask)
                 for i, (t, e) in enumerate(zip(texts, encodings))]
        return _mean_pool(hidden, mask), blobs

    def token_vectors(self, text: str) -> TokenVectors:
        enc = self.batch_tokenizer.encode(text)
        hidden, _ = self._hidden([enc])
        keep = [i for i, s in enumerate(enc.special_tokens_mask) if not s]
        return TokenVectors(
            tokens=[enc.tokens[i] for i in keep],
            offsets=[tuple(enc.offsets[i]) for i in keep],
            vectors=hidden[0, keep].astype(np.float32),
        )


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the unmasked token vectors, L2-normalised (sentence-transformers' pooling)."""
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


# -- build pipeline (onnx + onnxruntime; runs once per cache key) -------------------------
def _export(model_dir: Path, out: Path) -> None:
    """The fused fp32 graph from the safetensors weights, weights in ``out``.data."""
    import onnx

    from .onnx_build import build_bert

    onnx.save_model(build_bert(model_dir), str(out), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=out.name + ".data", size_threshold=1024)
    for f in (out, out.with_name(out.name + ".data")):
        f.chmod(0o644)


def _externalize(path: Path) -> None:
    """Rewrite ``path`` with its weights in ``<name>.data`` beside it (see the module
    docstring), readable by every user of a shared cache."""
    import onnx

    model = onnx.load(str(path))
    data = path.name + ".data"
    onnx.save_model(model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data, size_threshold=1024)
    for f in (path, path.with_name(data)):
        f.chmod(0o644)


def _quantize(src: Path, out: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    pattern = QUANTIZE["exclude"]  # falsy: quantise every MatMul (faster, less accurate)
    exclude = [n.name for n in graph.node if pattern and re.search(pattern, n.name)]
    logging.disable(logging.WARNING)  # its root-logger advice on pre-processing is noise
    try:
        quantize_dynamic(
            str(src), str(out),
            per_channel=QUANTIZE["per_channel"], reduce_range=QUANTIZE["reduce_range"],
            weight_type=getattr(QuantType, QUANTIZE["weight_type"]),
            op_types_to_quantize=QUANTIZE["op_types"], nodes_to_exclude=exclude,
            # the fused contrib ops defeat shape inference; their outputs are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
