"""Hybrid's document length prior: when documents are ranked, a document's fused score pays
``length_prior * ln(its number of chunks)``."""

import math

import pytest

import searchkit
from searchkit import Index
from searchkit.errors import BadUsage
from searchkit.retrieval.fusion import zscore
from searchkit.retrieval.hybrid import LENGTH_PRIOR, Fusion, HybridRetriever


class Fixed:
    """A retriever that returns one fixed ranking."""

    def __init__(self, ranking):
        self.ranking = ranking

    def search(self, query, k, allowed=None):
        return self.ranking[:k]

    def __len__(self):
        return len(self.ranking)


# chunk -> document: document 1 is one chunk (id 1), document 2 is chunks 20-29 (only 20 and
# 21 are ranked), document 3 is one chunk (id 3)
DOC = {1: 1, 3: 3, **{20 + i: 2 for i in range(10)}}
SIZE = {1: 1, 2: 10, 3: 1}
DENSE = [(20, 0.90), (1, 0.88), (21, 0.50), (3, 0.40)]
BM25 = [(21, 9.0), (1, 8.5), (3, 2.0), (20, 1.0)]


def _hybrid(prior, group_size=lambda gs: {g: SIZE[g] for g in gs}):
    fusion = Fusion(methods=("dense", "bm25"), coverage_power=0, sentence_weight=0,
                    length_prior=prior)
    return HybridRetriever({"dense": Fixed(DENSE), "bm25": Fixed(BM25)}, fusion,
                           group_of=lambda ids: {i: DOC[i] for i in ids}, group_size=group_size)


def test_the_prior_is_paid_by_hand():
    plain = dict((DOC[i], s) for i, s in _hybrid(0).search("q", 3))
    paid = dict((DOC[i], s) for i, s in _hybrid(0.1).search("q", 3))
    for doc, n in SIZE.items():
        assert paid[doc] == pytest.approx(plain[doc] - 0.1 * math.log(n))
    # the fused score without the prior is the z-score mean over documents' best chunks
    by_doc = [[(2, 0.90), (1, 0.88), (3, 0.40)], [(2, 9.0), (1, 8.5), (3, 2.0)]]
    assert plain == pytest.approx(dict(zscore(by_doc)))


def test_the_prior_moves_a_long_document_below_a_short_one():
    assert [DOC[i] for i, _ in _hybrid(0).search("q", 3)][:2] == [2, 1]
    ranked = _hybrid(0.1).search("q", 3)
    assert [DOC[i] for i, _ in ranked][:2] == [1, 2]
    assert ranked[1][0] in (20, 21)  # the long document still shows its best chunk
    assert len(_hybrid(0.1).search("q", 1)) == 1


def test_no_prior_without_chunk_counts_or_at_zero():
    assert _hybrid(0.1, group_size=None).search("q", 3) == _hybrid(0).search("q", 3)


def test_fusion_checks_and_reports_the_prior():
    assert Fusion().length_prior == LENGTH_PRIOR["zscore"] > 0
    assert Fusion().to_dict()["length_prior"] == LENGTH_PRIOR["zscore"]
    assert Fusion(combine="rrf").length_prior == 0.0  # RRF scores are on another scale
    assert Fusion(length_prior=0.3).length_prior == 0.3
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(BadUsage):
            Fusion(length_prior=bad)


def test_chunks_per_document_counts_each_documents_chunks(tmp_path, hashing):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "short.txt").write_text("A short note about herons.")
    (folder / "long.txt").write_text("\n\n".join(
        f"Paragraph {i} tells of rivers, herons and the weirs along the valley." for i in range(30)))
    idx = Index.create(tmp_path / "idx", encoder="hashing-test",
                       chunking=searchkit.ChunkSettings(max_tokens=24, overlap=0))
    idx.add_paths(sorted(folder.iterdir()))
    rows = idx.store.db.execute("SELECT d.path, d.id, count(c.id) FROM documents d "
                                "JOIN chunks c ON c.doc_id = d.id GROUP BY d.id").fetchall()
    counts = idx.store.chunks_per_document([doc for _, doc, _ in rows] + [999])
    assert {doc: counts[doc] for _, doc, _ in rows} == {doc: n for _, doc, n in rows}
    assert 999 not in counts
    by_name = {path.rsplit("/", 1)[-1]: n for path, _, n in rows}
    assert by_name["short.txt"] == 1 and by_name["long.txt"] > 5
    # counts are kept per generation: a document that changes is counted again
    before = {p.rsplit("/", 1)[-1]: d for p, d, _ in rows}["short.txt"]
    (folder / "short.txt").write_text("\n\n".join(
        f"Now note {i} is long, about herons and weirs and the valley's rivers." for i in range(20)))
    idx.add_paths(sorted(folder.iterdir()))
    short = next(d for p, d, _ in idx.store.db.execute(
        "SELECT d.path, d.id, 0 FROM documents d").fetchall() if p.endswith("short.txt"))
    now = idx.store.db.execute("SELECT count(*) FROM chunks WHERE doc_id = ?", [short]).fetchone()[0]
    assert short == before  # the same row, re-chunked: only the generation tells
    assert now > 5 and idx.store.chunks_per_document([short]) == {short: now}
    idx.close()


def test_paying_only_the_head_ranks_as_paying_every_group():
    import random

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 120)
        sizes = {g: rng.choice([1, 1, 2, 3, 10, 200]) for g in range(n)}
        fused = sorted(((g, rng.choice([rng.gauss(0, 1), 0.5])) for g in range(n)),
                       key=lambda x: (-x[1], x[0]))
        k, prior = rng.randint(1, 30), rng.choice([0.05, 0.1, 1.0])
        asked = []
        h = HybridRetriever({"dense": Fixed([])}, Fusion(methods=("dense",), length_prior=prior),
                            group_size=lambda gs, asked=asked, sizes=sizes:
                            asked.append(len(gs)) or {g: sizes[g] for g in gs})
        full = sorted(((g, s - prior * math.log(sizes[g])) for g, s in fused),
                      key=lambda x: (-x[1], x[0]))[:k]
        got = h._pay_prior(fused, k, prior)
        assert [g for g, _ in got] == [g for g, _ in full]
        assert [s for _, s in got] == pytest.approx([s for _, s in full])
        assert sum(asked) <= n
