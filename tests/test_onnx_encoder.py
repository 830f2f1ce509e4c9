"""The onnxruntime backends against the sentence-transformers reference."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from searchkit.encoders import onnx as onnx_mod
from searchkit.encoders.onnx import OnnxEncoder

LONG = " ".join(f"Protein {i} binds receptor {i % 7} in murine T cells." for i in range(120))
TEXTS = [
    "Hello world",
    "",
    "Résumé of the naïve café's crème brûlée: 3.5 stars!",
    "Does vitamin D supplementation reduce the risk of fractures in elderly women?",
    "東京は日本の首都です。",
    "BRCA1 mutations increase breast-cancer risk (OR = 5.2; 95% CI 3.1-8.7).",
    LONG,
    "short",
    "The mitochondria is the powerhouse of the cell, " * 10,
]


@pytest.fixture(scope="session")
def encoders(onnx_export):
    """fp32 and int8 encoders, exported once into the session's private cache."""
    return {q: onnx_export(q) for q in (False, True)}


@pytest.fixture(scope="session")
def fp32(encoders):
    return encoders[False]


@pytest.fixture(scope="session")
def int8(encoders):
    return encoders[True]


def test_ids(fp32, int8):
    assert (fp32.id, int8.id) == ("minilm-onnx", "minilm-int8")
    assert fp32.dim == int8.dim == 384 and fp32.max_tokens == 256


def test_long_text_is_truncated(fp32):
    assert fp32.count_tokens(LONG) > 300  # so the comparison below covers truncation


def test_fp32_matches_sentence_transformers(fp32, minilm):
    # batch_size 4: batches of different lengths, padded; 1: no padding at all
    ref = minilm.encode_documents(TEXTS, batch_size=4)
    for bs in (4, 1, 32):
        got = fp32.encode_documents(TEXTS, batch_size=bs)
        assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
        assert np.abs(got - ref).max() < 1e-4


@pytest.mark.parametrize("batch_size", [1, 4])
def test_int8_close_to_fp32(fp32, int8, batch_size):
    a = fp32.encode_documents(TEXTS, batch_size=batch_size)
    b = int8.encode_documents(TEXTS, batch_size=batch_size)
    cos = (a * b).sum(axis=1)
    assert cos.min() >= 0.98, cos


@pytest.mark.parametrize("quantize", [False, True])
def test_norms_and_order(encoders, quantize):
    enc = encoders[quantize]
    vecs = enc.encode_documents(TEXTS, batch_size=3)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # each row is the vector of its own text, whatever the length sorting did; int8 only
    # nearly: dynamic quantisation scales activations per batch, so batchmates matter
    alone = np.stack([enc.encode_query(t) for t in TEXTS])
    if quantize:
        sims = vecs @ alone.T
        assert (sims.argmax(axis=1) == np.arange(len(TEXTS))).all()
        # every MatMul is int8 (searchkit.encoders.onnx.QUANTIZE): a text's vector in a
        # batch stays within 0.98 of its vector alone; the empty text ([CLS] [SEP] only,
        # no content of its own to outweigh the shared scale) is the outlier at ~0.97
        diag = np.diag(sims)
        assert min(d for d, t in zip(diag, TEXTS) if t) > 0.98
        assert diag.min() > 0.96
    else:
        np.testing.assert_allclose(vecs, alone, atol=1e-5)
    assert enc.encode_documents([]).shape == (0, 384)


