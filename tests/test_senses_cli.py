"""``search senses`` and ``Index.senses`` on sample_corpus with the real model."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from searchkit.cli import cli
from searchkit.senses_report import document_text, sample_uses


@pytest.fixture(scope="module")
def bank(sample_index):
    from searchkit import Index

    with Index.open(sample_index) as idx:
        return idx.senses("bank")


def test_bank_has_river_and_money_senses(bank):
    """Each sense's uses come from one side (nature vs finance); both sides have a sense."""
    assert bank.k >= 2 and sum(s.size for s in bank.senses) == bank.sampled == bank.uses
    sides = []
    for s in bank.senses:
        kinds = {("river" if "/nature/" in e.path else "money" if "/finance/" in e.path
                  else "other") for e in s.examples}
        assert len(kinds) == 1, s.examples  # pure
        sides.append(kinds.pop())
    assert {"river", "money"} <= set(sides)
    for s in bank.senses:
        for e in s.examples:
            assert e.sentence[e.span[0]:e.span[1]].lower() == "bank" and e.line >= 1
    assert bank.static is not None and len(bank.static.neighbours) == 10
    assert len(bank.points) == len(bank.labels) == bank.sampled


def test_cli_text_json_plot(sample_index, tmp_path, bank):
    runner = CliRunner()
    png = tmp_path / "bank.png"
    r = runner.invoke(cli, ["senses", "bank", "--index", str(sample_index), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f'"bank": {bank.uses} uses in {bank.documents} documents, '
                               f"{bank.k} senses\n")
    assert "Sense 1:" in r.output and "GloVe (static" in r.output
    assert f"Plot written to {png}" in r.output and png.stat().st_size > 1000
    r = runner.invoke(cli, ["senses", "bank", "--index", str(sample_index), "--json",
                            "--senses", "2", "--max", "10"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["k"] == 2 and d["sampled"] == 10 and d["uses"] == bank.uses
    assert d["scores"] == {} and len(d["static"]["neighbours"]) == 10


def test_cli_absent_word_and_bad_options(sample_index):
    runner = CliRunner()
    r = runner.invoke(cli, ["senses", "qwxzzyv", "--index", str(sample_index)])
    assert r.exit_code == 1 and r.output == "Error: 'qwxzzyv' does not occur in the indexed text\n"
    r = runner.invoke(cli, ["senses", "bank", "--index", str(sample_index), "--senses", "x"])
    assert r.exit_code == 2
    r = runner.invoke(cli, ["senses", "bank", "--index", str(sample_index), "--max", "0"])
    assert r.exit_code == 2


def test_phrase(sample_index):
    from searchkit import Index

    with Index.open(sample_index) as idx:
        r = idx.senses("central bank", senses=1)
    assert r.uses >= 1 and r.k == 1
    assert all("central bank" in e.sentence[e.span[0]:e.span[1]].lower()
               for e in r.senses[0].examples)


def test_help():
    r = CliRunner().invoke(cli, ["senses", "--help"])
    assert r.exit_code == 0 and "--plot FILE.png" in r.output and "--senses" in r.output


def test_document_text_merges_overlap_and_keeps_lines():
    doc = "one bank\ntwo bank\n\nthree bank four\nfive"
    chunks = [(doc[0:14], 0, 1), (doc[9:30], 9, 2), (doc[33:], 33, 4)]  # overlap and a gap
    text = document_text(chunks)
    assert len(text) == len(doc) and text[:30] == doc[:30] and text[33:] == doc[33:]
    for i in range(len(doc)):
        if doc[i] == "b":
            assert text.count("\n", 0, i) == doc.count("\n", 0, i)
    assert sample_uses(5, 10) == [0, 1, 2, 3, 4]
    assert sample_uses(100, 7) == sample_uses(100, 7) and len(sample_uses(100, 7)) == 7


def test_text_report_names_the_runner_up_number_of_senses(sample_index, bank):
    from searchkit.cli.senses import _runner_up

    assert _runner_up({1: 0.03, 2: 0.37, 3: 0.27, 4: 0.07}, 2) == (3, 0.27)
    assert _runner_up({1: 0.2, 2: 0.2}, 2) == (1, 0.2)  # ties: the fewer senses
    assert _runner_up({1: 1.0}, 1) is None and _runner_up({}, 2) is None
    r = CliRunner().invoke(cli, ["senses", "bank", "--index", str(sample_index)])
    k, v = _runner_up(bank.gaps, bank.k)
    assert r.exit_code == 0 and k != bank.k and "token vectors: minilm" in r.output
    assert f"next clearest: {k} senses (gap {v:.2f}); --senses {k} shows that split" in r.output
    from dataclasses import replace

    from searchkit.cli.senses import format_senses

    one = format_senses(replace(bank, k=2, gaps={1: 0.3, 2: 0.4}))
    assert "next clearest: 1 sense (gap 0.30); --senses 1 keeps the uses together" in one


def test_encoder_override_takes_token_vectors_from_another_model(sample_index, bank):
    """--encoder swaps only the model that embeds the uses; the index is read as it is."""
    from searchkit import Index

    assert bank.encoder == "minilm"
    with Index.open(sample_index, readonly=True) as idx:
        other = idx.senses("bank", encoder="hashing-test", senses=2)
    assert other.encoder == "hashing-test" and other.uses == bank.uses
    assert other.points != bank.points  # different vectors were clustered
    r = CliRunner().invoke(cli, ["senses", "bank", "--index", str(sample_index), "--encoder",
                                 "hashing-test", "--senses", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["encoder"] == "hashing-test"
    r = CliRunner().invoke(cli, ["senses", "bank", "--index", str(sample_index), "--encoder",
                                 "no-such-model"])
    assert r.exit_code != 0 and "unknown encoder 'no-such-model'" in r.output
    assert "Traceback" not in r.output
