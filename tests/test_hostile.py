"""Hostile folders and damaged stores (issue #21): special files, endless files, symlinks
out of the folder, two first runs at once, garbled vector and database files, deleted
databases, long files committed in segments, and API inputs of the wrong kind."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from searchkit import BadInput, Index, IndexLocked
from searchkit.cli import cli
from searchkit.errors import ReadError
from searchkit.fileio import read_limited

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, timeout=120, env=None, preexec=None):
    """``search ARGS`` in a fresh process (a hang fails the test instead of hanging it)."""
    return subprocess.run([sys.executable, "-m", "searchkit", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, preexec_fn=preexec,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def skipped(report: dict) -> dict[str, str]:
    return {os.path.basename(s["path"]): s["reason"] for s in report["skipped"]}


# -- special files -----------------------------------------------------------------------

def test_fifo_is_skipped_not_waited_on(tmp_path, docs):
    os.mkfifo(docs / "pipe.txt")  # nobody ever writes to it: a read would block forever
    res = run_cli("index", str(docs), "--index", str(tmp_path / "idx"), "--encoder",
                  "hashing-test", "--json", timeout=120)
    assert res.returncode == 3, res.stderr
    report = json.loads(res.stdout)
    assert skipped(report)["pipe.txt"] == "not a regular file (FIFO)"
    assert len(report["new"]) >= 5  # the rest of the folder is indexed


def test_read_limited_refuses_fifo_and_devices_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "p.txt")
    with pytest.raises(ReadError, match=r"not a regular file \(FIFO\)"):
        read_limited(tmp_path / "p.txt", 1000)
    with pytest.raises(ReadError, match=r"not a regular file \(character device\)"):
        read_limited("/dev/zero", 1000)


def test_read_is_bounded_whatever_stat_says():
    # /proc files are regular files that claim size 0 but hold more
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(ReadError, match=r"over the size limit \(more than"):
        read_limited("/proc/self/status", 10)
    assert len(read_limited("/proc/self/status", 1 << 20)) > 10


def _cap_memory():
    import resource

    cap = 3 << 30  # 3 GiB of address space: /dev/zero read unbounded would pass it at once
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def test_dev_zero_symlink_under_a_memory_cap(tmp_path, docs):
    os.symlink("/dev/zero", docs / "zero.txt")
    idx = str(tmp_path / "idx")
    res = run_cli("index", str(docs), "--index", idx, "--encoder", "hashing-test", "--json",
                  preexec=_cap_memory, timeout=120)
    assert res.returncode == 3, res.stderr
    assert skipped(json.loads(res.stdout))["zero.txt"].startswith(
        "symlink to outside the indexed folder")
    # followed on request, it is still no regular file: skipped, never read
    res = run_cli("index", str(docs), "--index", idx, "--follow-outside", "--json",
                  preexec=_cap_memory, timeout=120)
    assert res.returncode == 3, res.stderr
    report = json.loads(res.stdout)
    assert skipped(report)["zero.txt"] == "not a regular file (character device)"
    assert "MemoryError" not in res.stderr + res.stdout


def test_a_file_that_exhausts_memory_is_skipped_not_the_run(tmp_path, docs, hashing,
                                                             monkeypatch):
    import searchkit.readers as readers

    def greedy(data):
        raise MemoryError

    monkeypatch.setitem(readers.READERS, ".rst", greedy)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths([docs])
    assert {Path(s.path).name: s.reason for s in rep.skipped}["meeting.rst"] == \
        "too large to read in memory"
    assert any(p.endswith("river.md") for p in rep.new)


# -- symlinks out of the folder ----------------------------------------------------------

def test_symlinks_outside_the_root_are_skipped_unless_followed(tmp_path, docs, hashing):
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "key.txt").write_text("the bank password is swordfish")
    (docs / "innocent.txt").symlink_to(secret / "key.txt")
    (docs / "more").symlink_to(secret)
    (docs / "alias.md").symlink_to(docs / "river.md")  # inside: fine, and not twice
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths([docs])
        reasons = {Path(s.path).name: s.reason for s in rep.skipped}
        assert reasons["innocent.txt"].startswith("symlink to outside the indexed folder")
        assert reasons["more"].startswith("symlink to outside the indexed folder")
        assert not idx.search("swordfish password", method="bm25")
        paths = {Path(d["path"]).name for d in idx.documents()}
        assert "river.md" in paths and "alias.md" not in paths
        rep = idx.add_paths([docs], follow_outside=True)
        assert not any(s.reason.startswith("symlink to outside") for s in rep.skipped)
        hits = idx.search("swordfish password", method="bm25")
        assert hits and "swordfish" in hits[0].text


# -- two first runs at once --------------------------------------------------------------

RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from searchkit.encoders import REGISTRY
    from searchkit.encoders.hashing import HashingEncoder

    class Other(HashingEncoder):  # a second encoder: different vectors, same dimension
        id = "hashing-other"
        def embed_batch(self, texts):
            return -super().embed_batch(texts)

    REGISTRY["hashing-other"] = lambda model_dir=None, id=None: Other()
    from searchkit.api import index_paths
    from searchkit.errors import SearchkitError
    docs, index, encoder, go = sys.argv[1:5]
    while not Path(go).exists():
        time.sleep(0.001)
    try:
        index_paths([docs], index=index, encoder=encoder)
        print("ok")
    except SearchkitError as e:
        print(type(e).__name__, e)
""")


