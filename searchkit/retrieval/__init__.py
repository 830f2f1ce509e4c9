"""Retrievers behind one interface (see :mod:`.base`), and rank fusion.

Nothing heavy is imported here: ``REGISTRY[name]`` imports the retriever's module on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module

from ..errors import BadInput

_CLASSES = {
    "tfidf": ("tfidf", "TfidfRetriever"),
    "bm25": ("bm25", "BM25Retriever"),
    "glove": ("glove", "GloveRetriever"),
}


def _load_class(module: str, cls: str):
    return getattr(import_module(f"{__name__}.{module}"), cls)


class _LazyRegistry(Mapping):
    """A read-only ``{name: retriever class}`` that imports each module when asked."""

    def __getitem__(self, name: str):
        if name not in _CLASSES:
            raise KeyError(name)
        return _load_class(*_CLASSES[name])

    def __iter__(self):
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)

    def __repr__(self) -> str:
        return f"REGISTRY({', '.join(_CLASSES)})"


REGISTRY = _LazyRegistry()


def get_retriever(name: str, **options):
    """A new, empty retriever by registry name (``tfidf``, ``bm25``, ``glove``)."""
    if name not in _CLASSES:
        raise BadInput(f"unknown retriever {name!r}: not one of {', '.join(_CLASSES)}")
    return REGISTRY[name](**options)


def __getattr__(attr: str):
    # `from searchkit.retrieval import BM25Retriever, rrf` without eager imports.
    for module, cls in _CLASSES.values():
        if attr == cls:
            return _load_class(module, cls)
    if attr == "rrf":
        from .fusion import rrf

        return rrf
    if attr in ("Retriever", "ScoredId"):
        return getattr(import_module(f"{__name__}.base"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["REGISTRY", "get_retriever", "Retriever", "ScoredId", "rrf",
           "TfidfRetriever", "BM25Retriever", "GloveRetriever"]
