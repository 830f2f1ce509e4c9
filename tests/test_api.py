"""The Python API, end to end (hashing-test encoder: plumbing, not quality)."""

import json

import pytest

import searchkit
from searchkit import BadInput, Index, IndexNotFound


def test_round_trip_create_add_close_reopen_search(tmp_path, docs, hashing):
    path = tmp_path / "idx"
    idx = Index.create(path, encoder="hashing-test")
    report = idx.add_paths([docs])
    assert len(report.new) == 6 and not report.skipped
    assert report.chunks_added == report.chunks_embedded > 0
    idx.close()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["encoder"] == "hashing-test" and manifest["dim"] == 384
    assert manifest["format_version"] == 1 and manifest["chunking"]["max_tokens"] == 256
    assert manifest["searchkit_version"] == searchkit.__version__
    with Index.open(path) as idx:
        hits = idx.search("fixed rate mortgage repayment lender", k=3)
    assert isinstance(hits[0], searchkit.Hit)
    assert hits[0].path.endswith("loans.txt")
    assert hits[0].text in (docs / "loans.txt").read_text()
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_reindexing_duplicates_nothing(tmp_path, docs, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    n_docs, n_chunks = idx.store.count("documents"), idx.store.count("chunks")
    hashing.calls.clear()
    r = idx.add_paths([docs])
    assert (len(r.new), len(r.changed), len(r.unchanged)) == (0, 0, 6)
    assert hashing.calls == []
    assert (idx.store.count("documents"), idx.store.count("chunks")) == (n_docs, n_chunks)
    assert len(idx.vectors) == n_chunks
    idx.close()


def test_add_texts_with_metadata_and_dedup(tmp_path, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    ids = idx.add_texts(["the cat sat on the mat", "quantum chromodynamics lecture"],
                        metadata=[{"id": "a", "lang": "en"}, {"title": "Physics"}])
    assert len(set(ids)) == 2
    assert idx.add_texts(["quantum chromodynamics lecture"]) == [ids[1]]
    assert idx.store.count("documents") == 2
    hit = idx.search("chromodynamics", k=1)[0]
    assert hit.title == "Physics" and hit.doc_id == ids[1]
    # same key, new text: replaced, not duplicated
    idx.add_texts(["a dog on a rug"], metadata=[{"id": "a"}])
    assert idx.store.count("documents") == 2
    assert idx.search("dog rug", k=1)[0].text == "a dog on a rug"
    idx.close()


def test_pdf_hits_cite_pages(tmp_path, docs, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test",
                       chunking=searchkit.ChunkSettings(max_tokens=16, overlap=0))
    idx.add_paths([docs / "orchard.pdf"])
    hits = idx.search("wrap young trunks against hares", k=1, group=False)
    assert hits[0].page == 2 and hits[0].location.endswith("orchard.pdf#page=2")
    idx.close()


def test_markdown_hits_carry_heading_paths(tmp_path, docs, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test",
                       chunking=searchkit.ChunkSettings(max_tokens=24, overlap=0))
    idx.add_paths([docs / "river.md"])
    hit = idx.search("anglers trout weir willows pool", k=1, group=False)[0]
    assert hit.heading == "River walks > Fishing"
    lines = (docs / "river.md").read_text().splitlines()
    assert "Anglers" in "\n".join(lines[hit.start_line - 1:hit.end_line])
    idx.close()


def test_html_hits_carry_heading_paths(tmp_path, hashing):
    page = tmp_path / "docs" / "guide.html"
    page.parent.mkdir()
    page.write_text("<html><head><title>Guide</title></head><body><h1>Guide</h1>"
                    "<p>Read this first.</p><h2>Backups</h2>"
                    "<p>Copy the file nightly to another disk.</p></body></html>")
    idx = Index.create(tmp_path / "idx", encoder="hashing-test",
                       chunking=searchkit.ChunkSettings(max_tokens=12, overlap=0))
    idx.add_paths([page])
    hit = idx.search("copy the file nightly to another disk", k=1, group=False)[0]
    assert hit.heading == "Guide > Backups"
    idx.close()


def test_errors(tmp_path, hashing):
    with pytest.raises(IndexNotFound):
        Index.open(tmp_path / "nothing")
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    with pytest.raises(BadInput, match="empty query"):
        idx.search("   ")
    with pytest.raises(BadInput, match="path not found"):
        idx.add_paths([tmp_path / "missing"])
    with pytest.raises(BadInput):
        idx.search("x", k=0)
    idx.close()


def test_search_on_an_empty_index_returns_nothing(tmp_path, hashing):
    with Index.create(tmp_path / "idx", encoder="hashing-test") as idx:
        assert idx.search("anything") == []


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, searchkit; "
            "print(any(m in sys.modules for m in ('torch', 'faiss', 'sentence_transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
