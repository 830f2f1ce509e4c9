"""Crash safety: SIGKILL a real ``search index`` at seeded random moments; the index must
always open, be consistent with some committed batch, and a rerun must finish the work.
Also: a missing, stale or corrupt FAISS file is rebuilt from SQLite with a notice."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchkit.chunking import chunk_text
from searchkit.index import DB_FILE, VECTORS_FILE, Index
from searchkit.readers import read_bytes
from searchkit.store.meta import MetaStore

WORDS = ("apple river stone cloud ember violet harbor meadow copper lantern falcon orchard "
         "thunder glacier pebble").split()


#: The text of every version of every file written, by content hash: a document's chunks
#: must be exactly those of the version it records.
TEXTS: dict[str, str] = {}


def write_corpus(root: Path, n: int, seed: int) -> dict[str, set[str]]:
    """``n`` small text files; returns path -> content hashes it has had."""
    rng = random.Random(seed)
    versions: dict[str, set[str]] = {}
    for i in range(n):
        d = root / f"d{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        write(d / f"n{i}.txt", rng, i, versions)
    return versions


def write(path: Path, rng: random.Random, i: int, versions: dict[str, set[str]]) -> None:
    paras = [f"file {i} para {j} {rng.random():.6f} "
             + " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 60))) + "."
             for j in range(rng.randint(1, 4))]
    data = "\n\n".join(paras).encode()
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    versions.setdefault(str(path), set()).add(digest)
    TEXTS[digest] = read_bytes(path, data).text


def generation(idx: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{idx / DB_FILE}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM manifest WHERE key = 'generation'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return -1
    return int(row[0]) if row else -1


def run_index(folder: Path, idx: Path, after_gen: int | None = None, delay: float = 0.0,
              kill: bool = True) -> int:
    """Run ``search index``; with ``kill``, SIGKILL it ``delay`` seconds after the index's
    generation reaches ``after_gen`` (None: ``delay`` seconds after the start). Returns
    the exit status (-9 when killed)."""
    env = {**os.environ, "SEARCHKIT_COMMIT_CHUNKS": "16", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "searchkit", "index", str(folder), "--index", str(idx),
           "--encoder", "hashing-test", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not kill:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        return 0
    deadline = time.monotonic() + 60
    while after_gen is not None and proc.poll() is None and time.monotonic() < deadline:
        if generation(idx) >= after_gen:
            break
        time.sleep(0.01)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode


def check_consistent(idx_path: Path, versions: dict[str, set[str]], tokenizer) -> int:
    """The invariants a committed state has; returns the number of documents."""
    if not (idx_path / DB_FILE).exists():
        return 0
    try:
        idx = Index.open(idx_path, readonly=True)
    except Exception:  # killed before the manifest was committed: a rerun completes it
        from searchkit.index import index_exists

        assert not index_exists(idx_path)
        return 0
    with idx:
        db = idx.store.db
        orphans = db.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN embeddings e ON e.encoder = ? "
            "AND e.text_hash = c.text_hash WHERE e.vector IS NULL",
            [idx.vector_key]).fetchone()[0]
        assert orphans == 0, "chunks without a vector"
        assert len(idx.vectors) == idx.store.count("chunks")
        docs = idx.store.documents()
        for d in docs:
            assert d["path"] in versions, d["path"]
            assert d["content_hash"] in versions[d["path"]], "a document from a torn file"
            ords = [r[0] for r in db.execute(
                "SELECT ord FROM chunks WHERE doc_id = ? ORDER BY ord", [d["id"]])]
            want = chunk_text(TEXTS[d["content_hash"]], tokenizer, idx.chunk_settings)
            assert ords == list(range(len(want))), f"incomplete chunks of {d['path']}"
        return len(docs)


def test_sigkill_at_random_moments_leaves_a_consistent_index(tmp_path, hashing):
    folder, idx = tmp_path / "corpus", tmp_path / "idx"
    versions = write_corpus(folder, 200, seed=1)
    rng = random.Random(20240607)
    kills = 0
    counts = []
    for step in range(5):
        if step == 3:  # change the folder under a partly built index: edits, deletes, moves
            files = sorted(folder.rglob("*.txt"))
            for i, p in enumerate(files[:30]):
                if i % 3 == 0:
                    p.unlink()
                elif i % 3 == 1:
                    write(p, rng, i, versions)
                else:
                    dest = p.with_name("moved-" + p.name)
                    p.rename(dest)
                    versions[str(dest)] = versions[str(p)]
        if step == 0:  # early: while starting up or creating the index (a whole run of
            # this corpus takes ~1.5 s with warm .pyc files on the 2-core machine)
            rc = run_index(folder, idx, None, rng.uniform(0.2, 0.8))
        else:  # a random moment around a random commit
            target = generation(idx) + rng.randint(1, 3)
            rc = run_index(folder, idx, target, rng.uniform(0, 0.05))
        kills += rc == -signal.SIGKILL
        counts.append(check_consistent(idx, versions, hashing.tokenizer))
    assert kills >= 4, "the kills came too late to interrupt anything"
    assert any(0 < c < 200 for c in counts), counts  # a kill left part of the corpus committed
    run_index(folder, idx, kill=False)  # a rerun completes the work
    on_disk = {str(p) for p in folder.rglob("*.txt")}
    with Index.open(idx) as done:
        paths = {d["path"] for d in done.documents()}
        assert paths == on_disk
        for d in done.documents():
            assert d["content_hash"] == hashlib.sha256(Path(d["path"]).read_bytes()).hexdigest()
    assert check_consistent(idx, versions, hashing.tokenizer) == len(on_disk)


def test_index_killed_while_being_created_is_completed(tmp_path, hashing, docs):
    """A kill between creating the database and committing its manifest."""
    from searchkit.api import index_paths

    (tmp_path / "idx").mkdir()
    MetaStore(tmp_path / "idx" / DB_FILE).close()  # tables, no manifest
    r = index_paths([str(docs)], index=tmp_path / "idx", encoder="hashing-test")
    assert len(r.new) == 6
    with Index.open(tmp_path / "idx") as idx:
        assert idx.manifest.encoder == "hashing-test"


class _Notices(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def notices():
    h = _Notices()
    log = logging.getLogger("searchkit")
    log.addHandler(h)
    old = log.level
    log.setLevel(logging.INFO)
    yield h.messages
    log.removeHandler(h)
    log.setLevel(old)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "stale_sidecar",
                                    "delete_sidecar"])
def test_damaged_vector_file_is_rebuilt_with_a_notice(tmp_path, docs, hashing, notices, damage):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    want = [(h.path, h.score) for h in idx.search("river banks erode", k=5)]
    idx.close()
    f = tmp_path / "idx" / VECTORS_FILE
    side = f.with_name(f.name + ".json")
    if damage == "truncate":
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif damage == "garbage":
        f.write_bytes(os.urandom(f.stat().st_size))
    elif damage == "delete":
        f.unlink()
    elif damage == "stale_sidecar":
        side.write_text(side.read_text().replace('"generation": ', '"generation": 9'))
    else:
        side.unlink()
    with Index.open(tmp_path / "idx") as idx:
        got = [(h.path, h.score) for h in idx.search("river banks erode", k=5)]
        assert len(idx.vectors) == idx.store.count("chunks")
    assert got == want
    assert any("rebuilding it from the database" in m for m in notices)
    # a writer saves the rebuilt file: the next open needs no rebuild
    with Index.open(tmp_path / "idx", readonly=False) as idx:
        idx.add_paths([docs])
    notices.clear()
    with Index.open(tmp_path / "idx") as idx:
        idx.search("river", k=1)
    assert notices == []


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path, docs, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / "idx" / f"{VECTORS_FILE}.tmp{dead.pid}",
             tmp_path / "idx" / f"{VECTORS_FILE}.json.tmp{dead.pid}"]
    alive = tmp_path / "idx" / f"{VECTORS_FILE}.tmp1"  # pid 1 is alive: not ours to remove
    for f in [*stale, alive]:
        f.write_bytes(b"partial")
    idx.add_paths([docs])
    idx.close()
    assert not any(f.exists() for f in stale) and alive.exists()
