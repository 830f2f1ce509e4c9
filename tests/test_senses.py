"""Word senses: finding uses, contexts, clustering, and quality on the real model."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from searchkit import senses as S
from searchkit.errors import BadInput

DATA = Path(__file__).parent / "data" / "senses.tsv"


@pytest.fixture(scope="session")
def encoder():
    from searchkit.encoders import get_encoder

    return get_encoder("minilm")


@pytest.fixture(scope="session")
def labelled():
    out: dict[str, tuple[list[str], list[str]]] = {}
    with open(DATA, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            texts, senses = out.setdefault(row["word"], ([], []))
            texts.append(row["sentence"])
            senses.append(row["sense"])
    return out


def spans(word, texts):
    occ = S.find_occurrences(word, texts)
    ctx = [S.context_for(texts[i], s, e) for i, s, e in occ]
    return [(c, o, o + e - s) for (c, o), (_, s, e) in zip(ctx, occ)]


# -- finding uses ----------------------------------------------------------------------

def test_occurrences_case_and_whole_word():
    texts = ["Bank, BANK and bank.", "banks embankment riverbank", "(bank)"]
    assert S.find_occurrences("bank", texts) == [(0, 0, 4), (0, 6, 10), (0, 15, 19), (2, 1, 5)]


def test_occurrences_phrase_tolerates_whitespace_and_punctuation():
    texts = ["the River  Bank.", "river\nbank, and river-bank", "riverbank river banks"]
    assert S.find_occurrences("river bank", texts) == [(0, 4, 15), (1, 0, 10)]
    with pytest.raises(BadInput):
        S.find_occurrences("   ", texts)


def test_context_offsets_slice_back_to_the_word():
    text = ("Intro. We walked along the Bank of the river for a long while, talking. "
            "Short one. " + "Filler words here. " * 40 + "At last the bank closed. End.")
    for _, s, e in S.find_occurrences("bank", [text]):
        ctx, off = S.context_for(text, s, e, max_chars=120)
        assert ctx[off:off + e - s] == text[s:e]
        assert len(ctx) <= 130 and "\n" not in ctx
    # A short sentence borrows its neighbour.
    ctx, off = S.context_for("A bank. It had a big vault and a kind manager.", 2, 6)
    assert ctx == "A bank. It had a big vault and a kind manager." and off == 2


def test_context_phrase_across_lines():
    text = "We sat by the river\nbank all day."
    (_, s, e), = S.find_occurrences("river bank", [text])
    ctx, off = S.context_for(text, s, e)
    assert ctx[off:off + e - s] == "river bank"


# -- clustering ------------------------------------------------------------------------

def blobs(k, n_each=12, dim=64, spread=0.2, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    X = np.vstack([c + spread * rng.normal(size=(n_each, dim)) for c in centres])
    return X, np.repeat(np.arange(k), n_each)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_cluster_senses_finds_true_k_on_separated_blobs(k):
    from sklearn.metrics import adjusted_rand_score

    X, y = blobs(k)
    labels, info = S.cluster_senses(X)
    assert info.k == k and adjusted_rand_score(y, labels) == 1.0
    again, _ = S.cluster_senses(X)
    assert (again == labels).all()  # deterministic
    assert list(info.sizes) == sorted(info.sizes, reverse=True)


def test_cluster_senses_single_blob_is_one_sense():
    X = np.random.default_rng(1).normal(size=(30, 384))
    labels, info = S.cluster_senses(X)
    assert info.k == 1 and (labels == 0).all()


def test_cluster_senses_fixed_k_and_degenerate_input():
    X, _ = blobs(3)
    assert S.cluster_senses(X, n_senses=3)[1].k == 3
    same = np.ones((5, 8))
    labels, info = S.cluster_senses(same, n_senses=3)  # identical rows cannot split
    assert info.k == 1 and (labels == 0).all()
    assert S.cluster_senses(np.zeros((0, 4)))[1].k == 0
    with pytest.raises(BadInput):
        S.cluster_senses(X, n_senses=0)


def test_distinguishing_words_and_central_examples():
    contexts = ["the river bank was muddy", "a muddy river bank", "the river flooded the bank",
                "the bank raised interest rates", "bank interest and loans", "a loan from the bank"]
    labels = [0, 0, 0, 1, 1, 1]
    words = S.distinguishing_words(contexts, labels, top=3, word="bank")
    assert words[0][0][0] == "river" and {w for w, _ in words[1]} >= {"interest"}
    assert all(w != "bank" for ws in words for w, _ in ws)
    X, _ = blobs(2, n_each=5)
    central = S.central_examples(X, np.repeat([0, 1], 5), top=2)
    assert [len(c) for c in central] == [2, 2]
    assert set(central[0]) <= set(range(5)) and set(central[1]) <= set(range(5, 10))


def test_glove_neighbours():
    vec, near = S.glove_neighbours("bank", top=5)
    assert vec.shape == (50,) and len(near) == 5 and "bank" not in [w for w, _ in near]
    assert near == sorted(near, key=lambda t: -t[1])
    vec2, _ = S.glove_neighbours("river bank")
    assert vec2.shape == (50,)
    assert S.glove_neighbours("qwxzzyv") is None


# -- the real model --------------------------------------------------------------------

def test_occurrence_vectors_match_the_encoder(encoder):
    items = spans("bank", ["I sat on the bank of the river.", "The Bank raised rates."])
    X = S.occurrence_vectors(encoder, items, context_weight=0)
    for (ctx, s, e), row in zip(items, X):
        tv = encoder.token_vectors(ctx)
        want = np.mean([v for (a, b), v in zip(tv.offsets, tv.vectors) if a < e and b > s], 0)
        np.testing.assert_allclose(row, want, atol=1e-4)
    assert S.occurrence_vectors(encoder, items).shape == (2, encoder.dim)


@pytest.mark.parametrize("word", ["python", "crane"])  # held-out words
def test_auto_senses_on_real_words(encoder, labelled, word):
    from sklearn.metrics import adjusted_rand_score

    texts, truth = labelled[word]
    X = S.occurrence_vectors(encoder, spans(word, texts))
    labels, info = S.cluster_senses(X)
    assert adjusted_rand_score(truth, labels) >= 0.8


def test_labelled_set_shape(labelled):
    assert sum(len(t) for t, _ in labelled.values()) >= 130 and len(labelled) >= 7
    for word, (texts, _) in labelled.items():
        assert 12 <= len(texts) <= 25
        assert [i for i, _, _ in S.find_occurrences(word, texts)] == list(range(len(texts)))
    assert sum(len(set(s)) >= 3 for _, s in labelled.values()) >= 2


def test_eigengap_counts_two_close_senses_beside_a_far_one():
    """spring's geometry: two senses close together, a third far away. The best silhouette
    says 2 (far vs the rest); the neighbour graph's eigengap says 3, and KMeans finds them."""
    rng = np.random.default_rng(0)
    e = np.eye(32)
    groups = [e[0] * 4, -e[0] * 4 + e[1], -e[0] * 4 - e[1]]
    X = np.vstack([c + rng.standard_normal((8, 32)) * 0.2 for c in groups]) + e[2] * 10
    labels, info = S.cluster_senses(X)
    assert max(info.scores, key=info.scores.get) == 2  # what the silhouette rule picked
    assert info.k == 3 and max(info.gaps, key=info.gaps.get) == 3
    truth = np.repeat([0, 1, 2], 8)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) == 1.0


def test_eigengaps_of_one_blob_and_tiny_inputs():
    rng = np.random.default_rng(1)
    Z = S.prepare_vectors(rng.standard_normal((60, 32)))
    gaps = S.eigengaps(Z, 5)
    assert set(gaps) == {1, 2, 3, 4, 5} and max(gaps, key=gaps.get) == 1
    assert S.eigengaps(Z[:2], 5) == {1: 1.0}
    assert S.neighbours(16) == 4 and S.neighbours(400) == 9 and S.neighbours(3) == 2
