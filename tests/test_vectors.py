"""The FAISS side: flat vs HNSW against exact search (with tie tolerance), filters that
still fill k on HNSW, tombstones, the --vector-index setting. Plumbing: synthetic vectors
and the hashing-test encoder; recall on real MiniLM embeddings is benchmarks/ann_1m.py's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from searchkit.cli import cli
from searchkit.index import VECTORS_FILE, Index
from searchkit.store import vectors as vmod
from searchkit.store.vectors import VectorIndex

DIM = 32


def clustered(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    """Unit vectors around 40 centres: neighbourhoods like sentence embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def exact(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int):
    s = q @ x.T
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, top, 1), ids[top]


def recall_with_ties(found, ref_scores, x_by_id, q, k, eps=1e-5) -> float:
    """Share of returned ids that belong to the exact top k, where an id scoring within
    ``eps`` of the exact k-th score counts too (faiss contrib.evaluation's
    check_ref_knn_with_draws: ties may be broken either way)."""
    hit = 0
    for row, ref, qv in zip(found, ref_scores, q):
        kth = ref[k - 1]
        hit += sum(1 for i, _ in row[:k] if float(x_by_id[i] @ qv) >= kth - eps)
    return hit / (len(found) * k)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """OpenMP workers on a busy machine make small builds 10x slower."""
    import faiss

    n = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(n)


@pytest.fixture(scope="module")
def data():
    x = clustered(3000)
    ids = np.arange(1000, 4000, dtype=np.int64)
    q = clustered(50, seed=1)
    return x, ids, q


@pytest.fixture(scope="module")
def hnsw(data):
    """Built once; tests that remove vectors build their own."""
    return build("hnsw", *data[:2])


def build(kind, x, ids):
    v = VectorIndex(DIM, kind)
    v.add(ids, x)
    return v


def test_flat_is_exact(data):
    x, ids, q = data
    ref_s, ref_i = exact(x, ids, q, 10)
    found = build("flat", x, ids).search(q, 10)
    assert [[i for i, _ in r] for r in found] == ref_i.tolist()
    np.testing.assert_allclose([[s for _, s in r] for r in found], ref_s, atol=1e-5)


def test_hnsw_recall_against_exact(data, hnsw):
    x, ids, q = data
    ref_s, _ = exact(x, ids, q, 10)
    found = hnsw.search(q, 10)
    assert all(len(r) == 10 for r in found)
    by_id = dict(zip(ids.tolist(), x))
    assert recall_with_ties(found, ref_s, by_id, q, 10) >= 0.95


@pytest.mark.parametrize("exact_max", [vmod.EXACT_FILTER_MAX, 0])
def test_hnsw_rare_filter_fills_k(data, hnsw, monkeypatch, exact_max):
    """A filter matching few ids returns min(k, matches) hits, the exact ones, whether they
    are scored directly or searched in the graph (and re-scored when it comes back short)."""
    monkeypatch.setattr(vmod, "EXACT_FILTER_MAX", exact_max)
    x, ids, q = data
    v = hnsw
    rng = np.random.default_rng(2)
    for n_allowed in (3, 12, 40):
        allowed = rng.choice(ids, n_allowed, replace=False)
        sub = np.isin(ids, allowed)
        ref_s, ref_i = exact(x[sub], ids[sub], q, 10)
        found = v.search(q, 10, allowed)
        assert all(len(r) == min(10, n_allowed) for r in found)
        for row in found:
            assert {i for i, _ in row} <= set(allowed.tolist())
        if exact_max or any(len(r) < 10 for r in found):
            for row, rs in zip(found, ref_s):  # scored directly: exact
                np.testing.assert_allclose([s for _, s in row], rs[:len(row)], atol=1e-5)
        else:  # found by the filtered graph walk: approximate, like any HNSW search
            k = min(10, n_allowed)
            by_id = dict(zip(ids.tolist(), x))
            assert recall_with_ties(found, ref_s, by_id, q, k) >= 0.9


def test_allowed_ids_missing_from_the_index_are_ignored(data, hnsw):
    x, ids, q = data
    found = hnsw.search(q[:1], 5, np.array([1000, 1001, 99_999], dtype=np.int64))[0]
    assert {i for i, _ in found} == {1000, 1001}


def test_hnsw_tombstones_hidden_and_persisted(data, tmp_path):
    x, ids, q = data
    x, ids = x[:1000], ids[:1000]
    v = build("hnsw", x, ids)
    top = [i for i, _ in v.search(q[:5], 10)[0]]
    v.remove(top[:3] + [123_456])  # an unknown id is no tombstone
    assert v.deleted == set(top[:3]) and len(v) == len(ids) - 3
    for found in (v.search(q[:5], 10), v.search(q[:5], 10, ids[:50])):
        assert all(len(r) == 10 and not {i for i, _ in r} & set(top[:3]) for r in found)
    v.save(tmp_path / VECTORS_FILE, 7, "enc")
    back = VectorIndex.load(tmp_path / VECTORS_FILE, 7, "enc", DIM)
    assert back.kind == "hnsw" and back.deleted == set(top[:3]) and len(back) == len(v)
    assert not back.needs_compaction()
    back.remove(ids[: len(ids) // 4])
    assert back.needs_compaction()


def test_kind_for_threshold_and_override():
    t = vmod.ANN_THRESHOLD
    assert VectorIndex.kind_for(t) == "flat" and VectorIndex.kind_for(t + 1) == "hnsw"
    assert VectorIndex.kind_for(10, "hnsw") == "hnsw"
    assert VectorIndex.kind_for(10 * t, "flat") == "flat"
    with pytest.raises(ValueError):
        VectorIndex.kind_for(10, "ivf")


TEXTS = [f"note {i} about topic{i % 7} and subject{i % 5} with word{i}" for i in range(60)]


def test_index_hnsw_setting_removal_and_switch(tmp_path, hashing):
    path = tmp_path / "idx"
    idx = Index.create(path, encoder="hashing-test", vector_index="hnsw")
    idx.add_texts(TEXTS, [{"id": f"d{i}"} for i in range(len(TEXTS))])
    assert idx.vectors.kind == "hnsw"
    assert json.loads((path / "manifest.json").read_text())["vector_index"] == "hnsw"
    hits = idx.search("topic3 subject1", k=5, group=False, method="dense")
    gone = hits[0].path
    idx.remove([gone])
    after = idx.search("topic3 subject1", k=5, group=False, method="dense")
    assert len(after) == 5 and gone not in {h.path for h in after}
    idx.close()
    with Index.open(path) as ro:  # the tombstones came back from disk
        assert ro.manifest.vector_index == "hnsw" and ro.vectors.deleted
        assert gone not in {h.path for h in ro.search("topic3 subject1", k=5, group=False,
                                                      method="dense")}
    idx = Index.create(path, encoder="hashing-test", vector_index="flat")
    idx.add_texts(["one more note"])
    vec = idx.vectors
    assert vec.kind == "flat" and not vec.deleted
    assert len(vec) == idx.store.count("chunks")
    idx.close()


def test_cli_vector_index_flag(tmp_path, docs):
    path = tmp_path / "idx"
    r = CliRunner().invoke(cli, ["index", str(docs), "--index", str(path), "--encoder",
                                 "hashing-test", "--vector-index", "hnsw", "-q"])
    assert r.exit_code in (0, 3), r.output
    assert json.loads((path / "manifest.json").read_text())["vector_index"] == "hnsw"
    r = CliRunner().invoke(cli, ["index", str(docs), "--index", str(path), "--vector-index",
                                 "ivf"])
    assert r.exit_code == 2 and "ivf" in r.output
