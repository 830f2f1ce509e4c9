"""The default path is light: ONNX built from safetensors without torch, BM25 queried without
bm25s or scipy, highlights from sentence vectors stored at index time; old torch indexes
still answer. No timings here (benchmarks/cold_query.py measures them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from searchkit.encoders import DEFAULT_ENCODER
from searchkit.encoders import _cache as encoder_cache
from searchkit.retrieval.bm25 import BM25Retriever

from conftest import SAMPLE

LIGHT = ("torch", "transformers", "sentence_transformers", "bm25s", "scipy", "sklearn")


def test_default_encoder_is_int8_onnx():
    assert DEFAULT_ENCODER == "minilm-int8"


def test_built_graph_matches_the_torch_model():
    """The graph written from safetensors gives torch's last hidden state within 1e-4."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import onnxruntime as ort

    from searchkit.encoders.base import minilm_path
    from searchkit.encoders.onnx_build import build_bert

    model = build_bert(minilm_path())
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, (3, 37))
    ids[:, 0] = 101
    mask = np.ones_like(ids)
    mask[1, 20:] = 0
    mask[2, 5:] = 0
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    got = sess.run(["last_hidden_state"], feed)[0]
    ref_model = transformers.AutoModel.from_pretrained(str(minilm_path())).eval()
    with torch.no_grad():
        ref = ref_model(**{k: torch.from_numpy(v) for k, v in feed.items()}).last_hidden_state
    ref = ref.numpy()
    keep = mask.astype(bool)  # padded positions are not defined the same way
    assert np.abs(got[keep] - ref[keep]).max() < 1e-4


def test_build_refuses_a_model_it_cannot_write(tmp_path):
    from searchkit.encoders.onnx_build import build_bert
    from searchkit.errors import BadInput

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    with pytest.raises(BadInput, match="without torch: model_type 'roberta'"):
        build_bert(tmp_path)


