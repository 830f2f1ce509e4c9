"""Hybrid retrieval: several retrievers' rankings fused into one, by standardised scores
(default) or by reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BadInput, BadUsage
from .base import Allowed, ScoredId, check_k
from .fusion import rrf, zscore

#: Each fused retriever ranks at least this many ids, however few hits are asked for, so
#: that the z-scores stand on lists this long and a query's fused order does not depend on
#: its ``k`` (up to ``k`` = DEPTH). Chosen on the dev sets of issue #17 (nDCG@10, depth 100
#: / 200 / 300: SciFact train 0.7335 / 0.7381 / 0.7400, pydocs 0.5574 / 0.5660 / 0.5736,
#: manpages 0.8590 / 0.8609 / 0.8589; benchmarks/results/levers_*.json, ``hybrid_depth*``):
#: 200 wins over 100 on all three, 300 loses to 200 on manpages and costs more (warm
#: default query on SciFact, p50: 8.102 and 7.898 ms at 200 against 6.848 and 6.652 ms at 100
#: in the same runs; 9.825 ms at 300 against 6.937 ms: benchmarks/results/warm_query_depth.json,
#: benchmarks/RESULTS_eval.md, "Fusion depth").
DEPTH = 200
#: Methods hybrid fuses when none are named, with equal weights.
DEFAULT_FUSE = ("dense", "bm25")
DEFAULT_RRF_K = 60.0
#: How the rankings are combined: ``zscore`` (each method's scores standardised over its
#: ranking, then their weighted mean: :func:`~searchkit.retrieval.fusion.zscore`) or ``rrf``
#: (reciprocal rank fusion, :func:`~searchkit.retrieval.fusion.rrf`). ``zscore`` was chosen
#: on the dev sets of issue #17 (benchmarks/levers.py; benchmarks/RESULTS_eval.md).
COMBINES = ("zscore", "rrf")
DEFAULT_COMBINE = "zscore"
#: A keyword (bm25) result counts ``coverage ** power`` of its share (under ``zscore``: of
#: how far it stands above its list's lowest z; under ``rrf``: of its RRF share), where
#: coverage is the share of the query's terms the text holds: a text that shares one
#: incidental word with a paraphrased question earns little. Power 1 with ``zscore`` was
#: the best of 0, 1 and 3 on all three dev sets (SciFact train, pydocs, manpages:
#: benchmarks/results/levers_*.json, benchmarks/RESULTS_eval.md); under ``rrf`` power 3 had
#: been chosen (benchmarks/fusion_coverage.py), and stays its default.
COVERAGE_POWER = {"zscore": 1.0, "rrf": 3.0}
#: The dense ranking hybrid fuses scores a passage ``(1 - w) * cosine + w * best sentence's
#: cosine`` (the sentence vectors stored for highlights; see retrieval/dense.py
#: SentenceEvidence); 0 = the passage's cosine alone. Per ``combine``: with ``zscore`` the
#: weight was chosen on the three dev sets of issue #17 (benchmarks/results/levers_*.json,
#: ``hybrid_sent*`` vs ``hybrid_nosent``; benchmarks/RESULTS_eval.md, "Sentence evidence
#: by default"); ``rrf`` keeps 0, so that ``combine="rrf"`` stays the fusion it was.
SENTENCE_WEIGHT = {"zscore": 0.5, "rrf": 0.0}
#: The default fusion's sentence weight.
DEFAULT_SENTENCE_WEIGHT = SENTENCE_WEIGHT[DEFAULT_COMBINE]
#: When hybrid ranks documents (one hit per document: ``search query``, eval), a document's
#: fused score pays ``prior * ln(its number of chunks)``. A document scored by its best chunk
#: gets as many tries as it has chunks, so long pages (a reference of hundreds of chunks) win
#: places in a top 5 on incidental overlap alone. Per ``combine``: with ``zscore`` 0.1 was
#: chosen on the dev sets of issue #17 as the largest of 0.05 / 0.1 / 0.15 / 0.2 / 0.3 that
#: gains on each (nDCG@10 SciFact train 0.7381 -> 0.7398, pydocs 0.5660 -> 0.5670, manpages
#: 0.8609 -> 0.8617; SQLite docs dev questions, top 5: 46 -> 47 of 60, MRR@5 0.594 -> 0.617;
#: 0.2 gains more on the docs, 50 of 60, but loses on pydocs: benchmarks/results/levers_*.json,
#: benchmarks/results/docset_length_prior.json; benchmarks/RESULTS_eval.md, "Long documents");
#: ``rrf`` keeps 0 (its scores are on another scale).
LENGTH_PRIOR = {"zscore": 0.1, "rrf": 0.0}


@dataclass(frozen=True)
class Fusion:
    """What ``hybrid`` fuses: method names, one weight each, how, and the RRF constant.

    Attributes:
        methods: retriever names (``dense``, ``bm25``, ``tfidf``, ``glove``).
        weights: one per method (default all 1).
        k: the RRF constant (``combine="rrf"`` only).
        combine: ``zscore`` (standardised scores, weighted mean) or ``rrf`` (ranks).
        coverage_power: a keyword result counts ``coverage ** power`` of its share
            (default :data:`COVERAGE_POWER` of ``combine``).
        sentence_weight: the weight of a passage's best sentence in its dense score
            (default :data:`SENTENCE_WEIGHT` of ``combine``).
        length_prior: what a document's fused score pays per unit of ln(its chunks) when
            documents are ranked (default :data:`LENGTH_PRIOR` of ``combine``).
    """

    methods: tuple[str, ...] = DEFAULT_FUSE
    weights: tuple[float, ...] | None = None
    k: float = DEFAULT_RRF_K
    coverage_power: float | None = None  # None: COVERAGE_POWER[combine]
    sentence_weight: float | None = None  # None: SENTENCE_WEIGHT[combine]
    combine: str = DEFAULT_COMBINE
    length_prior: float | None = None  # None: LENGTH_PRIOR[combine]

    def __post_init__(self):
        import math

        if isinstance(self.methods, str) or not hasattr(self.methods, "__iter__") or not all(
                isinstance(m, str) for m in self.methods):
            raise BadInput(f"fused methods must be names (dense, bm25 ...), not {self.methods!r}")
        methods = tuple(self.methods)
        if not methods:
            raise BadUsage("hybrid needs at least one method to fuse")
        if "hybrid" in methods:
            raise BadUsage("hybrid cannot fuse itself")
        if len(set(methods)) != len(methods):
            raise BadUsage(f"a method is named twice in {','.join(methods)}")
        if self.combine not in COMBINES:
            raise BadUsage(f"fusion must be one of {', '.join(COMBINES)}, not {self.combine!r}")
        if self.coverage_power is None:
            object.__setattr__(self, "coverage_power", COVERAGE_POWER[self.combine])
        if self.sentence_weight is None:
            object.__setattr__(self, "sentence_weight", SENTENCE_WEIGHT[self.combine])
        if self.length_prior is None:
            object.__setattr__(self, "length_prior", LENGTH_PRIOR[self.combine])
        try:
            weights = (tuple(float(w) for w in self.weights) if self.weights is not None
                       else None)
            k, power = float(self.k), float(self.coverage_power)
            sentence = float(self.sentence_weight)
            prior = float(self.length_prior)
        except (TypeError, ValueError):
            raise BadUsage(f"fusion weights and RRF k must be numbers, not "
                           f"{self.weights!r} / {self.k!r}") from None
        if not all(math.isfinite(x) for x in (*(weights or ()), k, power, sentence, prior)):
            raise BadUsage("fusion weights and RRF k must be finite numbers")
        if weights is not None:
            if len(weights) != len(methods):
                raise BadUsage(f"{len(weights)} weights for {len(methods)} fused methods")
            if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
                raise BadUsage("fusion weights must be >= 0, at least one > 0")
        if k < 0:
            raise BadUsage(f"RRF constant k must be >= 0, got {self.k}")
        if power < 0:
            raise BadUsage(f"coverage power must be >= 0, got {self.coverage_power}")
        if not 0 <= sentence <= 1:
            raise BadUsage(f"sentence weight must lie in [0, 1], got {self.sentence_weight}")
        if prior < 0:
            raise BadUsage(f"length prior must be >= 0, got {self.length_prior}")
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "k", float(self.k))
        object.__setattr__(self, "coverage_power", power)
        object.__setattr__(self, "sentence_weight", sentence)
        object.__setattr__(self, "length_prior", prior)

    @classmethod
    def parse(cls, fuse: str | Sequence[str] | None = None,
              weights: str | Sequence[float] | None = None,
              k: float | None = None, combine: str | None = None) -> "Fusion":
        """From CLI-style values: ``"dense,bm25"``, ``"1,0.5"``, ``60``, ``"rrf"``; None =
        default. An RRF constant without ``combine`` means ``rrf``."""
        if isinstance(fuse, str):
            fuse = [m.strip() for m in fuse.split(",") if m.strip()]
        if isinstance(weights, str):
            try:
                weights = [float(w) for w in weights.split(",") if w.strip()]
            except ValueError:
                raise BadUsage(f"weights must be numbers separated by commas: {weights!r}") from None
        for name, v in (("fused methods", fuse), ("weights", weights)):
            if v is not None and not hasattr(v, "__iter__"):
                raise BadUsage(f"{name} must be a list or a comma-separated string, not {v!r}")
        return cls(methods=tuple(fuse) if fuse else DEFAULT_FUSE,
                   weights=tuple(weights) if weights else None,
                   k=DEFAULT_RRF_K if k is None else k,
                   combine=combine or ("rrf" if k is not None else DEFAULT_COMBINE))

    def to_dict(self) -> dict:
        return {"methods": list(self.methods),
                "weights": list(self.weights or [1.0] * len(self.methods)), "k": self.k,
                "coverage_power": self.coverage_power, "sentence_weight": self.sentence_weight,
                "combine": self.combine, "length_prior": self.length_prior}


class HybridRetriever:
    """Fuses the rankings of ``parts`` by weighted reciprocal rank fusion.

    Args:
        parts: ``{name: retriever}`` in fusion order.
        fusion: the weights and RRF constant (its ``methods`` name ``parts``' keys).
        group_of: optional ``ids -> {id: group}`` (a chunk's document). When given, ranks are
            counted over groups (a document's rank in a list is the rank of its best chunk
            among documents) and one id per group comes back: the group's best-fused id,
            with the group's fused score. Without it, ids are fused as they are.
        group_size: optional ``groups -> {group: its number of ids}`` (a document's chunks),
            for ``fusion.length_prior``; without it no prior is paid.
    """

    name = "hybrid"

    def __init__(self, parts: Mapping[str, Any], fusion: Fusion | None = None,
                 group_of: Callable[[list[int]], dict[int, int]] | None = None,
                 group_size: Callable[[list[int]], dict[int, int]] | None = None):
        self.parts = dict(parts)
        self.fusion = fusion or Fusion(methods=tuple(self.parts))
        self.group_of, self.group_size = group_of, group_size

    def search(self, query: str, k: int, allowed: Allowed = None) -> list[ScoredId]:
        k = check_k(k)
        if k == 0:
            return []
        depth = max(k, DEPTH)
        rankings = [self.parts[m].search(query, depth, allowed) for m in self.fusion.methods]
        items = [self._item_weights(m, query, r) for m, r in zip(self.fusion.methods, rankings)]
        if self.group_of is None:
            return self._fuse(rankings, items, limit=k)
        return self._fuse_groups(self.group_of, rankings, k, items)

    def _fuse(self, rankings, items, limit: int | None = None) -> list[ScoredId]:
        f = self.fusion
        if f.combine == "rrf":
            return rrf(rankings, k=f.k, weights=f.weights, limit=limit, item_weights=items)
        return zscore(rankings, weights=f.weights, limit=limit, item_weights=items)

    def _item_weights(self, method: str, query: str, ranking) -> dict[int, float] | None:
        part = self.parts[method]
        power = self.fusion.coverage_power or 0.0  # set by Fusion.__post_init__
        if power <= 0 or not hasattr(part, "coverage") or not ranking:
            return None
        cov = part.coverage(query, [i for i, _ in ranking])
        return {i: c ** power for i, c in cov.items()}

    def _fuse_groups(self, group_of, rankings, k: int, items) -> list[ScoredId]:
        group = group_of(list({i for r in rankings for i, _ in r}))
        by_id = self._fuse(rankings, items)
        best: dict[int, int] = {}  # group -> its best-fused id
        for i, _ in by_id:
            best.setdefault(group.get(i, -1 - i), i)
        grouped, grouped_items = [], []
        for ranking, per_item in zip(rankings, items):
            seen, out, weights = set(), [], {}
            for i, s in ranking:
                g = group.get(i, -1 - i)
                if g not in seen:
                    seen.add(g)
                    out.append((g, s))
                    if per_item is not None:
                        weights[g] = per_item.get(i, 1.0)
            grouped.append(out)
            grouped_items.append(weights if per_item is not None else None)
        prior = self.fusion.length_prior or 0.0  # set by Fusion.__post_init__
        if prior <= 0 or self.group_size is None:
            fused = self._fuse(grouped, grouped_items, limit=k)
            return [ScoredId(best[g], s) for g, s in fused]
        return [ScoredId(best[g], s)
                for g, s in self._pay_prior(self._fuse(grouped, grouped_items), k, prior)]

    def _pay_prior(self, fused: list[ScoredId], k: int, prior: float) -> list[tuple[int, float]]:
        """The best ``k`` of ``fused`` (groups, best first) once each has paid ``prior *
        ln(its size)``. A price is never negative, so once the next group's unpaid score is
        below the k-th paid score no later group can enter: only the head is counted."""
        import math

        paid: list[tuple[int, float]] = []
        pos, step = 0, 2 * k + 8
        while pos < len(fused):
            batch = fused[pos:pos + step]
            pos += len(batch)
            size = self.group_size([g for g, _ in batch if g >= 0]) if self.group_size else {}
            paid.extend((g, s - prior * math.log(max(1, size.get(g, 1)))) for g, s in batch)
            paid.sort(key=lambda x: (-x[1], x[0]))
            if len(paid) >= k and pos < len(fused) and fused[pos][1] < paid[k - 1][1]:
                break
        return paid[:k]

    def __len__(self) -> int:
        return max((len(p) for p in self.parts.values()), default=0)


def hybrid_method(index, fusion: Fusion | None = None,
                  by_document: bool = False) -> HybridRetriever:
    """The ``hybrid`` search method (registered in :data:`searchkit.retrieval.METHODS`): the
    retrievers of ``fusion.methods`` over ``index``, fused.

    Args:
        by_document: fuse document ranks and return each document's best chunk only (what
            a grouped search wants), instead of fusing chunk ranks.
    """
    from . import check_method

    fusion = fusion or Fusion()
    for m in fusion.methods:
        check_method(m)
    parts = {m: index.retriever(m) for m in fusion.methods}
    sentence = fusion.sentence_weight or 0.0  # set by Fusion.__post_init__
    if sentence > 0 and "dense" in parts:
        from .dense import SentenceEvidence

        parts["dense"] = SentenceEvidence(
            parts["dense"], lambda ids: index.store.sentence_vectors(index.vector_key, ids),
            sentence,
            matrix=(lambda: index.sentence_matrix) if hasattr(index, "sentence_matrix")
            else None)
    if not by_document:
        return HybridRetriever(parts, fusion)
    return HybridRetriever(parts, fusion, group_of=index.store.doc_ids_of_chunks,
                           group_size=getattr(index.store, "chunks_per_document", None))
