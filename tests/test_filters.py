"""Pre-filters (path, ext, modified_after, metadata): applied before the vector search, so k
hits come back whenever k matching chunks exist, even when the matches are rare.

Plumbing only: the hashing encoder is enough, and fast."""

import json
import os
import re
from datetime import date, datetime

import numpy as np
import pytest
from click.testing import CliRunner

from searchkit import BadInput, BadUsage, Index
from searchkit.cli import cli
from searchkit.filters import (allowed_chunk_ids, check_glob, normalize_exts, path_matches,
                               to_timestamp)

WORDS = ("river bank loan python spring cell pitch bat garden bread engine music harbour "
         "ledger orchard violin granite tundra kettle lantern meadow copper").split()
RARE = 5  # of 500 texts: 1%


@pytest.fixture(scope="module")
def rare_index(tmp_path_factory):
    """500 short texts; texts 0, 100, 200 ... carry lang=fr and a .pdf key, the rest .txt.
    Built once for the module; tests only read it."""
    rng = np.random.default_rng(7)
    texts, meta = [], []
    for i in range(500):
        texts.append(" ".join(rng.choice(WORDS, 12)) + f" item{i}")
        rare = i % 100 == 0
        meta.append({"path": f"{'rare' if rare else 'common'}/doc{i}.{'pdf' if rare else 'txt'}",
                     "lang": "fr" if rare else "en", "n": i})
    idx = Index.create(tmp_path_factory.mktemp("rare") / "idx", encoder="hashing-test")
    idx.add_texts(texts, metadata=meta)
    yield idx
    idx.close()


@pytest.mark.parametrize("group", [True, False])
@pytest.mark.parametrize("filters", [{"metadata": {"lang": "fr"}}, {"ext": "pdf"},
                                     {"ext": [".PDF"]}, {"path": "rare/*"},
                                     {"path": ["*.pdf", "nothing/*"]}])
def test_rare_matches_still_fill_k(rare_index, filters, group):
    # The query is about the common texts: a post-filter of the top hits would find none.
    for k in (3, RARE):
        hits = rare_index.search("item250 river bank", k=k, group=group, **filters)
        assert len(hits) == k
        assert all(h.path.startswith("rare/") and h.path.endswith(".pdf") for h in hits)
    assert len(rare_index.search("river", k=50, group=group, **filters)) == RARE


def test_filters_combine_as_and(rare_index):
    hits = rare_index.search("river", k=10, ext="pdf", metadata={"n": 300})
    assert [h.path for h in hits] == ["rare/doc300.pdf"]
    assert rare_index.search("river", k=10, ext="txt", metadata={"lang": "fr"}) == []


def test_metadata_values_compare_loosely(rare_index):
    assert len(rare_index.search("river", k=10, metadata={"n": "100"})) == 1
    assert len(rare_index.search("river", k=10, metadata={"lang": ["fr", "de"]})) == RARE
    assert rare_index.search("river", k=10, metadata={"missing": "x"}) == []


def test_no_filter_means_everything(rare_index):
    assert allowed_chunk_ids(rare_index) is None
    assert allowed_chunk_ids(rare_index, path=None, ext=[], metadata={}) is None
    ids = allowed_chunk_ids(rare_index, ext="pdf")
    assert ids.dtype == np.int64 and len(ids) == RARE and list(ids) == sorted(ids)


def test_modified_after(tmp_path, docs, hashing):
    old = datetime(2020, 1, 1).timestamp()
    for p in docs.rglob("*"):
        if p.is_file() and p.name != "river.md":
            os.utime(p, (old, old))
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_paths([docs])
    for after in (datetime(2021, 6, 1), date(2021, 6, 1), "2021-06-01", old + 1):
        hits = idx.search("river bank", k=10, modified_after=after)
        assert [os.path.basename(h.path) for h in hits] == ["river.md"], after
    assert len(idx.search("river bank", k=10, modified_after="2019-12-31")) == 6
    idx.close()


@pytest.mark.parametrize("kwargs,message", [
    ({"colour": "red"}, "unknown filter 'colour'"),
    ({"modified_after": "last tuesday"}, "is not a date"),
    ({"ext": ""}, None),  # empty means no filter
    ({"ext": "."}, "empty extension"),
    ({"metadata": ["lang", "fr"]}, "must be a dict"),
])
def test_bad_filters(rare_index, kwargs, message):
    if message is None:
        assert len(rare_index.search("river", k=3, **kwargs)) == 3
        return
    with pytest.raises(BadInput, match=message):
        rare_index.search("river", k=3, **kwargs)


def test_helpers():
    assert normalize_exts(["md", ".PDF", "*.txt"]) == {".md", ".pdf", ".txt"}
    assert path_matches("/a/b/notes/x.md", ["*.md"])
    assert path_matches("/a/b/notes/x.md", ["notes/*"])  # a relative glob matches any tail
    assert not path_matches("/a/b/notes/x.md", ["other/*"])
    assert to_timestamp(date(2024, 1, 2)) == datetime(2024, 1, 2).timestamp()


def test_cli_query_filters(tmp_path, docs, hashing):
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    assert runner.invoke(cli, ["index", str(docs), "--index", idx, "--encoder",
                               "hashing-test", "-q"]).exit_code == 0
    r = runner.invoke(cli, ["query", "river bank", "--index", idx, "--ext", "pdf",
                            "--ext", "md", "--json"])
    assert r.exit_code == 0, r.output
    paths = {os.path.basename(h["path"]) for h in json.loads(r.output)["hits"]}
    assert paths == {"orchard.pdf", "river.md"}
    r = runner.invoke(cli, ["query", "river bank", "--index", idx, "--path", "*/notes/*",
                            "--json"])
    paths = {os.path.basename(h["path"]) for h in json.loads(r.output)["hits"]}
    assert paths == {"meeting.rst", "tool.py"}
    r = runner.invoke(cli, ["query", "river", "--index", idx, "--modified-after", "2999-01-01"])
    assert r.exit_code == 0 and r.output == "No results.\n"


@pytest.mark.parametrize("glob", ["*.md", "[a-z]*", "b[a-c-]c.md", "[!a-z].txt", "[z-a",
                                  "[]-a]x", "x[--z]", "a[!]-z]"])
def test_check_glob_passes_what_fnmatch_reads_whole(glob):
    assert check_glob(glob) == glob


@pytest.mark.parametrize("glob,bad", [("[z-a]*", "z-a"), ("notes/[!9-0]*", "9-0"),
                                      ("[a-cz-a]", "z-a"), ("[]-!]", "]-!")])
def test_check_glob_refuses_a_reversed_range(glob, bad, rare_index):
    """fnmatch drops a reversed range silently, so such a glob would match nothing."""
    with pytest.raises(BadUsage, match=rf"the range {re.escape(bad)} is reversed"):
        check_glob(glob)
    with pytest.raises(BadUsage, match="reversed"):
        allowed_chunk_ids(rare_index, path=["*.txt", glob])
