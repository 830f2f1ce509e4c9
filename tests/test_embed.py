"""`search embed` and searchkit.embed / token_vectors: the vectors the index computes."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import searchkit
from searchkit.cli import cli
from searchkit.errors import BadInput

TEXTS = ["Rivers wear away their banks.", "The sky is blue because air scatters light."]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, minilm):
    """Two short files indexed with the real model: a handful of chunks."""
    root = tmp_path_factory.mktemp("embed")
    docs = root / "docs"
    docs.mkdir()
    (docs / "rivers.md").write_text("# Rivers\n\nA river erodes its banks by abrasion.\n\n"
                                    "Meanders migrate downstream over the years.\n")
    (docs / "sky.txt").write_text("Blue light scatters more than red light in the air.\n")
    idx = searchkit.Index.create(root / "idx", encoder="minilm")
    idx.add_paths([docs])
    idx.close()
    return root / "idx"


def test_document_and_query_sides_call_their_entry_points(minilm, monkeypatch):
    calls = []
    for side in ("encode_documents", "encode_queries"):
        real = getattr(minilm, side)
        monkeypatch.setattr(minilm, side,
                            lambda texts, *a, _r=real, _s=side, **k: calls.append(_s) or _r(texts, *a, **k))
    doc = searchkit.embed(TEXTS, encoder="minilm")
    query = searchkit.embed(TEXTS, query=True, encoder="minilm")
    assert calls == ["encode_documents", "encode_queries"]
    assert doc.shape == query.shape == (2, 384) and doc.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(doc, axis=1), 1, atol=1e-5)
    # MiniLM is symmetric: both sides give the same vectors
    np.testing.assert_allclose(doc, query, atol=1e-5)
    assert searchkit.embed(TEXTS[0], encoder="minilm").shape == (384,)


def test_cli_sides_and_terminal_output(runner, minilm, monkeypatch):
    seen = []
    real = minilm.encode_queries
    monkeypatch.setattr(minilm, "encode_queries", lambda t, *a, **k: seen.append(t) or real(t, *a, **k))
    r = runner.invoke(cli, ["embed", "--encoder", "minilm", *TEXTS])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "2 x 384 float32, minilm, document side, L2-normalised"
    assert lines[1].startswith('"Rivers wear away their banks."  [')
    assert seen == []
    r = runner.invoke(cli, ["embed", "--encoder", "minilm", "--query", TEXTS[0]])
    assert r.exit_code == 0 and "query side" in r.output.splitlines()[0]
    assert seen == [[TEXTS[0]]]


def test_token_vectors_shape(minilm, runner):
    tokens, vecs = searchkit.token_vectors("a bank of the river", encoder="minilm")
    assert tokens == ["a", "bank", "of", "the", "river"]
    assert vecs.shape == (5, 384) and vecs.dtype == np.float32
    r = runner.invoke(cli, ["embed", "--encoder", "minilm", "--tokens", "--json", "a bank of the river"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    toks = data["texts"][0]["tokens"]
    assert [t["token"] for t in toks] == tokens
    assert [(t["start"], t["end"]) for t in toks][1] == (2, 6)
    assert all(len(t["vector"]) == 384 for t in toks)
    np.testing.assert_allclose([t["vector"] for t in toks], vecs, atol=1e-5)


def test_embedding_equals_the_stored_vector(small_index):
    with searchkit.Index.open(small_index) as idx:
        rows = list(idx.store.db.execute("SELECT id, text, text_hash FROM chunks ORDER BY id"))
        assert len(rows) >= 2
        stored = np.stack([idx.vectors.reconstruct(cid) for cid, _, _ in rows])
        blobs = {h: np.frombuffer(b, dtype=np.float32) for h, b in idx.store.db.execute(
            "SELECT text_hash, vector FROM embeddings WHERE encoder = 'minilm'")}
    mine = searchkit.embed([text for _, text, _ in rows], encoder="minilm")
    np.testing.assert_allclose(mine, stored, atol=1e-5)
    np.testing.assert_allclose(mine, np.stack([blobs[h] for _, _, h in rows]), atol=1e-5)
    # one at a time (no batch padding) gives the same vectors too
    np.testing.assert_allclose(searchkit.embed(rows[0][1], encoder="minilm"), stored[0],
                               atol=1e-5)
    np.testing.assert_allclose(searchkit.embed(rows[0][1], index=small_index), stored[0],
                               atol=1e-5)


def test_npy_round_trip(runner, tmp_path, minilm):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n\n")
    r = runner.invoke(cli, ["embed", "--encoder", "minilm", "--file", str(texts), "--npy",
                            str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert r.output == f"Wrote 2x384 float32 (minilm, document side) to {tmp_path / 'v.npy'}\n"
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), searchkit.embed(TEXTS, encoder="minilm"),
                               atol=1e-6)

    r = runner.invoke(cli, ["embed", "--encoder", "minilm", "--tokens", "a bank", "the river", "--npy",
                            str(tmp_path / "t.npy")])
    assert r.exit_code == 0, r.output
    assert r.output == f"Wrote 4 token vectors x 384 (minilm) to {tmp_path / 't.npz'}\n"
    z = np.load(tmp_path / "t.npz")  # no pickle needed
    assert list(z["tokens"]) == ["a", "bank", "the", "river"]
    assert list(z["text"]) == [0, 0, 1, 1]
    assert z["offsets"].tolist() == [[0, 1], [2, 6], [0, 3], [4, 9]]
    assert z["vectors"].shape == (4, 384)
    np.testing.assert_allclose(z["vectors"][2:], searchkit.token_vectors("the river", encoder="minilm")[1],
                               atol=1e-5)


def test_index_encoder_and_mismatch(runner, small_index):
    r = runner.invoke(cli, ["embed", "--index", str(small_index), "--json", "hello"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["encoder"] == "minilm"
    r = runner.invoke(cli, ["embed", "--index", str(small_index), "--encoder", "hashing-test",
                            "hello"])
    assert r.exit_code == 1
    assert r.output == (f"Error: index {small_index} was built with encoder 'minilm', not "
                        f"'hashing-test'; drop --encoder to use the index's\n")


@pytest.mark.parametrize("args, message", [
    ([], "nothing to embed: give TEXTS or --file"),
    (["x", "--file", "f"], "give TEXTS or --file, not both"),
    (["x", "--json", "--npy", "o"], "--json and --npy are exclusive"),
])
def test_usage_errors(runner, args, message):
    r = runner.invoke(cli, ["embed", *args])
    if "--json" in args:  # under --json the error is JSON too
        assert r.exit_code == 2 and json.loads(r.output)["error"] == message
        return
    assert r.exit_code == 2 and f"Error: {message}" in r.output


def test_bad_input(runner, hashing, tmp_path):
    with pytest.raises(BadInput, match="text 2 is empty"):
        searchkit.embed(["a", "  "], encoder="hashing-test")
    with pytest.raises(BadInput, match="no text to embed"):
        searchkit.embed([], encoder="hashing-test")
    (tmp_path / "blank.txt").write_text("\n \n")
    r = runner.invoke(cli, ["embed", "--file", str(tmp_path / "blank.txt")])
    assert r.exit_code == 1
    assert r.output == f"Error: {tmp_path / 'blank.txt'}: no text (one text per line is expected)\n"