def test_concurrent_first_runs_never_mix_encoders(tmp_path, docs):
    from searchkit.encoders.hashing import HashingEncoder

    for i in range(40):  # enough text that the two runs overlap
        (docs / f"extra{i}.txt").write_text(f"note {i} " + "river stone cloud " * 50)
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outcomes = []
    for trial in range(3):
        idx, go = tmp_path / f"idx{trial}", tmp_path / f"go{trial}"
        procs = [subprocess.Popen([sys.executable, str(script), str(docs), str(idx), enc,
                                   str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env)
                 for enc in ("hashing-test", "hashing-other")]
        go.touch()
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
        outcomes.append(outs)
        print(outs)
        assert "ok" in outs, outs
        for o in outs:  # the loser is told why, in searchkit's words
            assert o == "ok" or o.startswith(("IndexLocked", "EncoderMismatch")), o
        with Index.open(idx) as ix:
            winner = ix.manifest.encoder
            assert json.loads((idx / "manifest.json").read_text())["encoder"] == winner
            sign = 1.0 if winner == "hashing-test" else -1.0
            rows = ix.store.db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            ids = np.array([r[0] for r in rows])
            _, got = ix.vectors.vectors_of(ids)
            want = sign * HashingEncoder().embed_batch([r[1] for r in rows])
            np.testing.assert_allclose(got, want, atol=1e-5)
            assert ix.check().ok


def test_create_takes_the_write_lock(tmp_path, hashing):
    from searchkit.store.lock import WriteLock

    path = tmp_path / "idx"
    path.mkdir()
    lock = WriteLock(path).acquire()
    try:
        with pytest.raises(IndexLocked, match="being written by another process"):
            Index.create(path, encoder="hashing-test")
    finally:
        lock.release()
    Index.create(path, encoder="hashing-test").close()


# -- damaged stores ----------------------------------------------------------------------

def garble_vectors(path: Path, keep_mtime: bool) -> None:
    """Overwrite stored floats with 6.9e36, the size unchanged (as in the probe)."""
    f = path / "vectors.faiss"
    st = f.stat()
    data = bytearray(f.read_bytes())
    for off in range(200, 200 + 4 * 384 * 3, 4):
        data[off:off + 4] = struct.pack("<f", 6.9e36)
    f.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_garbled_vector_file_touched_is_rebuilt_from_the_database(hashing_index):
    import logging

    with Index.open(hashing_index) as idx:
        good = [(h.path, h.score) for h in idx.search("river banks", method="dense")]
    garble_vectors(hashing_index, keep_mtime=False)
    notices: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: notices.append(record.getMessage())
    log = logging.getLogger("searchkit")  # the CLI sets its level, stops its propagation
    log.addHandler(handler)
    level, log.level = log.level, logging.INFO
    try:
        with Index.open(hashing_index) as idx:
            got = [(h.path, h.score) for h in idx.search("river banks", method="dense")]
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert got == good
    assert any("rebuilding it from the database" in n for n in notices)
    assert not Index.open(hashing_index).check().ok


def test_garbled_vector_file_in_place_is_refused_then_repaired(hashing_index):
    garble_vectors(hashing_index, keep_mtime=True)  # bit rot: same size, same mtime
    res = CliRunner().invoke(cli, ["query", "river banks", "--index", str(hashing_index), "-m",
                                   "dense"])
    assert res.exit_code == 1
    assert "vector file is damaged" in res.output and "search check --repair" in res.output
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index), "--repair"])
    assert res.exit_code == 0, res.output
    assert "Repaired: vector file rebuilt" in res.output
    res = CliRunner().invoke(cli, ["query", "river banks", "--index", str(hashing_index), "-m",
                                   "dense"])
    assert res.exit_code == 0 and "river.md" in res.output


