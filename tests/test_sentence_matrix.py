"""The memory-mapped sentence matrix: the same vectors as the database's blobs, written after
every write, never used when it does not match the index."""

import shutil

import numpy as np
import pytest

from searchkit import Index
from searchkit.config import SENTENCES_FILE
from searchkit.query import search
from searchkit.sentence_vectors import vectors_bytes
from searchkit.store.sentences import SentenceMatrix


@pytest.fixture
def real_index(sample_index_int8, onnx_cache, monkeypatch, tmp_path):
    """A copy of sample_corpus's index with the default encoder (it stores sentence
    vectors), free to write to."""
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    path = tmp_path / "idx"
    shutil.copytree(sample_index_int8, path)
    return path


def _blob_rows(idx, ids):
    dim = idx.manifest.dim
    blobs = idx.store.sentence_vectors(idx.vector_key, ids)
    return {i: np.frombuffer(vectors_bytes(blobs[i], dim)[1], np.int8).reshape(-1, dim)
            for i in ids if i in blobs}


def test_matrix_holds_the_blobs_rows_and_follows_writes(real_index):
    idx = Index.open(real_index, readonly=False)
    try:
        m = idx.sentence_matrix
        assert m is not None and len(m) == idx.store.count("chunks") > 0
        ids = [int(r[0]) for r in idx.store.db.execute("SELECT id FROM chunks")]
        want = _blob_rows(idx, ids)
        asked = ids[::-1] + [10**9]  # any order, and an id it does not hold
        keys, counts, rows = m.rows_of(asked)
        assert keys.tolist() == [i for i in ids[::-1] if i in want]
        got = np.split(rows, np.cumsum(counts)[:-1])
        for k, part in zip(keys.tolist(), got):
            assert np.array_equal(part, want[k])
        before = idx.store.generation()
        idx.add_texts(["A new note about kingfishers nesting in a sandy bank. It has two "
                       "sentences."], metadata=[{"path": "new.txt"}])
        assert idx.store.generation() != before
        m2 = idx.sentence_matrix
        assert m2 is not None and len(m2) == len(m) + 1
    finally:
        idx.close()


def test_a_stale_or_damaged_file_is_never_used(real_index):
    idx = Index.open(real_index, readonly=False)
    try:
        path = idx.path / SENTENCES_FILE
        gen, key, dim = idx.store.generation(), idx.vector_key, idx.manifest.dim
        assert SentenceMatrix.load(path, gen, key, dim) is not None
        assert SentenceMatrix.load(path, gen + 1, key, dim) is None  # another generation
        assert SentenceMatrix.load(path, gen, "other-encoder", dim) is None
        data = path.read_bytes()
        path.write_bytes(data[:-5])  # cut short
        assert SentenceMatrix.load(path, gen, key, dim) is None
        path.write_bytes(b"garbage!" + data[8:])
        assert SentenceMatrix.load(path, gen, key, dim) is None
    finally:
        idx.close()


def test_search_is_the_same_with_and_without_the_file(real_index):
    idx = Index.open(real_index, readonly=False)
    try:
        assert idx.sentence_matrix is not None
        with_file = [(h.chunk_id, round(h.score, 6)) for h in
                     search(idx, "kingfisher burrow", k=5, group=True)]
        (idx.path / SENTENCES_FILE).unlink()
        idx.cache.clear("sentence_matrix")
        assert idx.sentence_matrix is None
        without = [(h.chunk_id, round(h.score, 6)) for h in
                   search(idx, "kingfisher burrow", k=5, group=True)]
        assert with_file == without and with_file
    finally:
        idx.close()


def test_check_notes_a_missing_matrix_and_repair_writes_it(real_index):
    idx = Index.open(real_index, readonly=False)
    try:
        assert idx.check().notes == []
        (idx.path / SENTENCES_FILE).unlink()
        idx.cache.clear("sentence_matrix")
        rep = idx.check()
        assert rep.ok and any("sentence matrix" in n for n in rep.notes)
        rep = idx.check(repair=True)
        assert any("sentence matrix written" in r for r in rep.repaired)
        assert idx.sentence_matrix is not None and idx.check().notes == []
    finally:
        idx.close()
