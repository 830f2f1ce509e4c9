"""Encoder registry: a name -> a factory. Heavy imports happen inside the factories."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from collections.abc import Callable

from ..errors import BadInput, BadUsage
from .base import Encoder, TokenVectors, minilm_path


def _st(model_dir=None, id=None):
    import importlib.util

    if importlib.util.find_spec("sentence_transformers") is None:
        raise BadInput("the torch encoder (minilm, tuned models) needs the torch extra: "
                       "pip install 'searchkit[torch]'; the default encoder, minilm-int8, "
                       "does not")
    from .st import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model_dir, id=id)


def _onnx(quantize: bool):
    def make(model_dir=None, id=None):
        from .onnx import OnnxEncoder

        return OnnxEncoder(model_dir, quantize=quantize)

    return make


REGISTRY: dict[str, Callable[..., Encoder]] = {
    "minilm": _st,
    "minilm-onnx": _onnx(False),
    "minilm-int8": _onnx(True),
}

#: Extra encoders for every process that starts with this variable set (subprocesses,
#: Ray workers): ``NAME=MODULE:FACTORY[,NAME=MODULE:FACTORY ...]``, each factory called
#: with no arguments on first use. The tests register ``hashing-test`` this way.
ENCODERS_ENV = "SEARCHKIT_ENCODERS"


def register_encoder(name: str, factory: Callable[[], Encoder]) -> None:
    """Make ``factory()`` the encoder called ``name`` (``--encoder NAME``, an index's
    manifest). Registering a name again replaces it; instances already made are dropped.

    Raises:
        BadInput: a name that could be mistaken for a model path or fingerprint.
    """
    if not name or not isinstance(name, str) or "@" in name or "/" in name:
        raise BadInput(f"encoder name {name!r}: use a plain name (no '@' or '/')")
    REGISTRY[name] = factory
    _cache.pop(name, None)


def _from_target(target: str) -> Callable[[], Encoder]:
    module, _, attr = target.partition(":")

    def make(model_dir=None, id=None):
        from importlib import import_module

        return getattr(import_module(module), attr)()

    return make


def _register_from_env() -> None:
    for item in filter(None, (s.strip() for s in os.environ.get(ENCODERS_ENV, "").split(","))):
        name, _, target = (p.strip() for p in item.partition("="))
        if not name or ":" not in target:
            raise BadInput(f"{ENCODERS_ENV}: {item!r} is not NAME=MODULE:FACTORY")
        register_encoder(name, _from_target(target))

#: The encoder of a new index: int8 ONNX, chosen by benchmarks/default_encoder.py (SciFact
#: test, its figures beside torch's in benchmarks/results/default_encoder.json). No torch.
DEFAULT_ENCODER = "minilm-int8"

_cache: dict[str, Encoder] = {}
_register_from_env()


def get_encoder(name: str | None = None) -> Encoder:
    """An encoder by registry name, by tuned-model name under the index home's ``models/``,
    or by path to a sentence-transformers model directory. Instances are shared.

    A model that is not built in gets the id :func:`encoder_id` gives it, and instances are
    shared by that id, so re-tuning a name never serves the old weights.

    Raises:
        BadUsage: no such encoder or model directory.
        EncoderMismatch: ``NAME@FINGERPRINT`` names a model whose weights have changed.
    """
    name = name or DEFAULT_ENCODER
    if name in _cache:
        return _cache[name]
    if name in REGISTRY:
        enc = _cache[name] = REGISTRY[name]()
        return enc
    eid = encoder_id(name)
    if eid not in _cache:
        _cache[eid] = _st(resolve_model_path(_split_fingerprint(name)[0]), id=eid)
    return _cache[eid]


def resolve_model_path(name: str) -> Path:
    """Path of a tuned model given by name (``indexes/models/NAME``) or path."""
    from ..config import models_home

    for p in (Path(name), models_home() / name):
        if (p / "config.json").exists() or (p / "modules.json").exists():
            return p.resolve()
    known = ", ".join(REGISTRY)
    raise BadUsage(f"unknown encoder {name!r}: not one of {known}, nor a model directory "
                   f"(tuned models are looked up in {models_home()})")


def encoder_id(name: str | None = None) -> str:
    """The id an index manifest records for the encoder ``name``, without loading it.

    Built-in encoders are their registry name. A tuned or local model is
    ``LABEL@FINGERPRINT``: LABEL is its name when it lives in the models home
    (``indexes/models/LABEL``), else its absolute path; FINGERPRINT is the first 12 hex
    digits of the sha256 of its weights. The same weights always give the same id, however
    they were named, and re-tuned weights never pass for the old ones.

    Raises:
        BadInput: no such encoder.
        EncoderMismatch: ``name`` carries a fingerprint its model no longer has.
    """
    from ..config import models_home

    name = name or DEFAULT_ENCODER
    if name in REGISTRY:
        return name
    base, want = _split_fingerprint(name)
    path = resolve_model_path(base)
    label = path.name if path.parent == models_home().resolve() else str(path)
    have = model_fingerprint(path)
    if want and want != have:
        from ..errors import EncoderMismatch

        raise EncoderMismatch(
            f"model {base!r} has changed since it was used as {name!r} (its weights are now "
            f"{label}@{have}); rebuild the index with: search index PATHS --encoder {base} "
            f"--rebuild")
    return f"{label}@{have}"


def same_encoder(name: str | None, recorded: str) -> bool:
    """Whether the encoder ``name`` is the one an index recorded as ``recorded`` (an
    unknown or changed model is not)."""
    from ..errors import SearchkitError

    if (name or DEFAULT_ENCODER) == recorded:
        return True
    try:
        return encoder_id(name) == recorded
    except SearchkitError:
        return False


_FP = re.compile(r"[0-9a-f]{12}")


def _split_fingerprint(name: str) -> tuple[str, str | None]:
    base, _, fp = name.rpartition("@")
    if base and _FP.fullmatch(fp) and not Path(name).exists():
        return base, fp
    return name, None


_digests: dict[tuple, str] = {}


def model_fingerprint(path: Path) -> str:
    """First 12 hex digits of the sha256 of a model directory's weight files, remembered
    per (path, size, mtime) within the process."""
    files = [path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).exists()]
    files = files or sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    if not files:
        raise BadInput(f"{path}: no model weights (model.safetensors or pytorch_model.bin)")
    key = tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if key not in _digests:
        h = hashlib.sha256()
        for f in files:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        _digests[key] = h.hexdigest()[:12]
    return _digests[key]


__all__ = ["Encoder", "TokenVectors", "get_encoder", "encoder_id", "same_encoder",
           "resolve_model_path", "model_fingerprint", "REGISTRY", "DEFAULT_ENCODER", "minilm_path",
           "register_encoder", "ENCODERS_ENV"]
