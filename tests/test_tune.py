"""`search tune`: pairs parsing, a 2-step tuning run, the saved model as an index encoder."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import searchkit
from searchkit.cli import cli
from searchkit.encoders import encoder_id, get_encoder
from searchkit.errors import BadInput, EncoderMismatch
from searchkit.tuning import batches, beir_pairs, read_pairs

DATA = Path(__file__).parent / "data"
PAIRS = DATA / "tune_pairs.tsv"


@pytest.fixture
def runner():
    return CliRunner()


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, minilm):
    """`search tune` run once (2 steps): its home, output and the untouched index's digest."""
    home = tmp_path_factory.mktemp("tune") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEARCHKIT_HOME", str(home))
        idx = searchkit.Index.create(home / "default", encoder="hashing-test")
        (home.parent / "doc.txt").write_text("an index that tuning must leave alone\n")
        idx.add_paths([home.parent / "doc.txt"])
        idx.close()
        before = _digest(home / "default")
        r = CliRunner().invoke(cli, ["tune", "--pairs", str(PAIRS), "--out", "tiny",
                                     "--max-steps", "2", "--batch-size", "8", "--lr", "5e-5"])
    return {"home": home, "result": r, "index_before": before}


def test_tune_saves_a_model_with_a_card(tuned):
    r, home = tuned["result"], tuned["home"]
    assert r.exit_code == 0, r.output
    path = home / "models" / "tiny"
    assert (path / "model.safetensors").exists() and (path / "modules.json").exists()
    card = json.loads((path / "searchkit_card.json").read_text())
    assert card["base"] == "minilm" and card["pairs"] == 16 and card["steps"] == 2
    assert card["data"] == str(PAIRS.resolve()) and card["batch_size"] == 8
    assert len(card["losses"]) == 2 and card["final_loss"] >= 0 and card["seconds"] > 0
    readme = (path / "README.md").read_text()
    assert "search index --encoder tiny --rebuild" in readme and "| final_loss |" in readme
    assert f"Saved 'tiny' to {path.resolve()}" in r.output
    assert "2 steps on 16 pairs" in r.output and "Encoder id: tiny@" in r.output
    assert "step 2/2  loss " in r.output  # the loss as it falls (stderr is mixed in)
    assert not list((home / "models").glob(".tmp-*"))


def test_tuning_touches_no_index(tuned):
    assert _digest(tuned["home"] / "default") == tuned["index_before"]


