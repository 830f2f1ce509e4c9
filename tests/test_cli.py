"""The CLI through click's CliRunner: output, JSON schema, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from searchkit.cli import cli

TINY = Path(__file__).parent / "data" / "tiny_beir"
HIT_KEYS = {"rank", "score", "path", "title", "chunk_id", "start_char", "end_char",
            "start_line", "end_line", "text"}


def test_index_prints_a_summary(tmp_path, docs, runner, hashing):
    r = runner.invoke(cli, ["index", str(docs), "--index", str(tmp_path / "i"),
                            "--encoder", "hashing-test"])
    assert r.exit_code == 0
    assert "6 files indexed (6 new, 0 changed, 0 moved), 0 unchanged, 0 removed, 0 skipped." in r.output
    assert "chunks/s" in r.output


def test_index_json_report(tmp_path, docs, runner, hashing):
    r = runner.invoke(cli, ["index", str(docs), "--index", str(tmp_path / "i"),
                            "--encoder", "hashing-test", "--json"])
    data = json.loads(r.output)
    assert data["files_indexed"] == 6 and data["chunks_added"] > 0 and data["skipped"] == []


def test_query_json_schema(built, runner):
    r = runner.invoke(cli, ["query", "bread dough knead", "--index", str(built), "-k", "3",
                            "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["query"] == "bread dough knead"
    assert 1 <= len(data["hits"]) <= 3
    for h in data["hits"]:
        assert HIT_KEYS <= set(h)
    top = data["hits"][0]
    assert top["path"].endswith("page.html") and top["title"] == "Kitchen basics"
    assert isinstance(top["score"], float) and top["rank"] == 1


def test_query_text_output(built, runner):
    r = runner.invoke(cli, ["query", "bread dough knead", "--index", str(built), "-k", "1"])
    assert r.exit_code == 0
    first = r.output.splitlines()[0]
    assert " 1. " in first and "page.html:" in first and "Kitchen basics" in first


def test_index_via_env_var(tmp_path, docs, runner, hashing, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_INDEX", str(tmp_path / "env_idx"))
    r = runner.invoke(cli, ["index", str(docs), "--encoder", "hashing-test", "-q"])
    assert r.exit_code == 0 and r.output == ""
    assert (tmp_path / "env_idx" / "index.db").exists()


@pytest.mark.parametrize("args,code,message", [
    (["index", "/definitely/not/here"], 2, "Error: path not found: /definitely/not/here"),
    (["query", "hello", "--index", "/no/such/index"], 1, "Error: no index at /no/such/index"),
    (["query", ""], 2, "Error: empty query"),
    (["query", "x", "-k", "0"], 2, "Error: Invalid value for '-k'"),
    (["index"], 2, "Error: Missing argument 'PATHS...'"),
])
def test_errors_are_one_line(args, code, message, runner, built):
    if args[0] == "query" and "--index" not in args:
        args = args + ["--index", str(built)]
    r = runner.invoke(cli, args)
    assert r.exit_code == code, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    if code == 1:
        assert r.output.strip().count("\n") == 0


@pytest.mark.parametrize("args,message", [
    (["index", "/definitely/not/here"], "Error: path not found: /definitely/not/here"),
    (["index", "{docs}", "--encoder", "no-such-encoder"],
     "Error: unknown encoder 'no-such-encoder': not one of "),
    (["query", "bread", "--path", "[z-a]*"], "Error: --path '[z-a]*': the range z-a is reversed"),
    (["query", "bread", "--path", "*.md", "--path", "notes/[!9-0]*"],
     "Error: --path 'notes/[!9-0]*': the range 9-0 is reversed"),
    (["senses", ""], "Error: empty word"),
    (["senses", "  ", "--index", "/no/such/index"], "Error: empty word"),
    (["eval", "{dataset}", "--split", "dev"],
     "Error: BEIR dataset: qrels file for split 'dev' not found: {dataset}/qrels/dev.tsv "
     "(available splits: test, train)"),
])
def test_usage_errors_exit_2_with_one_line(args, message, runner, built, docs):
    """Bad arguments are usage errors (exit 2), told in one line, before any work is done."""
    args = [a.format(docs=docs, dataset=TINY) for a in args]
    if args[0] in ("query", "senses") and "--index" not in args:
        args += ["--index", str(built)]
    r = runner.invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert r.output.startswith(message.format(dataset=TINY)), r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("command", ["index", "query", "stats", "eval", "compare", "ask",
                                     "senses", "embed", "tune"])
def test_every_command_has_help(command, runner):
    if command not in cli.list_commands(None):
        pytest.skip(f"{command} not present")
    r = runner.invoke(cli, [command, "--help"])
    assert r.exit_code == 0
    assert "Usage: " in r.output and len(r.output.splitlines()) > 4


def test_help_is_instant_no_torch():
    code = ("import sys; from click.testing import CliRunner; from searchkit.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); r2 = CliRunner().invoke(cli, ['index', '--help']); "
            "assert r.exit_code == 0 and r2.exit_code == 0; "
            "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_logging_setup_lasts_one_test_a(tmp_path, docs, runner, hashing):
    """With the next test: the CLI's logging setup (a handler on the runner's stderr,
    propagate off) is undone after the test that ran the CLI (conftest restores it)."""
    import logging

    r = runner.invoke(cli, ["index", str(docs), "--index", str(tmp_path / "i"),
                            "--encoder", "hashing-test"])
    assert r.exit_code == 0, r.output
    log = logging.getLogger("searchkit")
    assert log.propagate is False and log.level == logging.INFO


def test_cli_logging_setup_lasts_one_test_b(caplog):
    import logging

    log = logging.getLogger("searchkit")
    assert log.propagate is True and log.level == logging.NOTSET
    assert not [h for h in log.handlers if isinstance(h, logging.StreamHandler)
                and not type(h).__module__.startswith("_pytest")]
    with caplog.at_level(logging.INFO, logger="searchkit"):
        log.info("a notice")
    assert caplog.messages == ["a notice"]
