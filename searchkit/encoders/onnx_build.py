"""Build the ONNX graph of a BERT encoder straight from its safetensors weights: no torch.

The graph is the one that ``torch.onnx.export`` followed by onnxruntime's transformer
optimizer used to produce for all-MiniLM-L6-v2 (searchkit's recipe until 0.1): one
``EmbedLayerNormalization``, then per layer a fused ``Attention`` (Q, K and V packed into one
matrix), a ``MatMul`` + ``SkipLayerNormalization`` for the attention output, and
``MatMul`` + ``BiasGelu`` + ``MatMul`` + ``SkipLayerNormalization`` for the feed-forward
block. Writing that graph directly from the weights needs only ``onnx`` and ``numpy``, so the
default install runs without torch, and int8 quantisation sees the same graph as before
(tests compare the output with the torch model where torch is installed).

Only the plain BERT family is supported (``model_type`` bert, absolute positions, erf GELU);
anything else raises :class:`BadInput` and is left to the torch encoder.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import BadInput

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
           "I32": np.int32, "BF16": None}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as float32/int arrays (the format is an 8-byte
    header length, a JSON header of dtype/shape/offsets, then the raw little-endian data)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = body[start:end]
        if info["dtype"] == "BF16":  # widen bfloat16 to float32 by placing it in the top half
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in _DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        else:
            raise BadInput(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        arr = arr.reshape(info["shape"])
        out[name] = arr.astype(np.float32) if arr.dtype.kind == "f" else arr
    return out


def _check_config(cfg: dict) -> None:
    problems = []
    if cfg.get("model_type") != "bert":
        problems.append(f"model_type {cfg.get('model_type')!r} (want 'bert')")
    if cfg.get("hidden_act", "gelu") != "gelu":
        problems.append(f"hidden_act {cfg.get('hidden_act')!r} (want 'gelu')")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        problems.append(f"position_embedding_type {cfg.get('position_embedding_type')!r}")
    if problems:
        raise BadInput("cannot build this model as ONNX without torch: " + ", ".join(problems))


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``bert.embeddings...`` and ``embeddings...`` name the same tensors."""
    if "embeddings.word_embeddings.weight" in weights:
        return weights
    for key in weights:
        if key.endswith("embeddings.word_embeddings.weight"):
            prefix = key[: -len("embeddings.word_embeddings.weight")]
            return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    raise BadInput("no BERT embeddings in the model weights")


def build_bert(model_dir: Path):
    """The fused fp32 ONNX model (``onnx.ModelProto``) of the BERT encoder in ``model_dir``
    (``config.json`` + ``model.safetensors``), with inputs :data:`INPUTS` of shape
    (batch, sequence) and output ``last_hidden_state`` (batch, sequence, hidden).

    Raises:
        BadInput: not a plain BERT model, or no safetensors weights.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model_dir = Path(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    _check_config(cfg)
    st = model_dir / "model.safetensors"
    if not st.exists():
        raise BadInput(f"{model_dir}: no model.safetensors to build the ONNX model from")
    w = _strip_prefix(read_safetensors(st))
    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    eps = float(cfg.get("layer_norm_eps", 1e-12))

    inits: list = []
    nodes: list = []

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def param(key: str) -> str:
        return init(key, w[key])

    def linear_t(key: str) -> str:  # torch Linear stores (out, in); MatMul wants (in, out)
        return init(f"{key}.T", w[key].T)

    for name in INPUTS:
        nodes.append(helper.make_node("Cast", [name], [f"{name}_int32"], to=TensorProto.INT32))
    nodes.append(helper.make_node(
        "EmbedLayerNormalization",
        ["input_ids_int32", "token_type_ids_int32",
         param("embeddings.word_embeddings.weight"),
         param("embeddings.position_embeddings.weight"),
         param("embeddings.token_type_embeddings.weight"),
         param("embeddings.LayerNorm.weight"), param("embeddings.LayerNorm.bias"),
         "attention_mask_int32"],
        ["embedded", "mask_index"], domain="com.microsoft", epsilon=eps))

    x = "embedded"
    n_layers = int(cfg["num_hidden_layers"])
    for i in range(n_layers):
        p = f"encoder.layer.{i}."
        att = p + "attention.self."
        qkv_w = np.concatenate([w[att + f"{m}.weight"].T for m in ("query", "key", "value")], 1)
        qkv_b = np.concatenate([w[att + f"{m}.bias"] for m in ("query", "key", "value")])
        out = f"layer{i}"
        nodes += [
            helper.make_node("Attention", [x, init(f"{att}qkv.weight", qkv_w),
                                           init(f"{att}qkv.bias", qkv_b), "mask_index"],
                             [f"{out}.context"], domain="com.microsoft", num_heads=heads),
            helper.make_node("MatMul", [f"{out}.context", linear_t(p + "attention.output.dense.weight")],
                             [f"{out}.attention_dense"]),
            helper.make_node("SkipLayerNormalization",
                             [f"{out}.attention_dense", x,
                              param(p + "attention.output.LayerNorm.weight"),
                              param(p + "attention.output.LayerNorm.bias"),
                              param(p + "attention.output.dense.bias")],
                             [f"{out}.attention_out"], domain="com.microsoft", epsilon=eps),
            helper.make_node("MatMul", [f"{out}.attention_out", linear_t(p + "intermediate.dense.weight")],
                             [f"{out}.intermediate"]),
            helper.make_node("BiasGelu", [f"{out}.intermediate", param(p + "intermediate.dense.bias")],
                             [f"{out}.gelu"], domain="com.microsoft"),
            helper.make_node("MatMul", [f"{out}.gelu", linear_t(p + "output.dense.weight")],
                             [f"{out}.output_dense"]),
        ]
        y = "last_hidden_state" if i == n_layers - 1 else f"{out}.output"
        nodes.append(helper.make_node(
            "SkipLayerNormalization",
            [f"{out}.output_dense", f"{out}.attention_out", param(p + "output.LayerNorm.weight"),
             param(p + "output.LayerNorm.bias"), param(p + "output.dense.bias")],
            [y], domain="com.microsoft", epsilon=eps))
        x = y

    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        nodes, "bert",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in INPUTS],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="searchkit", opset_imports=[
        helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = min(model.ir_version, 8)  # readable by every onnxruntime >= 1.14
    onnx.checker.check_model(model, full_check=False)
    return model