def test_tuned_model_loads_by_name_and_changes_embeddings(tuned, minilm, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_HOME", str(tuned["home"]))
    enc = get_encoder("tiny")
    path = (tuned["home"] / "models" / "tiny").resolve()
    assert enc.model_dir == path
    assert enc.id == encoder_id("tiny") == encoder_id(str(path))  # by name or by path
    assert enc.id.startswith("tiny@") and len(enc.id) == len("tiny@") + 12
    assert get_encoder(enc.id) is enc
    texts = ["how do tides work", "Yeast ferments sugars in the dough."]
    before, after = minilm.encode_documents(texts), enc.encode_documents(texts)
    assert np.abs(after - before).max() > 1e-4  # it learned something
    assert (after * before).sum(axis=1).min() > 0.9  # but 2 steps did not wreck it
    np.testing.assert_allclose(searchkit.embed(texts, encoder="tiny"), after, atol=1e-6)


def test_index_with_the_tuned_encoder(tuned, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_HOME", str(tuned["home"]))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tides.txt").write_text("The Moon's gravity raises tides in the oceans.\n")
    idx_dir = tmp_path / "idx"
    r = runner.invoke(cli, ["index", str(docs), "--index", str(idx_dir), "--encoder",
                            "hashing-test"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["index", str(docs), "--index", str(idx_dir), "--encoder", "tiny",
                            "--rebuild"])
    assert r.exit_code == 0, r.output
    eid = encoder_id("tiny")
    manifest = json.loads((idx_dir / "manifest.json").read_text())
    assert manifest["encoder"] == eid
    # the same encoder by name: a plain sync, no mismatch
    r = runner.invoke(cli, ["index", str(docs), "--index", str(idx_dir), "--encoder", "tiny"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["query", "what raises tides", "--index", str(idx_dir), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["hits"][0]["path"].endswith("tides.txt")
    # another encoder is refused, clearly
    with pytest.raises(EncoderMismatch, match=f"built with encoder '{eid}'.*'minilm'"):
        searchkit.Index.open(idx_dir, encoder="minilm")
    r = runner.invoke(cli, ["index", str(docs), "--index", str(idx_dir), "--encoder", "minilm"])
    assert r.exit_code == 1
    assert f"built with encoder '{eid}', not 'minilm'; add --rebuild" in r.output


def test_changed_weights_are_refused(tuned, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_HOME", str(tuned["home"]))
    with pytest.raises(EncoderMismatch, match="model 'tiny' has changed since it was used as "
                                               "'tiny@000000000000'.*--rebuild"):
        get_encoder("tiny@000000000000")


def test_existing_name_is_refused_without_force(runner, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "models" / "taken").mkdir(parents=True)
    r = runner.invoke(cli, ["tune", "--pairs", str(PAIRS), "--out", "taken"])
    assert r.exit_code == 1
    assert r.output == (f"Error: model 'taken' already exists at {home / 'models' / 'taken'}; "
                        f"use --force to replace it\n")


@pytest.mark.parametrize("content, line, what", [
    ("q1\tp1\nq2\tp2\nq3 without a tab\n", 3, "expected 2 tab-separated columns (query, "
                                             "passage), found 1"),
    ("q1\tp1\n\nq2\tp2\tp3\n", 3, "expected 2 tab-separated columns (query, passage), found 3"),
    ("q1\tp1\n \t p2\n", 2, "empty query"),
])
def test_malformed_pairs_name_the_line(runner, tmp_path, content, line, what):
    f = tmp_path / "PAIRS.tsv"
    f.write_text(content)
    with pytest.raises(BadInput) as e:
        read_pairs(f)
    assert str(e.value) == f"{f} line {line}: {what}"
    r = runner.invoke(cli, ["tune", "--pairs", str(f), "--out", "m"])
    assert r.exit_code == 1 and r.output == f"Error: {f} line {line}: {what}\n"
    assert not (tmp_path / "home" / "models" / "m").exists()


def test_tune_usage_errors(runner, tmp_path):
    r = runner.invoke(cli, ["tune", "--out", "m"])
    assert r.exit_code == 2 and "give --pairs PAIRS.tsv or --beir DIR" in r.output
    for bad in ("../x", "minilm", "a/b"):
        r = runner.invoke(cli, ["tune", "--pairs", str(PAIRS), "--out", bad])
        assert r.exit_code == 1 and r.output.startswith(f"Error: model name {bad!r}")


def test_beir_pairs():
    pairs = beir_pairs(DATA / "tiny_beir", "train")
    assert pairs and all(q and p for q, p in pairs)
    from searchkit.eval import load_beir

    ds = load_beir(DATA / "tiny_beir", "train")
    expected = [(ds.queries[q], ds.doc_text(d)) for q, docs in ds.qrels.items()
                for d, s in docs.items() if s > 0]
    assert pairs == expected


def test_batches_hold_no_duplicates():
    pairs = [("q1", "p1"), ("q1", "p2"), ("q2", "p1"), ("q3", "p3"), ("q4", "p4"), ("q5", "p5")]
    out = batches(pairs, 4, seed=1)
    kept = [p for b in out for p in b]
    assert len(set(kept)) == len(kept) >= len(pairs) - 1  # only a lone leftover is dropped
    for b in out:
        qs, ps = [q for q, _ in b], [p for _, p in b]
        assert len(set(qs)) == len(qs) and len(set(ps)) == len(ps) and len(b) > 1


def test_mine_negatives_never_give_a_query_its_own_positive():
    from searchkit.tuning import mine_negatives

    pairs = [("how do rivers erode their banks", "rivers erode the outer bank of a meander"),
             ("how do rivers erode their banks", "floods cut the river bank back"),
             ("when does the bank open", "the bank opens at nine on weekdays"),
             ("lonely query about zebras", "zebras have stripes")]
    pool = [p for _, p in pairs] + ["a river bank collapsed after rain",
                                    "bank holidays close the bank", "unrelated text on cheese"]
    triplets = mine_negatives(pairs, pool, seed=0)
    positives = {q: {p for qq, p in pairs if qq == q} for q, _ in pairs}
    assert triplets and all(n not in positives[q] and n in pool for q, _, n in triplets)
    assert [(q, p) for q, p, _ in triplets] == [(q, p) for q, p in pairs
                                               if any(q == t[0] for t in triplets)]
    # BM25 picks a passage that shares the query's words, not the cheese
    assert all("cheese" not in n for _, _, n in triplets)
    # from the pairs' own passages when no pool is given: the zebra query has none left
    own = mine_negatives(pairs, seed=0)
    assert "lonely query about zebras" not in {q for q, _, _ in own}
    assert all(n in {p for _, p in pairs} and n not in positives[q] for q, _, n in own)


def test_batches_of_triplets_hold_no_text_twice():
    items = [("q1", "p1", "p2"), ("q2", "p2", "p3"), ("q3", "p3", "p1"), ("q4", "p4", "p5"),
             ("q5", "p5", "p6"), ("q6", "p6", "p4")]
    for seed in range(5):
        for b in batches(items, 3, seed=seed):
            texts = [t for item in b for t in item]
            assert len(texts) == len(set(texts)) and len(b) > 1


def test_tune_with_hard_negatives(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path))
    r = runner.invoke(cli, ["tune", "--pairs", str(PAIRS), "--out", "hn",
                            "--max-steps", "1", "--batch-size", "4", "--hard-negatives", "-q"])
    assert r.exit_code == 0, r.output
    card = json.loads((tmp_path / "models" / "hn" / "searchkit_card.json").read_text())
    assert card["hard_negatives"] > 0 and card["steps"] == 1
