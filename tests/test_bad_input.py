"""Bad input never aborts a run and never loses indexed data; refused input gets a clear
error: bad files, encoder/dimension mismatches, and arbitrary query strings."""

from __future__ import annotations

import io
import json
import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchkit.api import index_paths
from searchkit.cli import cli
from searchkit.errors import BadInput, EncoderMismatch
from searchkit.index import Index


def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.fixture
def bad(tmp_path, docs):
    """docs/ plus one file (or folder) for every kind of bad input."""
    d = docs
    (d / "binary.txt").write_bytes(b"\x00\x01\x02ELF\x00" * 50)
    (d / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve.".encode("latin-1"))
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.md").write_text("  \n\n\t\n")
    (d / "big.txt").write_text("large " * 400)  # 2400 bytes, over a 1 KB limit
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    (d / "truncated.pdf").write_bytes((d / "orchard.pdf").read_bytes()[:600])
    (d / "encrypted.pdf").write_bytes(encrypted_pdf())
    (d / "locked.txt").write_text("Nobody may read this file.")
    (d / "vanishing.txt").write_text("Here now, gone when read.")
    (d / "crashy.html").write_text("<p>Makes the reader fall over.</p>")
    (d / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # unsupported: not a problem
    (d / "loops").mkdir()
    (d / "loops" / "up").symlink_to("..")  # a folder loop
    (d / "loops" / "self.txt").symlink_to("self.txt")  # a link to itself
    os.symlink("dangling-target.txt", d / "loops" / "dangling.txt")
    bad_name = os.path.join(os.fsencode(d), b"name-\xff.txt")
    with open(bad_name, "wb") as f:
        f.write(b"a file whose name is not UTF-8")
    return d


EXPECTED = {
    "binary.txt": "binary file",
    "empty.txt": "empty file",
    "blank.md": "empty file",
    "big.txt": "over the size limit",
    "broken.pdf": "broken PDF",
    "truncated.pdf": "broken PDF",
    "encrypted.pdf": "encrypted PDF",
    "locked.txt": "unreadable (Permission denied)",
    "vanishing.txt": "file vanished",
    "crashy.html": "could not read (ValueError: ",
    "page.html": "could not read (ValueError: ",
    "up": "symlink loop",
    "self.txt": "broken symlink or symlink loop",
    "dangling.txt": "broken symlink or symlink loop",
    "name-\ufffd.txt": "file name is not valid UTF-8",
    "picture.png": "unsupported file type .png",
}


@pytest.fixture
def hostile(monkeypatch):
    """Simulate what root cannot test for real: a permission error (chmod 000) and a file
    that vanishes between the walk and the read; and a reader that crashes."""
    real = os.open

    def fake_open(path, flags, *args, **kwargs):  # files are read through os.open
        name = os.path.basename(os.fsdecode(path))
        if name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        if name == "vanishing.txt":
            raise FileNotFoundError(2, "No such file or directory")
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    import searchkit.readers as readers

    def crash(data):
        raise ValueError("reader bug")

    monkeypatch.setitem(readers.READERS, ".html", crash)


def test_every_kind_of_bad_file_is_skipped_with_its_reason(tmp_path, bad, hashing, hostile):
    runner = CliRunner()
    res = runner.invoke(cli, ["index", str(bad), "--index", str(tmp_path / "idx"),
                              "--encoder", "hashing-test", "--max-file-mb", "0.002", "--json"])
    assert res.exit_code == 3, res.output
    report = json.loads(res.output)
    got = {os.path.basename(s["path"]): s["reason"] for s in report["skipped"]}
    assert set(got) == set(EXPECTED)
    for name, reason in EXPECTED.items():
        assert got[name].startswith(reason), (name, got[name])
    indexed = {os.path.basename(p) for p in report["new"]}
    assert indexed == {"loans.txt", "orchard.pdf", "river.md", "meeting.rst", "tool.py",
                       "latin1.txt"}  # page.html went through the crashing reader
    with Index.open(tmp_path / "idx") as idx:
        latin = idx.store.document_by_path(str(bad / "latin1.txt"))
        text = idx.store.db.execute("SELECT text FROM chunks WHERE doc_id = ?",
                                    [latin["id"]]).fetchone()[0]
        assert text.startswith("Café crème")


def test_summary_lists_skipped_files_and_exit_status(tmp_path, bad, hashing, hostile):
    res = CliRunner().invoke(cli, ["index", str(bad), "--index", str(tmp_path / "idx"),
                                   "--encoder", "hashing-test"],
                             env={"SEARCHKIT_MAX_FILE_MB": "0.002"})
    assert res.exit_code == 3
    assert "Skipped 1 (binary file): " in res.output
    assert "big.txt" in res.output and "over the size limit" in res.output
    assert "Skipped 1 (unsupported file type .png)" in res.output
    assert "-v lists all" not in res.output or "more" in res.output


def test_only_unsupported_files_skipped_exits_0(tmp_path, docs, hashing):
    (docs / "picture.png").write_bytes(b"\x89PNG")
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(tmp_path / "idx"),
                                   "--encoder", "hashing-test", "-q"])
    assert res.exit_code == 0, res.output


def test_bad_files_never_cost_indexed_data(tmp_path, docs, hashing, monkeypatch):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    n_docs, n_chunks = idx.store.count("documents"), idx.store.count("chunks")
    # an indexed file grows over the limit, one turns binary, a folder becomes unlistable
    (docs / "loans.txt").write_text("large " * 400)  # 2400 bytes
    (docs / "river.md").write_bytes(b"\x00" * 10)
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path).endswith("notes"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os.path, "exists", lambda p: "notes" not in os.fspath(p)
                        and os.access(p, os.F_OK))  # as for a non-root user
    r = idx.add_paths([docs], max_bytes=1024)
    reasons = {os.path.basename(s.path): s.reason for s in r.skipped}
    assert reasons["notes"] == "unreadable folder (Permission denied)"
    assert reasons["loans.txt"].startswith("over the size limit")
    assert reasons["river.md"] == "binary file"
    assert r.deleted == [] and r.changed == []
    assert (idx.store.count("documents"), idx.store.count("chunks")) == (n_docs, n_chunks)
    assert len(idx.vectors) == n_chunks


