"""``--engine ray``: a real Ray (in this process, and a two-node cluster on 127.0.0.1) reads,
chunks and embeds; the index it writes equals the local path's, also after a worker dies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Ray reads its authentication settings once, on import: a token of this session's own,
# so that nothing is read from or written to ~/.ray.
if "RAY_AUTH_TOKEN" not in os.environ:
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = os.urandom(16).hex()

from searchkit import Index  # noqa: E402
from searchkit.engines.ray_ingest import RayPipeline, _loopback, ray_available  # noqa: E402

if not ray_available():
    pytest.skip("Ray Data is not installed (pip install 'searchkit[ray]')",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_corpus"


@pytest.fixture(scope="module")
def ray_local():
    """One in-process Ray for the module (bound to 127.0.0.1); pipelines use it. Its
    token is the test's own (nothing read from or written to ~/.ray)."""
    import ray

    with _loopback(True):
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _table(idx: Index) -> list[tuple]:
    return list(idx.store.db.execute(
        "SELECT c.id, d.path, d.content_hash, c.ord, c.text, c.start_char, c.end_char, "
        "c.start_line, c.end_line, c.page, c.heading, c.n_tokens FROM chunks c "
        "JOIN documents d ON d.id = c.doc_id ORDER BY c.id"))


def _vectors(idx: Index) -> tuple[np.ndarray, np.ndarray]:
    ids, vecs = [], []
    for i, v in idx.store.iter_chunk_vectors(idx.vector_key, idx.manifest.dim):
        ids.append(i)
        vecs.append(v)
    return np.concatenate(ids), np.concatenate(vecs)


def assert_same_index(a: Index, b: Index, tol: float = 1e-5) -> None:
    ta, tb = _table(a), _table(b)
    assert ta and ta == tb
    ia, va = _vectors(a)
    ib, vb = _vectors(b)
    assert np.array_equal(ia, ib)
    assert np.abs(va - vb).max() <= tol
    assert len(a.vectors) == len(b.vectors) == len(ta)
    # highlight sentence vectors: stored for the same texts (where the encoder makes them)
    sa, sb = (sorted(h for (h,) in x.store.db.execute(
        "SELECT text_hash FROM sentence_vectors WHERE encoder = ?", [x.vector_key]))
        for x in (a, b))
    assert sa == sb


def _pair(tmp_path, encoder="hashing-test"):
    return (Index.create(tmp_path / "local", encoder=encoder),
            Index.create(tmp_path / "ray", encoder=encoder))