def test_sync_replaces_a_garbled_vector_file(hashing_index, docs):
    garble_vectors(hashing_index, keep_mtime=False)
    (docs / "new.txt").write_text("a new note about lanterns")
    with Index.open(hashing_index, readonly=False) as idx:
        idx.add_paths([docs])
    with Index.open(hashing_index) as idx:
        assert idx.check().ok


def garble_pages(db: Path) -> None:
    """Garble the b-tree page headers and cell pointers of every page but the first."""
    data = bytearray(db.read_bytes())
    for page in range(1, len(data) // 4096):
        for i in range(page * 4096, page * 4096 + 40):
            data[i] = (i * 7) & 0xFF
    db.write_bytes(bytes(data))


def test_garbled_database_pages_are_found_and_rebuilt(hashing_index, docs):
    db = hashing_index / "index.db"
    with Index.open(hashing_index, readonly=False) as idx:  # fold the WAL into the file first
        idx.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    garble_pages(db)
    res = CliRunner().invoke(cli, ["check", "--index", str(hashing_index)])
    assert res.exit_code == 1
    assert "Problem: " in res.output and "damaged" in res.output
    assert "--rebuild" in res.output
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(hashing_index), "--rebuild",
                                   "-q"])
    assert res.exit_code == 0, res.output
    with Index.open(hashing_index) as idx:
        assert idx.check().ok
        assert idx.manifest.encoder == "hashing-test"
        assert idx.search("river banks", method="bm25")


def test_garbage_database_names_rebuild_and_rebuild_works(hashing_index, docs):
    (hashing_index / "index.db").write_bytes(os.urandom(64 * 1024))
    for f in hashing_index.glob("index.db-*"):
        f.unlink()
    res = CliRunner().invoke(cli, ["query", "river", "--index", str(hashing_index)])
    assert res.exit_code == 1
    assert "is damaged" in res.output and "--rebuild" in res.output
    assert "does not hold a searchkit index" not in res.output
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(hashing_index), "--rebuild",
                                   "-q"])
    assert res.exit_code == 0, res.output
    with Index.open(hashing_index) as idx:
        assert idx.manifest.encoder == "hashing-test" and idx.check().ok


def test_deleted_database_keeps_the_encoder_of_the_manifest(hashing_index, docs):
    for f in hashing_index.glob("index.db*"):
        f.unlink()
    res = CliRunner().invoke(cli, ["query", "river", "--index", str(hashing_index)])
    assert res.exit_code == 1 and "lost its database" in res.output
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(hashing_index), "--encoder",
                                   "minilm-int8"])
    assert res.exit_code == 1 and "manifest.json" in res.output
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(hashing_index), "-q"])
    assert res.exit_code == 0, res.output
    with Index.open(hashing_index) as idx:
        assert idx.manifest.encoder == "hashing-test" and idx.check().ok


# -- long files: segments committed one after another -------------------------------------

def long_text(n: int) -> str:
    return "\n\n".join(f"Paragraph {i} tells of river {i}, stone {i * 7} and lantern "
                       f"{i % 13}.\nIt has a second line." for i in range(n))


def test_long_file_is_chunked_in_segments_with_true_offsets(tmp_path, hashing, monkeypatch):
    import searchkit.pipeline as pipeline

    monkeypatch.setattr(pipeline, "SEGMENT_CHARS", 3000)
    text = long_text(300)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "long.txt").write_text(text)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths([tmp_path / "d"])
        assert len(rep.new) == 1
        rows = list(idx.store.db.query("SELECT * FROM chunks ORDER BY ord"))
        doc = idx.documents()[0]
    assert len(rows) > 10
    assert [r["ord"] for r in rows] == list(range(len(rows)))
    for r in rows:
        assert text[r["start_char"]:r["end_char"]] == r["text"]
        assert r["start_line"] == text.count("\n", 0, r["start_char"]) + 1
    covered = set()
    for r in rows:
        covered.update(range(r["start_char"], r["end_char"]))
    assert all(i in covered or text[i].isspace() for i in range(len(text)))
    assert doc["size"] == len(text.encode()) and doc["content_hash"] != "partial"


