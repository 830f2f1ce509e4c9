"""Folder sync: what is planned, what is embedded (counted through ``hashing.calls``), what
is kept. Every test uses the hashing-test encoder: plumbing, not quality."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from searchkit.api import index_paths
from searchkit.cli import cli
from searchkit.config import ChunkSettings
from searchkit.errors import BadInput, IndexLocked
from searchkit.index import Index
from searchkit.store.lock import WriteLock

SMALL = ChunkSettings(max_tokens=24, overlap=0)
PARAS = [f"Paragraph {i} talks about topic{i} and nothing else at all." for i in range(6)]


def make(idx_path, chunking=SMALL):
    return Index.create(idx_path, encoder="hashing-test", chunking=chunking)


def chunk_texts(idx, path=None) -> list[str]:
    sql = "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
    params = []
    if path is not None:
        sql += " WHERE d.path = ?"
        params = [str(path)]
    return [r[0] for r in idx.store.db.execute(sql + " ORDER BY c.doc_id, c.ord", params)]


def consistent(idx) -> None:
    """Every chunk has a vector in FAISS and FAISS holds nothing else."""
    vec = idx.vectors
    ids = [r[0] for r in idx.store.db.execute("SELECT id FROM chunks")]
    assert len(vec) == len(ids)
    for i in ids:
        vec.reconstruct(i)  # raises when missing


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "a.txt").write_text("\n\n".join(PARAS))
    (d / "b.md").write_text("# Bees\n\nBees make honey from nectar in the summer.\n")
    (d / "sub").mkdir()
    (d / "sub" / "c.txt").write_text("Rivers carve valleys over long stretches of time.\n")
    return d


def test_first_sync_embeds_each_distinct_chunk_once(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    r = idx.add_paths([folder])
    assert sorted(r.new) == sorted(str(p) for p in folder.rglob("*.*"))
    texts = chunk_texts(idx)
    assert len(texts) > 3  # a.txt is cut into several chunks
    assert sorted(hashing.calls) == sorted(set(texts))
    assert r.chunks_added == len(texts) and r.chunks_embedded == len(set(texts))
    consistent(idx)


def test_resync_unchanged_embeds_nothing(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    hashing.calls.clear()
    gen = idx.store.generation()
    (folder / "a.txt").touch()  # new mtime, same content
    r = idx.add_paths([folder])
    assert hashing.calls == []
    assert len(r.unchanged) == 3 and r.files_indexed == 0 and r.chunks_added == 0
    assert idx.store.generation() == gen


def test_edit_one_paragraph_reembeds_only_that_chunk(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    before = set(chunk_texts(idx))
    doc_id = idx.store.document_by_path(str(folder / "a.txt"))["id"]
    hashing.calls.clear()
    paras = list(PARAS)
    paras[3] = "Paragraph 3 was rewritten: it is about kettles now, entirely."
    (folder / "a.txt").write_text("\n\n".join(paras))
    r = idx.add_paths([folder])
    after = chunk_texts(idx, folder / "a.txt")
    new_texts = set(after) - before
    assert new_texts and all("kettles" in t for t in new_texts)
    assert sorted(hashing.calls) == sorted(new_texts)
    assert r.changed == [str(folder / "a.txt")] and len(r.unchanged) == 2
    assert r.chunks_embedded == len(new_texts)
    assert idx.store.document_by_path(str(folder / "a.txt"))["id"] == doc_id
    consistent(idx)
    hits = idx.search("kettles", k=1)
    assert hits[0].path.endswith("a.txt") and "kettles" in hits[0].text


def test_delete_removes_document_chunks_and_vectors(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    n_c = len(chunk_texts(idx, folder / "sub" / "c.txt"))
    (folder / "sub" / "c.txt").unlink()
    hashing.calls.clear()
    r = idx.add_paths([folder])
    assert r.deleted == [str(folder / "sub" / "c.txt")] and r.chunks_removed == n_c
    assert hashing.calls == []
    assert idx.store.document_by_path(str(folder / "sub" / "c.txt")) is None
    consistent(idx)
    assert all("c.txt" not in h.path for h in idx.search("rivers carve valleys", k=10))
    # the deleted text's cached vector is dropped too
    assert idx.store.count("embeddings") == len(set(chunk_texts(idx)))


def test_rename_and_move_keep_document_and_vectors(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    old = idx.store.document_by_path(str(folder / "a.txt"))
    chunk_ids = idx.store.chunk_ids_of(old["id"])
    (folder / "deeper").mkdir()
    shutil.move(folder / "a.txt", folder / "deeper" / "renamed.txt")
    hashing.calls.clear()
    r = idx.add_paths([folder])
    assert r.renamed == [(str(folder / "a.txt"), str(folder / "deeper" / "renamed.txt"))]
    assert r.new == [] and r.deleted == [] and r.chunks_added == 0 and r.chunks_removed == 0
    assert hashing.calls == []
    moved = idx.store.document_by_path(str(folder / "deeper" / "renamed.txt"))
    assert moved["id"] == old["id"] and idx.store.chunk_ids_of(moved["id"]) == chunk_ids
    consistent(idx)
    assert idx.search("topic4", k=1)[0].path.endswith("renamed.txt")


def test_moved_file_and_new_file_under_the_old_name(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    shutil.move(folder / "b.md", folder / "bees.md")
    (folder / "b.md").write_text("# Wasps\n\nWasps are not bees and make no honey.\n")
    hashing.calls.clear()
    r = idx.add_paths([folder])
    assert sorted(hashing.calls) == sorted(chunk_texts(idx, folder / "b.md"))
    assert all("Wasps" in t for t in hashing.calls)
    assert idx.store.document_by_path(str(folder / "bees.md")) is not None
    assert "honey from nectar" in chunk_texts(idx, folder / "bees.md")[0]
    assert "Wasps" in chunk_texts(idx, folder / "b.md")[0]
    assert r.deleted == []
    consistent(idx)


def test_sync_is_scoped_to_its_paths(tmp_path, folder, hashing):
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("Owls hunt at night in the quiet woods.")
    idx = make(tmp_path / "idx")
    idx.add_paths([folder, other])
    (other / "x.txt").unlink()
    r = idx.add_paths([folder])  # other/ is not part of this sync
    assert r.deleted == []
    assert idx.store.document_by_path(str(other / "x.txt")) is not None
    r = idx.add_paths([other])
    assert r.deleted == [str(other / "x.txt")]
    assert idx.store.document_by_path(str(folder / "a.txt")) is not None


def test_move_between_folders_synced_separately_embeds_nothing(tmp_path, folder, hashing):
    """A file moved from notes/ to other/ and only other/ synced: the move is not seen as a
    rename (notes/ is out of scope and keeps its entry), but the vectors come from the
    cache; syncing notes/ afterwards removes the old entry."""
    other = tmp_path / "other"
    other.mkdir()
    idx = make(tmp_path / "idx")
    idx.add_paths([folder, other])
    shutil.move(folder / "a.txt", other / "a.txt")
    hashing.calls.clear()
    r = idx.add_paths([other])
    assert r.new == [str(other / "a.txt")] and r.renamed == [] and r.deleted == []
    assert hashing.calls == [] and r.chunks_embedded == 0
    assert idx.store.document_by_path(str(folder / "a.txt")) is not None
    r = idx.add_paths([folder])
    assert r.deleted == [str(folder / "a.txt")]
    assert hashing.calls == []
    consistent(idx)
    assert idx.search("topic2", k=1)[0].path == str(other / "a.txt") or \
        idx.search("topic2", k=1)[0].path.endswith("other/a.txt")


def test_overlapping_roots_index_each_file_once(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    r = idx.add_paths([folder / "sub", folder, folder / "sub" / "c.txt"])
    assert len(r.new) == 3 and len(set(r.new)) == 3
    assert idx.store.count("documents") == 3
    (folder / "a.txt").unlink()
    r = idx.add_paths([folder / "sub"])  # a narrower root: a.txt is out of scope
    assert r.deleted == [] and r.unchanged == [str(folder / "sub" / "c.txt")]
    r = idx.add_paths([folder, folder / "sub"])
    assert r.deleted == [str(folder / "a.txt")] and len(r.unchanged) == 2


def test_changed_file_that_now_fails_to_read_keeps_its_entry(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    before = chunk_texts(idx, folder / "sub" / "c.txt")
    (folder / "sub" / "c.txt").write_bytes(b"\x00\x01binary now\x00")
    r = idx.add_paths([folder])
    assert [(s.path, s.reason) for s in r.skipped] == [(str(folder / "sub" / "c.txt"),
                                                        "binary file")]
    assert r.deleted == [] and r.changed == []
    assert chunk_texts(idx, folder / "sub" / "c.txt") == before
    consistent(idx)
    (folder / "sub" / "c.txt").write_text("")  # emptied: still skipped, still kept
    r = idx.add_paths([folder])
    assert r.skipped[0].reason == "empty file"
    assert chunk_texts(idx, folder / "sub" / "c.txt") == before


def test_dry_run_reports_what_the_real_run_does_and_writes_nothing(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    paras = list(PARAS)
    paras[0] = "An entirely new first paragraph about lanterns."
    (folder / "a.txt").write_text("\n\n".join(paras))
    shutil.move(folder / "b.md", folder / "bees.md")
    (folder / "sub" / "c.txt").unlink()
    (folder / "d.txt").write_text("Fresh words about gliders and kites.")
    gen = idx.store.generation()
    hashing.calls.clear()
    plan = idx.add_paths([folder], dry_run=True)
    assert hashing.calls == [] and idx.store.generation() == gen
    assert idx.store.document_by_path(str(folder / "sub" / "c.txt")) is not None
    real = idx.add_paths([folder])
    for key in ("new", "changed", "unchanged", "deleted", "renamed", "chunks_added",
                "chunks_removed", "chunks_embedded"):
        assert getattr(plan, key) == getattr(real, key), key
    assert plan.dry_run and not real.dry_run
    assert real.chunks_embedded == len(hashing.calls) == 2


def test_dry_run_of_a_new_index_counts_chunks_and_creates_nothing(tmp_path, folder, hashing):
    (folder / "empty.txt").write_text("")
    path = tmp_path / "idx"
    plan = index_paths([str(folder)], index=path, encoder="hashing-test", dry_run=True,
                       chunk_size=24, overlap=0)
    assert not path.exists()
    assert hashing.calls == []
    assert [s.reason for s in plan.skipped] == ["empty file"]
    real = index_paths([str(folder)], index=path, encoder="hashing-test", chunk_size=24,
                       overlap=0)
    assert (plan.new, plan.chunks_added, plan.chunks_embedded) == (
        real.new, real.chunks_added, real.chunks_embedded)


def test_cli_index_prints_counts_and_json(tmp_path, folder, hashing):
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    res = runner.invoke(cli, ["index", str(folder), "--index", idx, "--encoder", "hashing-test",
                              "-q"])
    assert res.exit_code == 0, res.output
    (folder / "sub" / "c.txt").unlink()
    (folder / "d.txt").write_text("Gliders and kites ride the wind.")
    res = runner.invoke(cli, ["index", str(folder), "--index", idx, "--dry-run"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [
        "Dry run (nothing written): 1 files indexed (1 new, 0 changed, 0 moved), "
        "2 unchanged, 1 removed, 0 skipped.",
        "Chunks: +1 -1, would embed 1.",
    ]
    res = runner.invoke(cli, ["index", str(folder), "--index", idx, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["new"] == [str(folder / "d.txt")] and d["deleted"] == [str(folder / "sub" / "c.txt")]
    assert (d["chunks_added"], d["chunks_removed"], d["chunks_embedded"]) == (1, 1, 1)
    assert len(d["unchanged"]) == 2 and d["skipped"] == []


def test_cli_sync_with_another_encoder_is_refused(tmp_path, folder, hashing):
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    runner.invoke(cli, ["index", str(folder), "--index", idx, "--encoder", "hashing-test", "-q"])
    res = runner.invoke(cli, ["index", str(folder), "--index", idx, "--encoder", "minilm"])
    assert res.exit_code == 1
    assert "'hashing-test'" in res.output and "'minilm'" in res.output
    assert "--rebuild" in res.output


def test_rebuild_same_encoder_reuses_vectors(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    n = idx.store.count("chunks")
    idx.close()
    hashing.calls.clear()
    r = index_paths([str(folder)], index=tmp_path / "idx", rebuild=True)
    assert r.chunks_added == n and hashing.calls == []
    assert not (tmp_path / "idx.rebuild").exists()
    with Index.open(tmp_path / "idx") as idx:
        consistent(idx)
        assert idx.chunk_settings == SMALL


def test_rebuild_refused_while_another_process_writes(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    idx.close()
    lock = WriteLock(tmp_path / "idx").acquire()
    try:
        with pytest.raises(IndexLocked, match="being written by another process"):
            index_paths([str(folder)], index=tmp_path / "idx", rebuild=True)
    finally:
        lock.release()
    assert not (tmp_path / "idx.rebuild").exists()
    with Index.open(tmp_path / "idx") as idx:
        assert idx.store.count("documents") == 3


def test_interrupted_rebuild_leaves_the_old_index(tmp_path, folder, hashing, monkeypatch):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    idx.close()
    calls = []

    def boom(self, *a, **kw):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "add_paths", boom)
    with pytest.raises(KeyboardInterrupt):
        index_paths([str(folder)], index=tmp_path / "idx", rebuild=True)
    monkeypatch.undo()
    assert calls
    with Index.open(tmp_path / "idx") as idx:
        assert idx.manifest.encoder == "hashing-test" and idx.store.count("documents") == 3
        consistent(idx)
    index_paths([str(folder)], index=tmp_path / "idx", rebuild=True)  # starts over cleanly
    assert not (tmp_path / "idx.rebuild").exists()


def test_a_swap_broken_between_renames_is_finished_on_open(tmp_path, folder, hashing):
    """The fallback swap (no renameat2) parks the old index at idx.swap: a crash there
    leaves no idx; opening completes the move of the finished idx.rebuild."""
    make(tmp_path / "old").close()
    new = make(tmp_path / "new")
    new.add_paths([folder])
    new.close()
    (tmp_path / "old").rename(tmp_path / "idx.swap")
    (tmp_path / "new").rename(tmp_path / "idx.rebuild")
    with Index.open(tmp_path / "idx") as idx:
        assert idx.store.count("documents") == 3


def test_bad_paths_and_limits_are_refused(tmp_path, hashing):
    with pytest.raises(BadInput, match="path not found"):
        index_paths([str(tmp_path / "nope")], index=tmp_path / "idx", encoder="hashing-test")
    with pytest.raises(BadInput, match="positive"):
        index_paths([str(tmp_path)], index=tmp_path / "idx", encoder="hashing-test",
                    max_file_mb=0)


def test_dry_run_of_a_rebuild_plans_a_new_index_reusing_vectors(tmp_path, folder, hashing):
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    n = idx.store.count("chunks")
    gen = idx.store.generation()
    idx.close()
    (folder / "d.txt").write_text("Gliders and kites ride the wind.")
    hashing.calls.clear()
    plan = index_paths([str(folder)], index=tmp_path / "idx", rebuild=True, dry_run=True)
    assert len(plan.new) == 4 and plan.chunks_added == n + 1 and plan.chunks_embedded == 1
    assert hashing.calls == []
    with Index.open(tmp_path / "idx") as idx:
        assert idx.store.generation() == gen and idx.store.count("documents") == 3


def test_a_new_encoder_revision_asks_for_a_rebuild_and_never_mixes_vectors(
        tmp_path, folder, hashing, monkeypatch, caplog):
    """A release that changes how an encoder's vectors are made (the int8 export recipe)
    keeps its name: writes to an index of the old revision are refused, reads warn, and a
    rebuild re-embeds everything instead of reusing the old revision's cached vectors."""
    from searchkit.errors import EncoderMismatch

    path = tmp_path / "idx"
    index_paths([str(folder)], index=path, encoder="hashing-test")
    with Index.open(path) as idx:
        assert idx.manifest.encoder_revision == "" and idx.vector_key == "hashing-test"
        n = idx.store.count("chunks")
    monkeypatch.setattr(type(hashing), "revision", "r2")
    (folder / "a.txt").unlink()  # a sync would remove it: refused before anything is written
    with pytest.raises(EncoderMismatch, match=r"another revision .*'hashing-test'.*--rebuild"):
        index_paths([str(folder)], index=path)
    with Index.open(path) as idx:
        assert idx.store.count("chunks") == n
    (folder / "a.txt").write_text("\n\n".join(PARAS))
    with Index.open(path) as idx:  # reading works, with a notice
        assert idx.search("topic1", k=3, method="dense")
        assert "another revision" in caplog.text
    hashing.calls.clear()
    report = index_paths([str(folder)], index=path, rebuild=True)
    assert report.chunks_embedded == n and len(hashing.calls) == n  # nothing reused
    with Index.open(path) as idx:
        assert idx.manifest.encoder_revision == "r2" and idx.vector_key == "hashing-test#r2"
        consistent(idx)
    hashing.calls.clear()
    index_paths([str(folder)], index=path)  # a sync at the new revision: nothing to embed
    assert hashing.calls == []