def test_same_index_as_local_path_and_same_sync(ray_local, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    local, dist = _pair(tmp_path)
    pipe = RayPipeline(actors=2)
    ra, rb = local.add_paths([corpus]), dist.add_paths([corpus], pipeline=pipe)
    assert (len(ra.new), ra.chunks_added, ra.skipped) == (len(rb.new), rb.chunks_added,
                                                         rb.skipped)
    assert rb.chunks_embedded == ra.chunks_embedded > 50
    assert_same_index(local, dist)
    # A sync: one file changed, one deleted, one moved, the rest unchanged.
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    files[0].write_text(files[0].read_text() + "\nA new closing line about river deltas.\n")
    files[1].unlink()
    files[2].rename(files[2].with_name("moved-" + files[2].name))
    ra, rb = local.add_paths([corpus]), dist.add_paths([corpus], pipeline=pipe)
    assert (ra.changed, ra.deleted, ra.renamed, len(ra.unchanged)) == \
        (rb.changed, rb.deleted, rb.renamed, len(rb.unchanged))
    assert len(rb.changed) == 1 and len(rb.deleted) == 1 and len(rb.renamed) == 1
    assert_same_index(local, dist)
    # Nothing changed: Ray is not even asked.
    rb = dist.add_paths([corpus], pipeline=pipe)
    assert (rb.chunks_added, rb.chunks_embedded, len(rb.new)) == (0, 0, 0)
    local.close()
    dist.close()


def test_bad_files_are_skipped_as_locally(ray_local, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Rivers carry sand to the sea.\n")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (corpus / "blank.md").write_text("   \n\n")
    local, dist = _pair(tmp_path)
    ra, rb = local.add_paths([corpus]), dist.add_paths([corpus], pipeline=RayPipeline())
    key = lambda s: (s.path, s.reason)  # noqa: E731
    assert sorted(ra.skipped, key=key) == sorted(rb.skipped, key=key)
    assert len(rb.skipped) >= 1
    assert rb.new == ra.new
    assert_same_index(local, dist)


def test_long_file_in_segments_as_locally(ray_local, tmp_path, monkeypatch):
    """A text longer than SEGMENT_CHARS comes back from the reader actors as its segments
    (parts sharing one document row); the index equals the local path's, and the document
    is finished (not marked partial). Over KEEP_BYTES, its bytes are read again by the
    reader actor (within max_bytes), as the local reader does."""
    from searchkit import writer
    from searchkit.pipeline import SEGMENT_CHARS

    # KEEP_BYTES is the driver's (the actors only segment): lowered to two segments' worth,
    # the file that passes both is under half the size (1 MiB by default), and so the time
    KEEP_BYTES = 2 * SEGMENT_CHARS
    monkeypatch.setattr(writer, "KEEP_BYTES", KEEP_BYTES)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    words = "river delta sand silt flood bank meander estuary tide basin".split()
    paras = [" ".join(words[(i + j) % len(words)] for j in range(60)) + f" p{i}."
             for i in range(KEEP_BYTES // 300)]
    (corpus / "long.txt").write_text("\n\n".join(paras) + "\n")
    (corpus / "short.txt").write_text("The estuary mixes salt and fresh water.\n")
    assert (corpus / "long.txt").stat().st_size > max(KEEP_BYTES, 2 * SEGMENT_CHARS)
    local, dist = _pair(tmp_path)
    ra, rb = local.add_paths([corpus]), dist.add_paths([corpus], pipeline=RayPipeline())
    assert sorted(rb.new) == sorted(ra.new) and len(rb.new) == 2 and not rb.skipped
    assert_same_index(local, dist)
    row = dist.store.document_by_path(str(corpus / "long.txt"))
    assert row["content_hash"] != "partial" and row["size"] > 0
    local.close()
    dist.close()


def test_killed_worker_loses_and_duplicates_nothing(ray_local, tmp_path, monkeypatch):
    import psutil

    monkeypatch.setenv("SEARCHKIT_COMMIT_CHUNKS", "4")  # many commits
    corpus = tmp_path / "many"
    corpus.mkdir()
    words = "river delta sand silt flood bank meander estuary tide basin".split()
    for i in range(120):
        (corpus / f"doc{i:03d}.txt").write_text(
            " ".join(words[(i + j) % len(words)] for j in range(40 + i % 30)) + f" n{i}\n")
    local, dist = _pair(tmp_path)
    local.add_paths([corpus])
    killed: list[int] = []

    def kill_one_worker(phase, n, total):
        """At the first group written: one encoder actor and one reader actor."""
        if killed or total is not None:
            return
        for kind in ("SearchkitEncoder", "SearchkitIngest"):
            for p in psutil.process_iter(["pid", "cmdline"]):
                if kind in " ".join(p.info["cmdline"] or []):
                    os.kill(p.info["pid"], signal.SIGKILL)
                    killed.append(kind)
                    break

    report = dist.add_paths([corpus], pipeline=RayPipeline(actors=2, docs_per_batch=2),
                            progress=kill_one_worker)
    assert killed == ["SearchkitEncoder", "SearchkitIngest"], killed
    assert len(report.new) == 120 and not report.skipped
    dups = dist.store.db.execute("SELECT doc_id, ord, count(*) FROM chunks "
                                 "GROUP BY doc_id, ord HAVING count(*) > 1").fetchall()
    assert dups == []
    assert_same_index(local, dist)


def test_cli_engine_ray(ray_local, tmp_path):
    from click.testing import CliRunner

    from searchkit.cli import cli

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The estuary mixes salt and fresh water.\n")
    r = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "i"),
                                 "--encoder", "hashing-test", "--engine", "ray", "-q"])
    assert r.exit_code == 0, r.output
    with Index.open(tmp_path / "i") as idx:
        assert idx.stats()["chunks"] == 1
    r = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "j"),
                                 "--encoder", "hashing-test", "--address", "127.0.0.1:1"])
    assert r.exit_code == 2 and "--engine ray" in r.output


@pytest.mark.slow
def test_same_vectors_as_local_with_minilm_int8(ray_local, tmp_path, onnx_export,
                                                onnx_cache, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))  # reaches the actors too
    onnx_export(True)
    local, dist = _pair(tmp_path, encoder="minilm-int8")
    local.add_paths([SAMPLE])
    dist.add_paths([SAMPLE], pipeline=RayPipeline(actors=2))
    assert_same_index(local, dist, tol=1e-5)
    assert dist.store.db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0] > 0


# -- a cluster: a head and a second node, both on 127.0.0.1 ------------------------------

@pytest.mark.slow
def test_two_node_cluster_on_loopback(tmp_path):
    from searchkit.engines.ray_local import LocalCluster

    cluster = LocalCluster(nodes=2, log=tmp_path / "ray.log")
    with cluster as address:
        if address is None:
            pytest.skip(f"a two-node Ray cluster could not start here (see "
                        f"{tmp_path / 'ray.log'})")
        corpus = tmp_path / "corpus"
        shutil.copytree(SAMPLE, corpus)
        r = subprocess.run([sys.executable, "-m", "searchkit", "index", str(corpus),
                            "--index", str(tmp_path / "ray-idx"), "--encoder", "hashing-test",
                            "--engine", "ray", "--address", address, "--actors", "2", "-q"],
                           env=cluster.env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stderr[-3000:]
        listening = cluster.listening()
        assert listening and {ip for ip, _ in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}
    local = Index.create(tmp_path / "local", encoder="hashing-test")
    local.add_paths([corpus])
    with Index.open(tmp_path / "ray-idx") as dist:
        assert_same_index(local, dist)
