"""Unix manners of the ``search`` CLI: closed pipes, colour, JSON errors, exit status 2 for
usage errors, examples in every --help, terminal-safe names; relevance and citations."""

import json
import subprocess
import sys
import textwrap

import pytest

from searchkit import Hit, Index
from searchkit.cli import EXIT_BROKEN_PIPE, cli, format_hit
from searchkit.display import terminal_safe
from searchkit.query import Z_FULL, relevance


def test_every_command_has_examples_in_its_help(runner):
    commands = cli.list_commands(None)
    assert {"index", "query", "stats", "ask"} <= set(commands)
    for name in commands:
        r = runner.invoke(cli, [name, "--help"])
        assert r.exit_code == 0, name
        after = r.output.split("Examples:", 1)
        assert len(after) == 2, f"`search {name} --help` has no Examples section"
        assert f"search {name}" in after[1], name


def test_no_color_and_non_tty(built, runner, monkeypatch):
    args = ["query", "bread dough knead", "--index", str(built), "-k", "2"]
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in runner.invoke(cli, args, color=True).output  # a terminal: bold
    assert "\x1b[" not in runner.invoke(cli, args).output  # not a terminal: plain
    monkeypatch.setenv("NO_COLOR", "1")
    r = runner.invoke(cli, args, color=True)
    assert r.exit_code == 0 and "\x1b[" not in r.output and " 1. " in r.output
    monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
    assert "\x1b[" in runner.invoke(cli, args, color=True).output


@pytest.mark.parametrize("args,code,message", [
    (["query", ""], 2, "empty query"),
    (["query", "x", "--method", "nope"], 2, "unknown method 'nope'"),
    (["query", "x", "--weights", "1,2,3"], 2, "3 weights for 2 fused methods"),
    (["query", "x", "--ext", ""], 2, "empty extension"),
    (["query", "x", "-k", "0"], 2, "Invalid value for '-k'"),
    (["query", "x", "--index", "/no/such/index"], 1, "no index at /no/such/index"),
    (["ask", "   "], 2, "empty query"),
    (["stats", "--index", "/no/such/index"], 1, "no index at /no/such/index"),
])
def test_errors_text_and_json(args, code, message, built, runner):
    if "--index" not in args:
        args = args + ["--index", str(built)]
    r = runner.invoke(cli, args)
    assert r.exit_code == code, r.output
    last = r.output.splitlines()[-1]  # click's own usage errors show the usage line first
    assert last.startswith("Error: ") and message in last and "Traceback" not in r.output
    if "-k" not in args:
        assert r.output.count("\n") == 1
    if args[0] == "stats":
        args = args + ["--json"]
    elif args[0] in ("query", "ask"):
        args = args[:1] + ["--json"] + args[1:]
    r = runner.invoke(cli, args)
    assert r.exit_code == code, r.output
    err = json.loads(r.stdout)
    assert message in err["error"] and err["exit_status"] == code
    assert not err["error"].startswith("Error")


def test_json_in_the_query_text_is_not_a_flag(built, runner):
    r = runner.invoke(cli, ["query", "--index", str(built), "--", ""])
    assert r.exit_code == 2 and r.output == "Error: empty query\n"


