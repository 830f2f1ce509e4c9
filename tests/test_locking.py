"""One writer, many readers: a second writer is refused with the writer's pid; readers
keep querying during a write and see the last committed state."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from searchkit.errors import IndexLocked
from searchkit.index import Index
from searchkit.store.lock import WriteLock
from searchkit.writer import IndexWriter


def test_second_writer_process_gets_the_error_and_exit_1(tmp_path, docs, hashing):
    Index.create(tmp_path / "idx", encoder="hashing-test").close()
    lock = WriteLock(tmp_path / "idx").acquire()
    try:
        res = subprocess.run(
            [sys.executable, "-m", "searchkit", "index", str(docs), "--index",
             str(tmp_path / "idx")], capture_output=True, text=True, timeout=120,
            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    finally:
        lock.release()
    assert res.returncode == 1
    assert res.stderr.strip() == (f"Error: index {tmp_path / 'idx'} is being written by "
                                  f"another process (pid {os.getpid()})")
    with Index.open(tmp_path / "idx") as idx:
        assert idx.store.count("documents") == 0  # the refused writer wrote nothing


def test_lock_is_released_after_a_write_and_after_an_error(tmp_path, docs, hashing,
                                                           monkeypatch):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    WriteLock(tmp_path / "idx").acquire().release()

    def fail(*a, **kw):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(IndexWriter, "_write_pending", fail)
    with pytest.raises(RuntimeError):
        idx.add_paths([docs])
    WriteLock(tmp_path / "idx").acquire().release()
    assert (tmp_path / "idx" / "write.lock").read_text() == ""
    idx.close()


def test_readers_query_during_a_write_and_see_committed_state(tmp_path, docs, hashing,
                                                              monkeypatch):
    writer = Index.create(tmp_path / "idx", encoder="hashing-test")
    writer.add_paths([docs])
    more = tmp_path / "more"
    more.mkdir()
    for i in range(6):
        (more / f"m{i}.txt").write_text(f"Zeppelin number {i} floats over the harbour.")
    monkeypatch.setenv("SEARCHKIT_COMMIT_CHUNKS", "3")

    mid, go = threading.Event(), threading.Event()
    real = IndexWriter._commit_group
    groups = []

    def paused(self, *a, **kw):
        real(self, *a, **kw)
        groups.append(1)
        if len(groups) == 1:
            mid.set()
            assert go.wait(30)

    monkeypatch.setattr(IndexWriter, "_commit_group", paused)
    errors = []

    def write():
        try:
            writer.add_paths([more])
        except BaseException as e:  # surfaced below
            errors.append(e)

    t = threading.Thread(target=write)
    reader = Index.open(tmp_path / "idx")
    before = reader.search("zeppelin harbour", k=20)
    assert all("more" not in h.path for h in before)
    t.start()
    try:
        assert mid.wait(30)
        # mid-write: the first commit (3 documents) is visible, nothing half-written
        hits = reader.search("zeppelin harbour", k=20)
        assert sum("m" in os.path.basename(h.path) and "more" in h.path for h in hits) == 3
        assert len(reader.vectors) == reader.store.count("chunks")
        # a second writer in the meantime is refused, naming this process
        with pytest.raises(IndexLocked, match=f"pid {os.getpid()}"):
            Index.open(tmp_path / "idx", readonly=False).add_paths([docs])
        # and so is a rebuild
        from searchkit.api import index_paths

        with pytest.raises(IndexLocked):
            index_paths([str(docs)], index=tmp_path / "idx", rebuild=True)
    finally:
        go.set()
        t.join(30)
    assert not errors, errors
    hits = reader.search("zeppelin harbour", k=20)
    assert sum("more" in h.path for h in hits) == 6
    assert len(reader.vectors) == reader.store.count("chunks") == 12
    reader.close()
    writer.close()


def test_writing_holds_the_lock_for_its_block(tmp_path, docs, hashing):
    """``Index.writing()`` is the write lock as a block: another writer is refused inside
    it (with this pid), and may write once the block ends, even by an error."""
    from searchkit.errors import SearchkitError

    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        with idx.writing():
            with pytest.raises(IndexLocked, match=f"pid {os.getpid()}"):
                WriteLock(tmp_path / "idx").acquire()
            with pytest.raises(IndexLocked):
                idx.add_texts(["refused while the block holds the lock"])
        with pytest.raises(RuntimeError):
            with idx.writing():
                raise RuntimeError("a failed write")
        assert len(idx.add_texts(["written after the block"])) == 1
    with Index.open(tmp_path / "idx", readonly=True) as ro:
        with pytest.raises(SearchkitError, match="read-only"):
            with ro.writing():
                pass
