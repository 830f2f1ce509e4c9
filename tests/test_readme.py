"""The README's examples run, as written, on (part of) sample_corpus and print what it shows.

The Python block and the ``search ...`` lines are read from README.md at test time, so an
edited README is tested as edited. They run in a temporary folder holding a copy of the
sample_corpus folders they draw on (:data:`FOLDERS`, a small index, with the default
encoder), under the name ``sample_corpus``. Both take ~40 s: ``pytest -m slow
tests/test_readme.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from searchkit.cli import cli

from conftest import ROOT, SAMPLE

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Lines that need what a test cannot have: a dataset, a model directory.
PLACEHOLDERS = ("DATASET", "MODEL_DIR", "mymodel")
#: Placeholders a test can fill: your folder is sample_corpus, "..." a question it answers.
STAND_INS = {"~/notes": "sample_corpus",
             '"..."': '"how much interest can I earn before paying tax"'}
#: Commands that train or evaluate for minutes on a dataset, and servers.
LONG = ("tune", "eval", "serve", "mcp")  # servers run until stopped


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def cli_lines() -> list[list[str]]:
    """Every ``search ...`` command of the README's bash blocks (split at ``&&``, comments
    dropped, :data:`STAND_INS` filled in), except those with other placeholders or
    long-running ones."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split(" #")[0].strip()
                if not part.startswith("search "):
                    continue
                for placeholder, stand_in in STAND_INS.items():
                    part = part.replace(placeholder, stand_in)
                args = shlex.split(part)[1:]
                if args[0] in LONG or any(p in part for p in PLACEHOLDERS):
                    continue
                out.append(args)
    return out


#: The sample_corpus folders the README's examples draw on.
FOLDERS = ("finance", "history", "cooking", "nature")


@pytest.fixture(scope="module")
def corpus_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    for sub in FOLDERS:
        shutil.copytree(SAMPLE / sub, root / "sample_corpus" / sub)
    # after the README's --modified-after 2026-01-01, whenever the checkout was made
    stamp = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
    for f in (root / "sample_corpus").rglob("*"):
        os.utime(f, (stamp, stamp))
    return root


@pytest.fixture
def small_corpus(corpus_copy, monkeypatch):
    monkeypatch.chdir(corpus_copy)
    return corpus_copy


def test_readme_has_examples():
    assert len(python_blocks()) >= 2
    commands = {args[0] for args in cli_lines()}
    assert {"index", "query", "ask", "compare", "senses", "embed", "stats"} <= commands, commands
    assert ["index", "sample_corpus", "--exclude", "drafts/*", "--include", "*.md",
            "--dry-run"] in cli_lines()


def code_spans() -> list[str]:
    """The README's inline code (`...`), fenced blocks left out."""
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    return re.findall(r"`([^`]+)`", prose)  # a span may wrap onto the next line


def dotted_names() -> set[str]:
    """``searchkit.x.y`` names the README's inline code and Python blocks show."""
    return {m for text in code_spans() + python_blocks()
            for m in re.findall(r"\bsearchkit(?:\.\w+)+", text)}


def index_members() -> set[str]:
    """``Index.x`` / ``idx.x`` members the README's inline code and Python block show."""
    text = " ".join(code_spans() + python_blocks())
    return set(re.findall(r"\b(?:Index|idx)\.(\w+)", text))


def test_every_searchkit_name_the_readme_shows_imports():
    import importlib

    names = dotted_names()
    assert {"searchkit.Index.create", "searchkit.errors.ReadError",
            "searchkit.retrieval.METHODS", "searchkit.senses.eigengaps"} <= names, names
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        # the longest importable module, then attributes
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        if obj is None:
            missing.append(name)
    assert missing == []


def test_every_index_member_the_readme_shows_exists(hashing_index):
    import searchkit

    members = index_members()
    assert {"open", "add_paths", "writing", "sources", "remove", "plan", "rebuild",
            "backfill_sentence_vectors", "hits", "store", "vectors", "cache"} <= members
    with searchkit.Index.open(hashing_index) as idx:
        assert [m for m in sorted(members) if not hasattr(idx, m)] == []