def test_index_rebuild_and_plan_are_the_python_api(tmp_path, folder, hashing):
    """What `search index --rebuild` and `--dry-run` do, as Index.rebuild and Index.plan."""
    idx = make(tmp_path / "idx")
    idx.add_paths([folder])
    n = idx.store.count("chunks")
    idx.close()
    (folder / "d.txt").write_text("Gliders and kites ride the wind.")
    hashing.calls.clear()
    plan = Index.plan([folder], encoder="hashing-test", chunking=SMALL, reuse=tmp_path / "idx")
    assert len(plan.new) == 4 and plan.chunks_added == n + 1 and plan.chunks_embedded == 1
    fresh = Index.plan([folder], encoder="hashing-test", chunking=SMALL)
    assert fresh.chunks_added == n + 1 and fresh.chunks_embedded == n + 1
    assert hashing.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["idx", "notes"]
    r = Index.rebuild(tmp_path / "idx", [folder])
    assert r.chunks_added == n + 1 and r.chunks_embedded == 1
    assert hashing.calls == ["Gliders and kites ride the wind."]
    with Index.open(tmp_path / "idx") as idx:
        consistent(idx)
        assert idx.chunk_settings == SMALL and idx.store.count("documents") == 4
        hits = idx.hits([(2, 0.5), (1, 0.25), (10**6, 0.1)], "dense")  # the last: no chunk
        assert [(h.chunk_id, h.rank, h.method) for h in hits] == [(2, 1, "dense"), (1, 2, "dense")]
