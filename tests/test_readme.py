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
import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from searchkit.cli import cli

from conftest import ROOT, SAMPLE

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Lines that need what a test cannot have: your own folders, a dataset, a model directory.
PLACEHOLDERS = ("~", "DATASET", "MODEL_DIR", '"..."', "mymodel")
#: Commands that train or evaluate for minutes on a dataset, and servers.
LONG = ("tune", "eval", "serve", "mcp")  # servers run until stopped


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def cli_lines() -> list[list[str]]:
    """Every ``search ...`` command of the README's bash blocks (split at ``&&``, comments
    dropped), except those with placeholders or long-running ones."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split(" #")[0].strip()
                if not part.startswith("search "):
                    continue
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
    return root


@pytest.fixture
def small_corpus(corpus_copy, monkeypatch):
    monkeypatch.chdir(corpus_copy)
    return corpus_copy


def test_readme_has_examples():
    assert len(python_blocks()) >= 1
    commands = {args[0] for args in cli_lines()}
    assert {"index", "query", "ask"} <= commands, commands


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
