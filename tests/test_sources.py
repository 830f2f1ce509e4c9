"""Folders as users keep them (issue #20, point 4): indexed roots listed and removed,
.gitignore/.searchignore honoured, the index's own folder never indexed, files reached
through a symlinked folder found by their real folder's name, the default index in the
per-user data folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchkit import Index
from searchkit.cli import cli


def write(path: Path, text: str = "some words about rivers") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path):
    """A project folder with ignore files at two levels."""
    root = tmp_path / "proj"
    write(root / ".gitignore", "*.log\n!keep.log\nbuild/\n/secret.txt\n")
    write(root / "a.txt")
    write(root / "run.log")
    write(root / "keep.log")
    write(root / "secret.txt")
    write(root / "sub" / "secret.txt")  # /secret.txt is anchored to the root
    write(root / "build" / "out.txt")
    write(root / "sub" / "build" / "deep.txt")  # build/ matches at any depth
    write(root / "sub" / "b.txt")
    write(root / "sub" / ".searchignore", "b.txt\n")
    write(root / "sub" / "inner" / ".gitignore", "!*.log\n")
    write(root / "sub" / "inner" / "again.log")  # re-included by the deeper file
    return root


def indexed(tmp_path, root, **kw) -> set[str]:
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        idx.add_paths([root], **kw)
        return {os.path.relpath(d["path"], root) for d in idx.documents()}


def test_gitignore_and_searchignore_are_honoured(tmp_path, tree, hashing):
    assert indexed(tmp_path, tree) == {"a.txt", "keep.log", "sub/secret.txt",
                                       "sub/inner/again.log"}


def test_no_ignore_indexes_everything(tmp_path, tree, hashing):
    res = CliRunner().invoke(cli, ["index", str(tree), "--index", str(tmp_path / "idx"),
                                   "--encoder", "hashing-test", "--no-ignore", "--json"])
    assert res.exit_code == 0, res.output
    got = {os.path.relpath(p, tree) for p in json.loads(res.output)["new"]}
    assert got == {"a.txt", "run.log", "keep.log", "secret.txt", "sub/secret.txt",
                   "build/out.txt", "sub/build/deep.txt", "sub/b.txt", "sub/inner/again.log"}


def test_index_folder_inside_the_indexed_folder_is_never_indexed(tmp_path, docs, hashing):
    inside = docs / "indexes" / "mine"
    other = docs / "older-index"
    with Index.create(other, encoder="hashing-test") as idx:  # any searchkit index
        idx.add_texts(["an unrelated text"])
    with Index.create(inside, encoder="hashing-test") as idx:
        rep = idx.add_paths([docs])
        rep = idx.add_paths([docs])  # its own manifest.json exists by now
        paths = [d["path"] for d in idx.documents()]
    assert paths and not any("/indexes/" in p or "older-index" in p for p in paths)
    assert not any("manifest" in s.path for s in rep.skipped)


def test_symlinked_folder_files_keep_their_real_folder_name(tmp_path, hashing, monkeypatch):
    root = tmp_path / "work"
    write(root / "notes" / "plan.txt", "the harbour plan for spring")
    (root / "aaa-alias").symlink_to(root / "notes")  # sorts before the real folder
    monkeypatch.chdir(root)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths(["."])
        assert [os.path.relpath(p, root) for p in rep.new] == ["notes/plan.txt"]
        hits = idx.search("harbour plan", method="bm25", path="notes/*")
        assert [h.path for h in hits] == ["notes/plan.txt"]


def test_sources_lists_roots_with_counts_and_remove_takes_one_out(tmp_path, docs, hashing):
    other = tmp_path / "other"
    write(other / "x.txt", "an orchard note")
    write(other / "y.txt", "a lantern note")
    idx_dir = str(tmp_path / "idx")
    r = CliRunner()
    assert r.invoke(cli, ["index", str(docs), "--index", idx_dir, "--encoder",
                          "hashing-test", "-q"]).exit_code in (0, 3)
    assert r.invoke(cli, ["index", str(other), "--index", idx_dir, "-q"]).exit_code == 0
    with Index.open(idx_dir, readonly=False) as idx:
        idx.add_texts(["a text added through the API"])
        n_docs = len([d for d in idx.documents() if d["path"].startswith(str(docs))])
    res = r.invoke(cli, ["sources", "--index", idx_dir, "--json"])
    assert res.exit_code == 0, res.output
    got = {s["path"]: s["documents"] for s in json.loads(res.output)}
    assert got == {str(docs): n_docs, str(other): 2, None: 1}
    res = r.invoke(cli, ["sources", "--index", idx_dir])
    assert str(other) in res.output and "(texts and documents under no source)" in res.output
    res = r.invoke(cli, ["remove", str(other), "--index", idx_dir])
    assert res.exit_code == 0 and res.output == "Removed 2 documents.\n"
    with Index.open(idx_dir) as idx:
        assert {s.path for s in idx.sources()} == {str(docs), None}
        assert not any(d["path"].startswith(str(other)) for d in idx.documents())
        assert idx.check().ok
        assert not idx.search("orchard note", method="bm25", path=str(other) + "/*")


def test_remove_relative_folder_and_by_key(tmp_path, docs, hashing, monkeypatch):
    monkeypatch.chdir(docs.parent)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        idx.add_paths(["docs"])
        idx.add_texts(["x"], metadata=[{"id": "note-1"}])
        before = len(idx.documents())
        assert idx.remove("docs/notes") == 2  # meeting.rst and tool.py
        assert idx.remove(["note-1"]) == 1
        assert len(idx.documents()) == before - 3
        assert idx.remove("nowhere") == 0


def test_default_index_lives_in_the_user_data_folder(monkeypatch, tmp_path):
    import platformdirs

    from searchkit.config import default_index_path

    monkeypatch.delenv("SEARCHKIT_HOME", raising=False)
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    assert default_index_path() == platformdirs.user_data_path(
        "searchkit", appauthor=False) / "default"
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "h"))
    assert default_index_path() == tmp_path / "h" / "default"
    monkeypatch.setenv("SEARCHKIT_INDEX", str(tmp_path / "named"))
    assert default_index_path() == tmp_path / "named"


def test_sources_and_remove_have_help_with_examples():
    for cmd in ("sources", "remove"):
        res = CliRunner().invoke(cli, [cmd, "--help"])
        assert res.exit_code == 0 and "Examples:" in res.output


def test_files_through_a_symlinked_folder_match_both_names(tmp_path, hashing, monkeypatch):
    real = tmp_path / "elsewhere" / "journal"
    write(real / "day.txt", "a walk by the harbour")
    root = tmp_path / "work"
    root.mkdir()
    (root / "notes").symlink_to(real)
    monkeypatch.chdir(root)
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        rep = idx.add_paths(["."], follow_outside=True)
        assert [os.path.relpath(p, root) for p in rep.new] == ["notes/day.txt"]
        for glob in ("notes/*", "./notes/*", str(real) + "/*", "*/journal/*"):
            hits = idx.search("harbour", method="bm25", path=glob)
            assert [h.path for h in hits] == ["notes/day.txt"], glob
        assert not idx.search("harbour", method="bm25", path="other/*")
