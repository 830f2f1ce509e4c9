"""Real MiniLM vectors for the query and ANN benchmarks, and larger sets derived from them.

- :func:`source_index`: an index of SciFact holding real chunk texts and their encoder's
  vectors: ``--source DIR`` if given, else the one ``search eval`` builds
  (``indexes/eval/scifact-<encoder>-256-32``), else the first ``fallback_docs`` SciFact
  documents indexed now into a temporary folder.
- :func:`chunk_vectors`: ``(texts, vectors)`` of every chunk of such an index.
- :func:`derive`: ``n`` vectors from the real ones, two ways (see its docstring).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path("/work/shared/eval/scifact")
#: The noise added to a real vector in ``jitter`` mode: v + JITTER * g / sqrt(d), g ~ N(0, I),
#: normalised; the copy keeps a cosine of ~1 / sqrt(1 + JITTER^2) = 0.94 to its original.
JITTER = 0.35


def write_docs(folder: Path, n: int) -> Path:
    """The first ``n`` SciFact documents as one text file each (title, blank line, text)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == n:
                break
            d = json.loads(line)
            (folder / f"{d['_id']}.txt").write_text(f"{d.get('title', '')}\n\n{d['text']}\n")
    return folder


def source_index(encoder: str, source: Path | None, tmp: Path, fallback_docs: int = 300) -> Path:
    if source:
        return source
    built = ROOT / "indexes" / "eval" / f"scifact-{encoder}-256-32"
    if (built / "index.db").exists():
        return built
    docs = write_docs(tmp / "scifact-docs", fallback_docs)
    path = tmp / "source-idx"
    exe = Path(sys.executable).with_name("search")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]
    subprocess.run([*cmd, "index", str(docs), "--index", str(path), "--encoder", encoder,
                    "-q"], check=True)
    return path


def chunk_vectors(index: Path) -> tuple[list[str], np.ndarray, str]:
    """Texts and vectors of every chunk of the index at ``index`` (and its encoder)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{index / 'index.db'}?mode=ro", uri=True)
    meta = dict(conn.execute("SELECT key, value FROM manifest WHERE key IN "
                             "('encoder', 'encoder_revision')").fetchall())
    encoder = json.loads(meta["encoder"])
    revision = json.loads(meta.get("encoder_revision", '""'))
    key = f"{encoder}#{revision}" if revision else encoder  # Index.vector_key
    rows = conn.execute("SELECT c.text, e.vector FROM chunks c JOIN embeddings e ON "
                        "e.text_hash = c.text_hash AND e.encoder = ? ORDER BY c.id",
                        [key]).fetchall()
    conn.close()
    texts = [r[0] for r in rows]
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return texts, vecs.copy(), encoder


def queries(n: int) -> list[str]:
    out = []
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if len(out) == n:
                break
    return out


def derive(real: np.ndarray, n: int, mode: str = "jitter", seed: int = 0,
           batch: int = 100_000):
    """Yield ``n`` unit vectors derived from ``real`` (rows of real model outputs), in
    batches, with the index of the real vector each one copies (-1 for ``gauss``).

    - ``jitter``: the real vectors first, then copies cycling through them, each
      ``normalise(v + JITTER * g / sqrt(d))`` with fresh Gaussian ``g`` (cosine ~0.94 to
      its original): clusters of near-duplicates around every real chunk.
    - ``mix``: the real vectors first, then ``normalise(l * v_i + (1 - l) * v_j
      + 0.1 g / sqrt(d))`` for random real i, j and l ~ U(0, 1): points spread between
      real ones, along the directions real vectors span, with no near-duplicate clusters.
    - ``gauss``: samples of a Gaussian with the real vectors' mean and covariance,
      normalised: the same anisotropy (MiniLM vectors share a strong common direction),
      no duplicates, but no cluster structure either (the hardest case for a graph index).

    ``jitter`` makes ~n/len(real) near-copies of every real vector: clusters of near
    duplicates, which HNSW handles badly (measured recall@10 0.3-0.5 at 20k from 112 real
    vectors) and real corpora do not have; it suits latency tests, not recall tests.
    """
    rng = np.random.default_rng(seed)
    d = real.shape[1]
    if mode == "gauss":
        mean = real.mean(axis=0)
        cov = np.cov(real, rowvar=False)
        w, v = np.linalg.eigh(cov)
        root = v * np.sqrt(np.clip(w, 0, None))
    done = 0
    while done < n:
        m = min(batch, n - done)
        if mode == "jitter":
            src = (np.arange(done, done + m) % len(real))
            x = real[src].astype(np.float64)
            fresh = np.arange(done, done + m) >= len(real)
            x[fresh] += JITTER * rng.standard_normal((int(fresh.sum()), d)) / np.sqrt(d)
        elif mode == "mix":
            src = (np.arange(done, done + m) % len(real))
            x = real[src].astype(np.float64)
            fresh = np.arange(done, done + m) >= len(real)
            k = int(fresh.sum())
            lam = rng.uniform(0, 1, (k, 1))
            x[fresh] = (lam * real[rng.integers(0, len(real), k)]
                        + (1 - lam) * real[rng.integers(0, len(real), k)]
                        + 0.1 * rng.standard_normal((k, d)) / np.sqrt(d))
        elif mode == "gauss":
            src = np.full(m, -1)
            x = mean + rng.standard_normal((m, d)) @ root.T
        else:
            raise ValueError(f"unknown mode {mode!r} (jitter, mix, gauss)")
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x.astype(np.float32), src
        done += m
