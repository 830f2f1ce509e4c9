"""The README's examples run, as written, on (part of) sample_corpus and print what it shows.

The Python block and the ``search ...`` lines are read from README.md at test time, so an
edited README is tested as edited. They run in a temporary folder holding a copy of
sample_corpus's finance/ and history/ folders (a small index, with the default encoder),
under the name ``sample_corpus``.
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
#: Commands that train or evaluate for minutes on a dataset.
LONG = ("tune", "eval")


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


@pytest.fixture
def small_corpus(tmp_path, monkeypatch):
    for sub in ("finance", "history"):
        shutil.copytree(SAMPLE / sub, tmp_path / "sample_corpus" / sub)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_examples():
    assert len(python_blocks()) >= 1
    commands = {args[0] for args in cli_lines()}
    assert {"index", "query", "ask"} <= commands, commands


def test_python_example_prints_hits(small_corpus):
    (code,) = python_blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    # the note added with add_texts, found through its metadata
    assert lines[0].startswith("note-1:1 ") and "30 days' written notice" in lines[0], lines
    # the deposit-protection sentence, highlighted and cited by its own line
    assert any(line.startswith("sample_corpus/finance/") and "protect" in line
               for line in lines[1:3]), lines
    # the answer, cited by the page its sentence stands on
    assert lines[-1] == ("sample_corpus/history/lighthouse_keepers.pdf#page=2 "
                         "The light was automated in 1980."), lines


def test_cli_examples_run(small_corpus):
    runner = CliRunner()
    ran = []
    for args in sorted(cli_lines(), key=lambda a: a[0] != "index"):  # index first
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, (args, r.output)
        assert r.output.strip(), args
        ran.append(args[0])
    assert ran.count("index") >= 1 and "query" in ran and "ask" in ran