# -- encoder and dimension checks ------------------------------------------------------

def test_model_mismatch_errors_name_both(tmp_path, docs, hashing, monkeypatch):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    idx.close()
    with pytest.raises(EncoderMismatch, match=r"'hashing-test'.*'minilm'"):
        Index.open(tmp_path / "idx", encoder="minilm")  # query with another encoder
    with pytest.raises(EncoderMismatch, match=r"'hashing-test'.*'minilm'"):
        index_paths([str(docs)], index=tmp_path / "idx", encoder="minilm")  # sync
    with pytest.raises(EncoderMismatch, match=r"'hashing-test'.*'minilm'"):
        Index.create(tmp_path / "idx", encoder="minilm")
    # the encoder now gives another dimension than the index holds
    from searchkit.encoders.hashing import HashingEncoder

    monkeypatch.setattr(HashingEncoder, "dim", 128)
    with Index.open(tmp_path / "idx") as idx:
        with pytest.raises(EncoderMismatch, match=r"384-d.*'hashing-test'.*128-d"):
            idx.search("river")
    with pytest.raises(EncoderMismatch, match=r"384-d.*128-d"):
        index_paths([str(docs)], index=tmp_path / "idx")
    res = CliRunner().invoke(cli, ["query", "river", "--index", str(tmp_path / "idx")])
    assert res.exit_code == 1 and "384-d" in res.output and "128-d" in res.output
    monkeypatch.undo()
    with Index.open(tmp_path / "idx") as idx:  # nothing was damaged
        assert idx.search("river", k=1)[0].path.endswith("river.md")


def test_rebuild_switches_encoder_and_dimension(tmp_path, docs, hashing, monkeypatch):
    """--rebuild to another encoder of another dimension (a second hashing encoder, so no
    model loads), then back: the first encoder's cached vectors are reused."""
    from searchkit.encoders import REGISTRY, _cache
    from searchkit.encoders.hashing import HashingEncoder

    class Small(HashingEncoder):
        id, dim = "hashing-small", 64

    monkeypatch.setitem(REGISTRY, "hashing-small", lambda model_dir=None, id=None: Small())
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    idx.close()
    res = CliRunner().invoke(cli, ["index", str(docs), "--index", str(tmp_path / "idx"),
                                   "--encoder", "hashing-small", "--rebuild", "-q"])
    assert res.exit_code == 0, res.output
    with Index.open(tmp_path / "idx") as idx:
        assert (idx.manifest.encoder, idx.manifest.dim) == ("hashing-small", 64)
        assert idx.store.count("documents") == 6
        cid, text = idx.store.db.execute("SELECT id, text FROM chunks LIMIT 1").fetchone()
        assert idx.vectors.reconstruct(cid) == pytest.approx(Small().embed_batch([text])[0])
        assert len(idx.search("trout in the weir", k=3)) == 3
    hashing.calls.clear()  # switching back reuses the hashing-test vectors kept in the cache
    index_paths([str(docs)], index=tmp_path / "idx", encoder="hashing-test", rebuild=True)
    assert hashing.calls == []
    with Index.open(tmp_path / "idx") as idx:
        assert (idx.manifest.encoder, idx.manifest.dim) == ("hashing-test", 384)
        assert len(idx.vectors) == idx.store.count("chunks")
    _cache.pop("hashing-small", None)


# -- query input ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from searchkit.encoders import get_encoder

    get_encoder("hashing-test")
    d = tmp_path_factory.mktemp("tiny")
    (d / "docs").mkdir()
    (d / "docs" / "a.txt").write_text("Rivers wear away their banks.\n\nBees make honey.")
    (d / "docs" / "b.md").write_text("# Kites\n\nKites fly in the wind.")
    idx = Index.create(d / "idx", encoder="hashing-test")
    idx.add_paths([d / "docs"])
    yield idx
    idx.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=st.one_of(st.text(), st.text(alphabet=st.characters(codec=None), max_size=50),
                   st.text(alphabet=st.sampled_from("\x00\x07\x1b\u200b\ufeff\n\t \r\x7f"
                                                    "\ud800\U0001f600ab"))))
def test_any_query_string_gives_hits_or_bad_input(tiny, q):
    try:
        hits = tiny.search(q, k=3)
    except BadInput as e:
        assert str(e) in ("empty query", "query has no printable characters")
        return
    assert len(hits) <= 3
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


@pytest.mark.parametrize("q,msg", [
    ("", "empty query"),
    ("   \n\t", "empty query"),
    ("\x00\x01\x1b", "query has no printable characters"),
    ("word " * 2001, "query too long (10005 characters; the limit is 10000)"),
    (None, "empty query"),
    (b"bytes", "empty query"),
])
def test_refused_queries(tiny, q, msg):
    with pytest.raises(BadInput) as e:
        tiny.search(q)
    assert str(e.value) == msg


def test_long_and_odd_queries_that_are_accepted(tiny):
    assert tiny.search("bees " * 1999, k=1)[0].path.endswith("a.txt")  # 9995 characters
    assert tiny.search("\x00kites\x1b\u200b", k=1)[0].path.endswith("b.md")
    assert tiny.search("蜜蜂 🐝 пчёлы", k=2) is not None