def test_readme_api_names_run(tmp_path, hashing):
    """The names the README's prose shows (not its Python block), called as it shows them,
    on sample_corpus/cooking with the hashing encoder (plumbing, not quality)."""
    import numpy as np

    import searchkit
    from searchkit.query import search
    from searchkit.retrieval import METHODS
    from searchkit.retrieval.fusion import rrf
    from searchkit.retrieval.hybrid import Fusion
    from searchkit.senses import eigengaps

    folder = tmp_path / "cooking"
    shutil.copytree(SAMPLE / "cooking", folder)
    plan = searchkit.Index.plan([folder], encoder="hashing-test")
    path = tmp_path / "idx"
    with searchkit.Index.create(path, encoder="hashing-test") as idx:
        report = idx.add_paths([folder])
        assert report.new and len(report.new) == len(plan.new)
    with searchkit.Index.open(path, readonly=False) as idx:
        with idx.writing():
            pass
        sources = idx.sources()
        assert sources
        assert idx.backfill_sentence_vectors() >= 0
        hits = search(idx, "how long should sourdough starter be fed", k=3,
                      fusion=Fusion(sentence_weight=0.5))
        assert 0 < len(hits) <= 3
        assert [h.chunk_id for h in idx.hits([(hits[0].chunk_id, 1.0)], "dense")] == \
            [hits[0].chunk_id]
        assert idx.remove(hits[0].path) == 1
    searchkit.Index.rebuild(path, [folder])
    with searchkit.Index.open(path) as idx:
        assert len(idx.sources()) == len(sources)
    assert "hybrid" in METHODS
    assert [h.id for h in rrf([[(1, 0.9), (2, 0.5)], [(2, 3.0)]])] == [2, 1]
    Z = np.eye(6)[[0, 0, 0, 3, 3, 3]] + 0.01 * np.arange(36).reshape(6, 6) / 36
    assert set(eigengaps(Z, 3)) == {1, 2, 3}


def test_reader_example_reads_records():
    """The README's reader plugin module, as written, reads records and registers."""
    import types

    from searchkit.readers import ENTRY_POINT_GROUP, Reader

    module = types.ModuleType("acme_reader")
    exec(compile(python_blocks()[1], "README.md", "exec"), module.__dict__)
    doc = module.read(b"kettle boiled over\n%%\nthe cat chased a moth")
    assert doc.text == "kettle boiled over\n\nthe cat chased a moth"
    assert doc.pages == doc.breaks == [0, 20]
    reader = Reader.from_module(module, name="acme", source="acme-reader")
    assert reader.extensions == (".acme",) and reader.unit == "record"
    assert reader.requires == {"acme-parser": "acme"}
    toml = re.search(r"```toml\n(.*?)```", README, re.S).group(1)
    assert f'[project.entry-points."{ENTRY_POINT_GROUP}"]' in toml


@pytest.mark.slow  # indexes four folders of sample_corpus with the real model (~40 s)
def test_python_example_prints_hits(small_corpus):
    code = python_blocks()[0]  # "### Python"; later blocks are a reader plugin's module
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    # the note added with add_texts, found through its metadata
    assert lines[0].startswith("note-1:1 ") and "30 days' written notice" in lines[0], lines
    # the sentence that answers, highlighted and cited by its own line
    assert lines[1].startswith("sample_corpus/finance/savings_accounts_compared.md:27 ")
    assert lines[1].endswith(" The personal savings allowance means basic-rate taxpayers can "
                             "earn 1,000 of interest a year tax-free."), lines
    # each printed line is one the README shows (relevance aside)
    shown = re.search(r"It prints.*?```\n(.*?)```", README, re.S).group(1).splitlines()
    strip = lambda line: re.sub(r" \d\.\d+ ", " ", line)  # noqa: E731
    assert [strip(x) for x in lines] == [strip(x) for x in shown]
    # the answer, cited by the page its sentence stands on
    assert lines[-1] == ("sample_corpus/history/lighthouse_keepers.pdf#page=2 "
                         "The light was automated in 1980."), lines


@pytest.mark.slow  # the same, through the CLI (~40 s)
def test_cli_examples_run(small_corpus, monkeypatch):
    # the quickstart indexes into indexes/sample; the lines without --index stand for the
    # user's own default index, which here is that one
    monkeypatch.setenv("SEARCHKIT_INDEX", str(small_corpus / "indexes" / "sample"))
    runner = CliRunner()
    ran = []
    for args in sorted(cli_lines(), key=lambda a: a[0] != "index"):  # index first
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, (args, r.output)  # for ask: it answers (4 would be none)
        assert r.output.strip(), args
        ran.append(args[0])
    assert ran.count("index") >= 1 and "query" in ran and "ask" in ran
