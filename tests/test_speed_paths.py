"""The fast paths: a query on an ONNX index never imports torch, and the indexing pipeline
(reader thread, encoder working ahead of the commits) keeps the sync contract. No timings:
those are benchmarks/*.py's."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from searchkit.encoders import _cache as encoder_cache
from searchkit.errors import SearchkitError
from searchkit.index import Index, EncodingJob
from searchkit.prepare import Chunker

HEAVY = ("torch", "transformers", "sentence_transformers")

WRAPPER = """
import sys
from searchkit.cli import cli
for n, args in enumerate({runs}):
    cli.main(list(args), prog_name="search", standalone_mode=False)
    if n == 0:  # an ASCII query, no highlights: not even the tokenizers extension
        print("TOKENIZERS", "tokenizers" in sys.modules)
print("HEAVY", sorted(m for m in {heavy!r} if m in sys.modules))
"""


def test_query_on_int8_index_imports_no_torch(tmp_path, docs, onnx_export, onnx_cache,
                                              monkeypatch):
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    monkeypatch.setitem(encoder_cache, "minilm-int8", onnx_export(True))
    path = tmp_path / "idx"
    with Index.create(path, encoder="minilm-int8") as idx:
        idx.add_paths([docs])
    runs = [("query", "rivers", "--index", str(path), "--method", "dense", "--no-highlight"),
            ("query", "how do rivers erode their banks", "--index", str(path)),  # as typed
            ("query", "rivers", "--index", str(path), "--method", "hybrid", "--json"),
            ("query", "rivers", "--index", str(path), "--method", "dense", "--ext", "md"),
            ("query", "Résumé of the naïve café", "--index", str(path))]
    env = {**os.environ, "SEARCHKIT_CACHE": str(onnx_cache)}
    out = subprocess.run([sys.executable, "-c", WRAPPER.format(runs=runs, heavy=HEAVY)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert "TOKENIZERS False" in lines and lines[-1] == "HEAVY []"
    assert "Exporting" not in out.stderr


def make_folder(root, n_files=9):
    """Files sharing some paragraphs, so the same text lands in several commit groups."""
    root.mkdir()
    shared = "A paragraph every third file repeats word for word, shared text."
    for i in range(n_files):
        paras = [f"File {i} paragraph {j} speaks of thing{i}x{j} only." for j in range(3)]
        if i % 3 == 0:
            paras.append(shared)
        (root / f"f{i}.txt").write_text("\n\n".join(paras))
    return root


def consistent(idx) -> None:
    """FAISS holds exactly the chunks, each with its own text's stored vector."""
    vec = idx.vectors
    rows = idx.store.db.execute(
        "SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.text_hash = c.text_hash "
        "AND e.encoder = ?", [idx.vector_key]).fetchall()
    assert len(rows) == idx.store.count("chunks") == len(vec)
    for cid, blob in rows:
        np.testing.assert_array_equal(vec.reconstruct(cid), np.frombuffer(blob, np.float32))


def test_streamed_sync_embeds_each_text_once(tmp_path, hashing, monkeypatch):
    from searchkit.config import ChunkSettings

    monkeypatch.setenv("SEARCHKIT_COMMIT_CHUNKS", "4")
    folder = make_folder(tmp_path / "docs")
    calls = []
    with Index.create(tmp_path / "idx", encoder="hashing-test",
                      chunking=ChunkSettings(max_tokens=24, overlap=0)) as idx:
        report = idx.add_paths([folder], progress=lambda *a: calls.append(a))
        texts = [r[0] for r in idx.store.db.execute("SELECT text FROM chunks")]
        assert len(hashing.calls) == len(set(hashing.calls)) == len(set(texts))
        assert report.chunks_embedded == len(set(texts)) < len(texts) == report.chunks_added
        assert len(report.new) == 9 and idx.store.generation() >= 3  # several commits
        consistent(idx)
    totals = [t for phase, n, t in calls if t is not None]
    assert totals == sorted(totals) and totals[-1] == report.chunks_embedded
    assert sum(n for phase, n, t in calls if t is None) == report.chunks_embedded


def test_reader_error_keeps_whole_committed_documents(tmp_path, hashing, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_COMMIT_CHUNKS", "3")
    folder = make_folder(tmp_path / "docs")
    real = Chunker.prepare
    seen = []

    def flaky(self, key, *a, **kw):
        seen.append(key)
        if len(seen) == 6:
            raise SearchkitError("reader thread failure")
        return real(self, key, *a, **kw)

    monkeypatch.setattr(Chunker, "prepare", flaky)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        with pytest.raises(SearchkitError, match="reader thread failure"):
            idx.add_paths([folder])
    monkeypatch.setattr(Chunker, "prepare", real)
    with Index.open(tmp_path / "idx") as ro:
        n_docs = ro.store.count("documents")
        assert 0 < n_docs < 6
        for d in ro.documents():  # whole documents only
            want = len(ro.chunker.prepare(d["path"], _read(d["path"]), {}).chunks)
            assert len(ro.store.chunk_ids_of(d["id"])) == want
        consistent(ro)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:  # lock released
        report = idx.add_paths([folder])
        assert len(report.new) == 9 - n_docs
        consistent(idx)


def _read(path):
    from pathlib import Path

    from searchkit.readers import read_bytes

    return read_bytes(Path(path), Path(path).read_bytes())


def test_encoding_ahead_equals_encode_documents(hashing):
    texts = [f"text number {i} " + "word " * (i % 13) for i in range(70)]
    np.testing.assert_array_equal(EncodingJob(hashing, texts, None, batch_size=8).result(),
                                  hashing.encode_documents(texts))
    job = EncodingJob(hashing, texts * 50, None, batch_size=1)
    job.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        job.result()


def test_ascii_wordpiece_matches_tokenizers():
    """The pure-Python tokenizer of the cold query path gives the ids ``tokenizers`` gives,
    on words, punctuation, control characters, long words and truncation."""
    import random
    import string

    from tokenizers import Tokenizer

    from searchkit.encoders.base import minilm_path
    from searchkit.encoders.wordpiece import AsciiWordPiece

    ref = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    ref.enable_truncation(max_length=64)
    ref.no_padding()
    wp = AsciiWordPiece(minilm_path() / "vocab.txt")
    rng = random.Random(0)
    chars = string.printable + "\x00\x01\x0b\x0c\x1f\x7f"
    words = ("vitamin supplementation reduces fractures in elderly women BRCA1 mutations "
             "(OR=5.2; 95% CI 3.1-8.7) don't state-of-the-art x" + "y" * 120).split()
    texts = ["", "  ", "Hello, world!", "a" * 99 + "b", " ".join(words)]
    texts += ["".join(rng.choice(chars) for _ in range(rng.randint(0, 200))) for _ in range(400)]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) for _ in range(200)]
    for t in texts:
        assert wp.encode(t, 64) == ref.encode(t).ids, repr(t)