def test_safetensors_reader_reads_every_dtype(tmp_path):
    import struct

    from searchkit.encoders.onnx_build import read_safetensors

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    h = np.asarray([1.5, -2.0], dtype=np.float16)
    bf = (np.asarray([3.0, -0.5], dtype=np.float32).view(np.uint32) >> 16).astype("<u2")
    blobs = [a.tobytes(), h.tobytes(), bf.tobytes()]
    offs, header = 0, {}
    for name, dtype, shape, b in (("a", "F32", [2, 3], blobs[0]), ("h", "F16", [2], blobs[1]),
                                  ("bf", "BF16", [2], blobs[2])):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offs, offs + len(b)]}
        offs += len(b)
    head = json.dumps(header).encode()
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    t = read_safetensors(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(t["a"], a)
    np.testing.assert_array_equal(t["h"], [1.5, -2.0])
    np.testing.assert_array_equal(t["bf"], [3.0, -0.5])


TEXTS = ["The river bank eroded after the flood.", "Banks lend money at interest rates.",
         "A kingfisher nests in the sandy bank of the river.", "Interest rates rose again.",
         "the and of", "Savings accounts pay interest; deposit protection covers savers.",
         "Rivers, rivers and more rivers flowing to the sea."]
QUERIES = ["river bank", "interest rates for savings", "what protects my deposit",
           "the", "flowing rivers sea", "unknownword"]


def test_bm25_query_scores_equal_bm25s(tmp_path):
    r = BM25Retriever()
    r.build(list(range(10, 10 + len(TEXTS))), TEXTS)
    for q in QUERIES:
        terms = r._tokenize([q], return_ids=False)[0]
        assert r.query_terms(q) == terms
        ids = r._bm25.get_tokens_ids(terms)
        if ids:
            np.testing.assert_array_equal(r._scores.scores(ids), r._bm25.get_scores_from_ids(ids))
    r.save(tmp_path / "bm25")
    loaded = BM25Retriever.load(tmp_path / "bm25")
    for q in QUERIES:
        assert loaded.search(q, 5) == r.search(q, 5)
        assert loaded.coverage(q, [10, 12, 15]) == r.coverage(q, [10, 12, 15])


def test_bm25_load_and_search_import_neither_bm25s_nor_scipy(tmp_path):
    r = BM25Retriever()
    r.build(list(range(len(TEXTS))), TEXTS)
    r.save(tmp_path / "bm25")
    code = ("import sys\nfrom searchkit.retrieval.bm25 import BM25Retriever\n"
            f"r = BM25Retriever.load({str(tmp_path / 'bm25')!r})\n"
            "print([i for i, _ in r.search('river bank', 3)])\n"
            "print(sorted(m for m in ('bm25s', 'scipy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str([i for i, _ in r.search("river bank", 3)]), "[]"]


def test_default_index_query_and_ask_never_import_torch(tmp_path, onnx_cache):
    """A fresh process indexes sample_corpus with the default encoder, queries and asks;
    torch, sentence-transformers, bm25s and scipy are never imported on that path."""
    code = f"""
import sys
import searchkit
idx = searchkit.Index.create({str(tmp_path / 'idx')!r})
idx.add_paths([{str(SAMPLE)!r}])
hits = idx.search("what happens to my savings if the bank fails", k=5, highlight=True)
answer = idx.ask("when was the lighthouse automated?")
print(idx.manifest.encoder, len(hits), bool(hits[0].highlights), answer.answered)
print(sorted(m for m in {LIGHT!r} if m in sys.modules))
"""
    env = {**os.environ, "SEARCHKIT_CACHE": str(onnx_cache), "SEARCHKIT_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    first, heavy = out.stdout.strip().splitlines()[-2:]
    assert first == "minilm-int8 5 True True"
    # bm25s (and scipy through it) builds the keyword index once per index change, on the
    # write path; what must stay out is torch
    assert not {"torch", "transformers", "sentence_transformers"} & set(eval(heavy))


def test_a_query_on_an_existing_index_imports_only_the_light_path(tmp_path, onnx_export,
                                                                   onnx_cache, monkeypatch):
    from searchkit import Index

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    monkeypatch.setitem(encoder_cache, "minilm-int8", onnx_export(True))
    path = tmp_path / "idx"
    with Index.create(path) as idx:
        idx.add_paths([SAMPLE / "finance"])
        idx.search("warm the keyword index", k=1)  # builds and saves the BM25 baseline
    code = (f"import sys\nfrom searchkit.cli import cli\n"
            f"cli.main(['query', 'what happens to my savings if the bank fails', '--index', "
            f"{str(path)!r}, '-k', '3'], prog_name='search', standalone_mode=False)\n"
            f"print(sorted(m for m in {LIGHT!r} if m in sys.modules))\n")
    env = {**os.environ, "SEARCHKIT_CACHE": str(onnx_cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert " 1. sample_corpus/finance/" in out.stdout or "finance/" in out.stdout


def test_sentence_vectors_are_stored_and_used_for_highlights(tmp_path, onnx_export,
                                                             onnx_cache, monkeypatch):
    from searchkit import Index
    from searchkit.highlight import split_sentences
    from searchkit.sentence_vectors import unpack

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    enc = onnx_export(True)
    monkeypatch.setitem(encoder_cache, "minilm-int8", enc)
    path = tmp_path / "idx"
    with Index.create(path, encoder="minilm-int8") as idx:
        idx.add_paths([SAMPLE / "nature"])
    idx = Index.open(path)
    ids = [r[0] for r in idx.store.db.execute("SELECT id FROM chunks")]
    stored = idx.store.sentence_vectors(idx.vector_key, ids)
    assert set(stored) == set(ids)
    chunk = idx.store.chunks_by_ids(ids[:1])[ids[0]]
    spans, vecs = unpack(stored[ids[0]], enc.dim)
    assert spans == [(s.start, s.end) for s in split_sentences(chunk["text"])][:len(spans)]
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=0.02)

    def no_encoding(*a, **k):
        raise AssertionError("highlights re-embedded sentences")

    monkeypatch.setattr(enc, "encode_documents", no_encoding)
    hits = idx.search("why does the river bank keep collapsing", k=5, highlight=True)
    assert all(h.highlights for h in hits)
    a, b = hits[0].highlights[0]
    assert (a, b) in spans_of(idx, hits[0].chunk_id, enc.dim)
    idx.close()


def spans_of(idx, chunk_id, dim):
    from searchkit.sentence_vectors import unpack

    return unpack(idx.store.sentence_vectors(idx.vector_key, [chunk_id])[chunk_id], dim)[0]


def test_an_old_torch_index_still_answers_with_a_notice(sample_index):
    import logging

    from click.testing import CliRunner

    from searchkit.cli import cli

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    log = logging.getLogger("searchkit")
    log.addHandler(handler)
    try:
        r = CliRunner().invoke(cli, ["query", "how do rivers wear away their sides",
                                     "--index", str(sample_index), "-k", "3"])
    finally:
        log.removeHandler(handler)
    assert r.exit_code == 0, r.output
    assert "river_bank_erosion" in r.stdout
    notices = [m for m in seen if "uses the torch encoder (minilm)" in m]
    assert len(notices) == 1 and "--encoder minilm-int8 --rebuild" in notices[0]


def test_backfill_gives_an_old_index_its_sentence_vectors(tmp_path, onnx_export, onnx_cache,
                                                          monkeypatch):
    from searchkit import Index

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    monkeypatch.setitem(encoder_cache, "minilm-int8", onnx_export(True))
    path = tmp_path / "idx"
    with Index.create(path, encoder="minilm-int8") as idx:
        idx.add_paths([SAMPLE / "history"])
        ids = [r[0] for r in idx.store.db.execute("SELECT id FROM chunks")]
        want = idx.store.sentence_vectors(idx.vector_key, ids)
        idx.store.db.execute("DELETE FROM sentence_vectors")  # as written before they existed
        idx.store.db.conn.commit()
        assert idx.store.sentence_vectors(idx.vector_key, ids) == {}
        assert idx.backfill_sentence_vectors() == len({h for (h,) in idx.store.db.execute(
            "SELECT text_hash FROM chunks")})
        got = idx.store.sentence_vectors(idx.vector_key, ids)
        assert idx.backfill_sentence_vectors() == 0
    assert set(got) == set(want)
    from searchkit.sentence_vectors import unpack

    for cid in ids:  # same sentences; vectors within int8 rounding and batch effects
        (s1, v1), (s2, v2) = unpack(got[cid], 384), unpack(want[cid], 384)
        assert s1 == s2
        assert float(np.min(np.sum(v1 * v2, axis=1))) > 0.97


def test_create_on_an_existing_index_keeps_its_encoder(tmp_path, hashing, docs):
    """``Index.create(path)`` without an encoder opens an existing index with its own (an
    old torch index keeps working); naming another one is still refused."""
    from searchkit import Index
    from searchkit.errors import EncoderMismatch

    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        idx.add_paths([docs])
    with Index.create(tmp_path / "idx") as idx:
        assert idx.manifest.encoder == "hashing-test"
        assert idx.search("rivers", k=1, method="bm25")
    with pytest.raises(EncoderMismatch, match="built with encoder 'hashing-test'"):
        Index.create(tmp_path / "idx", encoder="minilm-int8")
