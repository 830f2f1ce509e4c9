"""Quality on sample_corpus with the real model: queries that share no content word with
their target document must still find it first (what keyword search cannot do)."""

import json
import re

import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from searchkit import Index
from searchkit.readers import read_file

from conftest import DATA, ROOT

QUERIES = [json.loads(l) for l in (DATA / "sample_queries.jsonl").read_text().splitlines() if l]


def _words(text):
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower())
            if w not in ENGLISH_STOP_WORDS}


def test_the_query_set_is_what_it_claims():
    assert len(QUERIES) >= 5
    for q in QUERIES:
        doc = read_file(ROOT / q["doc"]).text
        assert not (_words(q["query"]) & _words(doc)), q


@pytest.mark.parametrize("q", QUERIES, ids=[q["query"][:30] for q in QUERIES])
def test_expected_document_ranks_first(sample_index, q):
    with Index.open(sample_index) as idx:
        hits = idx.search(q["query"], k=3)
    assert hits, q
    assert hits[0].path.endswith(q["doc"]), [h.path for h in hits]
