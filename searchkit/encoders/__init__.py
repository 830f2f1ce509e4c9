"""Encoder registry: a name -> a factory. Heavy imports happen inside the factories."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import BadInput
from .base import Encoder, TokenVectors, minilm_path


def _st(model_dir=None, id=None):
    from .st import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model_dir, id=id)


def _onnx(quantize: bool):
    def make(model_dir=None, id=None):
        from .onnx import OnnxEncoder

        return OnnxEncoder(model_dir, quantize=quantize)

    return make


def _hashing(model_dir=None, id=None):
    from .hashing import HashingEncoder

    return HashingEncoder(model_dir)


REGISTRY: dict[str, Callable[..., Encoder]] = {
    "minilm": _st,
    "minilm-onnx": _onnx(False),
    "minilm-int8": _onnx(True),
    "hashing-test": _hashing,  # no semantics: for tests of the plumbing only
}

DEFAULT_ENCODER = "minilm"

_cache: dict[str, Encoder] = {}


def get_encoder(name: str | None = None) -> Encoder:
    """An encoder by registry name, by tuned-model name under the index home's ``models/``,
    or by path to a sentence-transformers model directory. Instances are shared."""
    name = name or DEFAULT_ENCODER
    if name in _cache:
        return _cache[name]
    if name in REGISTRY:
        enc = REGISTRY[name]()
    else:
        path = resolve_model_path(name)
        enc = _st(path, id=name)
    _cache[name] = enc
    return enc


def resolve_model_path(name: str) -> Path:
    """Path of a tuned model given by name (``indexes/models/NAME``) or path."""
    from ..config import models_home

    for p in (Path(name), models_home() / name):
        if (p / "config.json").exists() or (p / "modules.json").exists():
            return p.resolve()
    known = ", ".join(REGISTRY)
    raise BadInput(f"unknown encoder {name!r}: not one of {known}, nor a model directory")


__all__ = ["Encoder", "TokenVectors", "get_encoder", "REGISTRY", "DEFAULT_ENCODER", "minilm_path"]
