"""``search stats`` and ``Index.stats``: counts, encoder, size, last sync, baselines."""

from __future__ import annotations

import datetime
import json

from click.testing import CliRunner

from searchkit.api import stats
from searchkit.cli import cli
from searchkit.index import Index


def build(tmp_path, docs):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    idx.close()
    return tmp_path / "idx"


def test_stats_api(tmp_path, docs, hashing):
    path = build(tmp_path, docs)
    s = stats(path)
    assert (s["documents"], s["encoder"], s["dim"]) == (6, "hashing-test", 384)
    assert s["chunks"] >= 6
    files = [f for f in path.rglob("*") if f.is_file()]
    assert s["bytes_on_disk"] == sum(f.stat().st_size for f in files)
    assert s["baselines"] == {}
    assert abs(s["last_sync"] - datetime.datetime.now().timestamp()) < 60


def test_stats_reports_saved_baselines_and_counts_their_size(tmp_path, docs, hashing):
    path = build(tmp_path, docs)
    before = stats(path)["bytes_on_disk"]
    bm25 = path / "baselines" / "bm25"
    bm25.mkdir(parents=True)
    (bm25 / "retriever.json").write_text(json.dumps({"retriever": "bm25", "k1": 1.2}))
    (bm25 / "data.npy").write_bytes(b"\0" * 1000)
    (path / "baselines" / "tfidf").mkdir()  # no metadata (yet)
    (path / "baselines" / ".glove.tmp-x").mkdir()  # being written: not listed
    s = stats(path)
    assert s["baselines"] == {"bm25": {"retriever": "bm25", "k1": 1.2}, "tfidf": {}}
    assert s["bytes_on_disk"] >= before + 1000


def test_stats_cli_text_and_json(tmp_path, docs, hashing):
    path = build(tmp_path, docs)
    (path / "baselines" / "bm25").mkdir(parents=True)
    runner = CliRunner()
    res = runner.invoke(cli, ["stats", "--index", str(path)])
    assert res.exit_code == 0, res.output
    lines = dict(line.split(":", 1) for line in res.output.splitlines())
    lines = {k: v.strip() for k, v in lines.items()}
    assert lines["Documents"] == "6"
    assert lines["Encoder"] == "hashing-test (384-d)"
    assert lines["Baselines"] == "bm25"
    assert lines["Size on disk"].endswith("KB")
    last = datetime.datetime.strptime(lines["Last sync"], "%Y-%m-%d %H:%M:%S")
    assert abs((datetime.datetime.now() - last).total_seconds()) < 60
    res = runner.invoke(cli, ["stats", "--index", str(path), "--json"])
    assert res.exit_code == 0
    d = json.loads(res.output)
    assert d["documents"] == 6 and d["baselines"] == {"bm25": {}}
    assert isinstance(d["last_sync"], float) and isinstance(d["bytes_on_disk"], int)


def test_stats_of_a_new_empty_index_and_of_no_index(tmp_path, hashing):
    Index.create(tmp_path / "idx", encoder="hashing-test").close()
    res = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "idx")])
    assert res.exit_code == 0
    assert "Last sync:    never" in res.output and "Documents:    0" in res.output
    res = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "none")])
    assert res.exit_code == 1 and "Error: no index at" in res.output


def test_index_and_stats_have_help():
    for cmd in ("index", "stats"):
        res = CliRunner().invoke(cli, [cmd, "--help"])
        assert res.exit_code == 0 and len(res.output) > 200
    res = CliRunner().invoke(cli, ["index", "--help"])
    assert "3  some files were skipped" in res.output and "--max-file-mb" in res.output