def test_long_file_interrupted_resumes_without_embedding_again(tmp_path, hashing,
                                                               monkeypatch):
    import searchkit.pipeline as pipeline
    from searchkit.writer import IndexWriter

    monkeypatch.setattr(pipeline, "SEGMENT_CHARS", 3000)
    monkeypatch.setenv("SEARCHKIT_COMMIT_CHUNKS", "8")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "long.txt").write_text(long_text(300))
    real = IndexWriter._commit_group
    commits = []

    def dying(self, *args):
        if len(commits) == 3:
            raise KeyboardInterrupt  # as a kill between two commits
        commits.append(1)
        return real(self, *args)

    monkeypatch.setattr(IndexWriter, "_commit_group", dying)
    path = tmp_path / "idx"
    with Index.create(path, encoder="hashing-test") as idx:
        with pytest.raises(KeyboardInterrupt):
            idx.add_paths([tmp_path / "d"])
    with Index.open(path) as idx:
        doc = idx.documents()[0]
        assert doc["content_hash"] == "partial" and doc["size"] == -1
        kept = {r[0] for r in idx.store.db.execute("SELECT text FROM chunks")}
    assert kept
    monkeypatch.setattr(IndexWriter, "_commit_group", real)
    hashing.calls.clear()
    with Index.open(path, readonly=False) as idx:
        rep = idx.add_paths([tmp_path / "d"])
        assert rep.changed and not (kept & set(hashing.calls))
        doc = idx.documents()[0]
        assert doc["content_hash"] != "partial" and idx.check().ok


# -- API inputs --------------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path, docs, hashing):
    idx = Index.create(tmp_path / "tiny", encoder="hashing-test")
    idx.add_paths([docs])
    yield idx
    idx.close()


@pytest.mark.parametrize("kwargs", [
    {"k": "5"}, {"k": None}, {"k": 2.5}, {"k": True},
    {"method": "hybrid", "weights": "nan,1"}, {"method": "hybrid", "weights": [float("inf"), 1]},
    {"method": "hybrid", "rrf_k": float("nan")}, {"method": "hybrid", "rrf_k": "x"},
    {"method": "hybrid", "weights": ["a", "b"]}, {"method": "hybrid", "fuse": 5},
    {"path": 5}, {"ext": 5}, {"path": [1]}, {"modified_after": float("nan")},
    {"modified_after": "9999-12-31T99"},
])
def test_bad_search_arguments_raise_bad_input(tiny, kwargs):
    with pytest.raises(BadInput):
        tiny.search("river", **kwargs)


def test_modified_after_year_one_means_everything(tiny):
    assert tiny.search("river", method="bm25", modified_after="0001-01-01")
    res = CliRunner().invoke(cli, ["query", "river", "--index", str(tiny.path),
                                   "--modified-after", "0001-01-01"])
    assert res.exit_code == 0 and "internal error" not in res.output


def test_bad_write_arguments_raise_bad_input(tiny, tmp_path):
    from searchkit import ChunkSettings

    for call in (lambda: tiny.add_texts("hello"), lambda: tiny.add_texts(["x"], metadata=[5]),
                 lambda: tiny.add_paths([5]), lambda: Index.open(5),
                 lambda: Index.create(tmp_path / "a", encoder="hashing-test",
                                      vector_index="bogus"),
                 lambda: ChunkSettings(max_tokens=2), lambda: tiny.remove([None])):
        with pytest.raises(BadInput):
            call()
    assert len(tiny.add_texts(["same", "same"])) == 2  # one key twice: no IntegrityError


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_is_read(tmp_path, hashing, encoding):
    d = tmp_path / "d"
    d.mkdir()
    (d / "wide.txt").write_bytes("Crème brûlée by the river Thames.".encode(encoding))
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths([d])
        assert rep.new and not rep.skipped
        assert idx.search("Thames", method="bm25")[0].text.startswith("Crème brûlée")


def test_safe_display_escapes_what_could_fool_a_terminal():
    from searchkit.text import safe_display

    assert safe_display("notes/plan.md") == "notes/plan.md"
    assert safe_display("a\nb\tc\x1b[31m") == "a\\nb\\tc\\x1b[31m"
    assert safe_display("invoice\u202egnp.exe") == "invoice\\u202egnp.exe"
    assert safe_display("x\u2028y\x85z\x7f") == "x\\u2028y\\x85z\\x7f"
    assert safe_display("caf\xe9 \u05e9\u05dc\u05d5\u05dd") == "caf\xe9 \u05e9\u05dc\u05d5\u05dd"
    assert safe_display("bad-\udcff.txt") == "bad-\\udcff.txt"
