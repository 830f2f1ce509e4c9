"""``search check [--repair]`` and ``Index.check``: sound indexes pass; each kind of damage is
found, named, and repaired where that can be done in place."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
from click.testing import CliRunner

from searchkit import Index
from searchkit.cli import cli
from searchkit.maintenance import CheckReport


def test_sound_index_passes(hashing_index):
    with Index.open(hashing_index) as idx:
        rep = idx.check()
    assert isinstance(rep, CheckReport)
    assert rep.ok and rep.problems == [] and rep.repaired == []
    assert rep.chunks == rep.vectors > 0
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index), "--json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["ok"] is True and data["chunks"] == rep.chunks


def test_checksum_is_recorded_at_each_commit(hashing_index, docs):
    side = json.loads((hashing_index / "vectors.faiss.json").read_text())
    from searchkit.store.vectors import file_sha256

    assert side["sha256"] == file_sha256(hashing_index / "vectors.faiss")
    (docs / "more.txt").write_text("another note about copper lanterns")
    with Index.open(hashing_index, readonly=False) as idx:
        idx.add_paths([docs])
    side2 = json.loads((hashing_index / "vectors.faiss.json").read_text())
    assert side2["sha256"] == file_sha256(hashing_index / "vectors.faiss") != side["sha256"]


def flip_one_float(path, value=1e6):
    """One stored float changed, size and mtime kept: only the checksum can tell."""
    f = path / "vectors.faiss"
    st = f.stat()
    data = bytearray(f.read_bytes())
    with Index.open(path) as idx:
        v = idx.vectors.reconstruct(1)
    pos = data.find(v.astype(np.float32).tobytes())
    assert pos > 0
    data[pos:pos + 4] = np.float32(value).tobytes()
    f.write_bytes(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_damaged_vector_file_found_and_repaired(hashing_index):
    flip_one_float(hashing_index)
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index)])
    assert res.exit_code == 1
    assert "SHA-256 differs" in res.output and "search check --repair" in res.output
    # a query on it is refused (its score is impossible), not answered wrongly
    res = CliRunner().invoke(cli, ["query", "river", "--index", str(hashing_index), "-m", "dense"])
    assert res.exit_code == 1 and "damaged" in res.output
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index), "--repair", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ok"] and data["repaired"]
    with Index.open(hashing_index) as idx:
        assert idx.check().ok
        assert idx.search("river", method="dense")[0].score <= 1.0


def test_missing_vector_file_is_rebuilt(hashing_index):
    (hashing_index / "vectors.faiss").unlink()
    with Index.open(hashing_index) as idx:
        rep = idx.check()
    assert not rep.ok and rep.problems == ["vector file: missing"]
    with Index.open(hashing_index, readonly=False) as idx:
        rep = idx.check(repair=True)
    assert rep.ok and (hashing_index / "vectors.faiss").exists()


def test_damaged_stored_vectors_are_embedded_again(hashing_index, hashing):
    with Index.open(hashing_index, readonly=False) as idx:
        with idx.store.db.conn:
            h = idx.store.db.execute("SELECT text_hash FROM chunks LIMIT 1").fetchone()[0]
            idx.store.db.execute("UPDATE embeddings SET vector = ? WHERE text_hash = ?",
                                 [np.full(384, 7.0, np.float32).tobytes(), h])
        text = idx.store.db.execute("SELECT text FROM chunks WHERE text_hash = ?",
                                    [h]).fetchone()[0]
    with Index.open(hashing_index) as idx:
        rep = idx.check()
    assert not rep.ok
    assert any("1 stored vectors are damaged" in p for p in rep.problems)
    hashing.calls.clear()
    with Index.open(hashing_index, readonly=False) as idx:
        rep = idx.check(repair=True)
        assert rep.ok, rep
        assert hashing.calls == [text]  # only the damaged one was embedded again
        assert idx.check().ok


def test_damaged_database_page_is_found_by_quick_check(hashing_index):
    db = hashing_index / "index.db"
    with Index.open(hashing_index, readonly=False) as idx:
        idx.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn = sqlite3.connect(db)
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunks_hash'"
                        ).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    start = (page - 1) * size
    data[start:start + 8] = b"\xff" * 8  # an impossible b-tree page header
    db.write_bytes(bytes(data))
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index), "--repair"])
    assert res.exit_code == 1
    assert "Problem: database: quick_check found" in res.output
    assert "--rebuild" in res.output


def test_check_of_a_garbage_database(hashing_index):
    (hashing_index / "index.db").write_bytes(b"not sqlite at all" * 1000)
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index)])
    assert res.exit_code == 1
    assert "is damaged" in res.output and "--rebuild" in res.output


def test_check_help_has_examples():
    res = CliRunner().invoke(cli, ["check", "--help"])
    assert res.exit_code == 0 and "search check --repair" in res.output