def test_cached_model_is_reused(encoders, onnx_cache, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    before = onnx_mod.EXPORTS
    for quantize, old in encoders.items():
        mtime = old.model_path.stat().st_mtime_ns
        new = OnnxEncoder(quantize=quantize)
        assert new.model_path == old.model_path
        assert new.model_path.stat().st_mtime_ns == mtime
        new.encode_query("warm")
    assert onnx_mod.EXPORTS == before
    assert encoders[False].model_path != encoders[True].model_path
    # atomic writes leave no temporary directories behind
    assert not list((onnx_cache / "onnx").glob(".tmp-*"))
    # the graph and its weights (model.onnx.data: external data, see the module docstring)
    size = {q: sum(f.stat().st_size for f in e.model_path.parent.glob("model.onnx*"))
            for q, e in encoders.items()}
    assert (encoders[True].model_path.with_name("model.onnx.data")).exists()
    assert size[True] < size[False]


def test_query_path_does_not_import_torch(encoders, onnx_cache):
    code = (
        "import sys\n"
        "from searchkit.encoders import get_encoder\n"
        "from searchkit.encoders import onnx as o\n"
        "for name in ('minilm-onnx', 'minilm-int8'):\n"
        "    e = get_encoder(name)\n"
        "    assert e.encode_query('does torch load?').shape == (384,)\n"
        "    e.token_vectors('no torch here')\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers')"
        " if m in sys.modules]\n"
        "print('EXPORTS', o.EXPORTS, 'HEAVY', heavy)\n"
    )
    env = {**os.environ, "SEARCHKIT_CACHE": str(onnx_cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "EXPORTS 0 HEAVY []"
    assert "Exporting" not in out.stderr


@pytest.mark.parametrize("quantize", [False, True])
def test_token_vectors(encoders, quantize):
    enc = encoders[quantize]
    text = "Naïve T-cells, unlike memory cells, respond slowly."
    tv = enc.token_vectors(text)
    assert tv.vectors.shape == (len(tv.tokens), 384) and tv.vectors.dtype == np.float32
    assert len(tv.offsets) == len(tv.tokens) and "[CLS]" not in tv.tokens
    for tok, (start, end) in zip(tv.tokens, tv.offsets):
        piece = text[start:end].lower().replace("ï", "i")  # the tokenizer strips accents
        assert piece == tok.removeprefix("##"), (tok, piece)
    # truncated like encoding: at most max_tokens minus [CLS] and [SEP]
    assert len(enc.token_vectors(LONG).tokens) == enc.max_tokens - 2


def test_token_vectors_match_sentence_transformers(fp32, minilm):
    text = "Vitamin D deficiency is common in the elderly."
    got, ref = fp32.token_vectors(text), minilm.token_vectors(text)
    assert got.tokens == ref.tokens and got.offsets == ref.offsets
    assert np.abs(got.vectors - ref.vectors).max() < 1e-3


def test_revision_follows_the_export_recipe(monkeypatch):
    """Indexes record the recipe's digest (searchkit.index.Index.vector_key): int8 and fp32
    differ, and changing the quantisation changes the int8 one only."""
    fp32, int8 = OnnxEncoder(quantize=False), OnnxEncoder(quantize=True)
    assert len(int8.revision) == 12 and int8.revision != fp32.revision
    before = (fp32.revision, int8.revision)
    monkeypatch.setitem(onnx_mod.QUANTIZE, "exclude", r"layer\.\d+/output/dense/MatMul$")
    assert fp32.revision == before[0] and int8.revision != before[1]


def test_torch_sentence_vectors_match_onnx(fp32, minilm):
    """The torch encoder (tuned models) stores the same chunk and sentence vectors as the
    ONNX encoders, so a tuned model's index has highlights and sentence evidence too."""
    from searchkit.sentence_vectors import unpack

    texts = [t for t in TEXTS if t]
    chunks, blobs = minilm.embed_with_sentences(texts)
    assert np.abs(chunks - minilm.embed_batch(texts)).max() < 1e-5
    ref_chunks, ref_blobs = fp32.embed_with_sentences(texts)
    assert np.abs(chunks - ref_chunks).max() < 1e-4
    n_sentences = 0
    for text, got, ref in zip(texts, blobs, ref_blobs):
        spans, vecs = unpack(got, 384)
        ref_spans, ref_vecs = unpack(ref, 384)
        assert [tuple(s) for s in spans] == [tuple(s) for s in ref_spans]
        assert len(spans) >= 1, text
        # int8 packing: equal up to one quantisation step per component
        assert np.abs(vecs - ref_vecs).max() <= 1.5 / 127
        n_sentences += len(spans)
    assert n_sentences > len(texts)  # some texts hold several sentences