def test_closed_pipe_exits_quietly(tmp_path):
    """The Group's boundary, in a real process whose reader closes the pipe early."""
    script = tmp_path / "talk.py"
    script.write_text(textwrap.dedent("""
        import click
        from searchkit.cli import Group

        @click.group(cls=Group)
        def g():
            pass

        @g.command()
        def talk():
            for i in range(200_000):
                click.echo(f"line {i} " + "x" * 60)

        g(prog_name="talk")
    """))
    p = subprocess.Popen([sys.executable, str(script), "talk"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"line 0")
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == EXIT_BROKEN_PIPE == 141
    assert err == ""


def test_terminal_safe():
    assert terminal_safe("plain.md") == "plain.md"
    assert terminal_safe("evil\x1b[31m.md") == "evil\\x1b[31m.md"
    assert terminal_safe("invoice\u202etxt.exe") == "invoice\\u202etxt.exe"
    assert terminal_safe("a\nb\tc\x7f\x9b") == "a\\x0ab\\x09c\\x7f\\x9b"
    assert terminal_safe("a\nb", keep="\n") == "a\nb"
    assert terminal_safe("café ü 東京") == "café ü 東京"


def _hit(**kw):
    base = dict(rank=1, score=0.5, chunk_id=1, doc_id=1, path="notes/a.md", title=None,
                text="First line.\nSecond line here.", start_char=0, end_char=29,
                start_line=3, end_line=4)
    return Hit(**{**base, **kw})


def test_format_hit_escapes_names_and_text():
    h = _hit(path="x\x1b]0;pwned\x07.md", title="T\u202eitle",
             text="Body \x1b[2J text.", relevance=0.75)
    out = format_hit(h)
    assert "\x1b]" not in out and "\x1b[2J" not in out and "\u202e" not in out
    assert "x\\x1b]0;pwned\\x07.md" in out and "T\\u202eitle" in out and "\\x1b[2J" in out
    assert "[0.75]" in out


def test_citation_is_the_sentences_line_and_page():
    h = _hit(highlights=[(12, 29)])
    assert h.citation == "notes/a.md:4" and h.location == "notes/a.md:3-4"
    assert _hit().citation == "notes/a.md:3-4"  # nothing highlighted: the whole hit
    # a PDF chunk that starts on page 1: pages are joined by a blank line
    text = "end of page one.\n\nPage two starts. The light was automated in 1980."
    pdf = _hit(path="k.pdf", text=text, page=1, highlights=[(text.index("The light"), len(text))])
    assert pdf.citation == "k.pdf#page=2" and pdf.location == "k.pdf#page=1"
    assert pdf.line_and_page(text.index("The light")) == (5, 2)
    d = pdf.to_dict()
    assert d["citation"] == "k.pdf#page=2" and d["relevance"] is None


def test_relevance_scales():
    from searchkit.retrieval.hybrid import Fusion

    assert relevance(0.62, "dense") == 0.62 and relevance(-0.1, "dense") == 0.0
    rrf = Fusion(combine="rrf")
    assert relevance(2 / 61, "hybrid", rrf) == 1.0  # first in both rankings, k=60
    assert relevance(1 / 61, "hybrid", rrf) == 0.5
    assert relevance(1 / 11, "hybrid", Fusion(k=10, combine="rrf")) == 0.5
    assert relevance(1.5 / 61, "hybrid", Fusion(weights=(1, 0.5), combine="rrf")) == 1.0
    # z-score fusion (the default): standard deviations above the candidates' mean / 5
    assert relevance(2.5, "hybrid") == 0.5 and relevance(7.0, "hybrid") == 1.0
    assert relevance(-0.4, "hybrid") == 0.0
    assert relevance(12.3, "bm25") is None


def test_query_shows_relevance_and_keeps_the_raw_score(built, runner):
    r = runner.invoke(cli, ["query", "bread dough knead", "--index", str(built), "--json"])
    hits = json.loads(r.output)["hits"]
    for h in hits:
        assert 0 <= h["relevance"] <= 1
        assert h["relevance"] == pytest.approx(min(1.0, max(0.0, h["score"] / Z_FULL)),
                                               abs=1e-3)
    r = runner.invoke(cli, ["query", "bread dough knead", "--index", str(built), "-k", "1"])
    assert f"[{hits[0]['relevance']:.2f}]" in r.output.splitlines()[0]
    r = runner.invoke(cli, ["query", "bread dough knead", "--index", str(built), "-k", "1",
                            "-m", "bm25"])
    assert "[score " in r.output.splitlines()[0]


def test_highlight_is_never_a_bare_title(tmp_path, hashing):
    idx = Index.create(tmp_path / "i", encoder="hashing-test")
    text = ("# Deposit protection\n\nWhen a bank fails, deposits are protected up to a limit "
            "by the compensation scheme.\n")
    idx.add_texts([text], metadata=[{"path": "savings.md"}])
    (hit,) = idx.search("deposit protection", k=1, highlight=True)
    idx.close()
    (a, b), = hit.highlights
    assert hit.text[a:b].startswith("When a bank fails")


def test_ask_spinner_only_on_a_terminal():
    import io
    import time

    from searchkit.cli.ask import Spinner

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    with Spinner("Reading", stream=tty, interval=0.01):
        time.sleep(0.05)
    with Spinner("Reading", stream=pipe, interval=0.01):
        time.sleep(0.05)
    assert "Reading (0 s)" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    assert pipe.getvalue() == ""


def test_query_combine_chooses_the_fusion(built, runner):
    args = ["query", "bread dough knead", "--index", str(built), "--json"]
    z = json.loads(runner.invoke(cli, args).output)["hits"]
    r = runner.invoke(cli, [*args, "--combine", "rrf"])
    assert r.exit_code == 0, r.output
    ranked = json.loads(r.output)["hits"]
    for h in ranked:  # RRF scores and their 0-1 scale
        assert 0 < h["score"] <= 2 / 61 + 1e-6  # scores are rounded to 6 places
        assert h["relevance"] == pytest.approx(min(1.0, h["score"] / (2 / 61)), abs=1e-3)
    assert [h["score"] for h in z] != [h["score"] for h in ranked]
    bad = runner.invoke(cli, [*args, "--combine", "max"])
    assert bad.exit_code == 2 and "max" in bad.output
