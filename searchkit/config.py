"""Settings: flag > environment variable > default, and the index manifest's contents."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The files of an index directory.
DB_FILE = "index.db"
VECTORS_FILE = "vectors.faiss"
SENTENCES_FILE = "sentences.i8"
MANIFEST_FILE = "manifest.json"


FORMAT_VERSION = 1

#: Files larger than this are skipped (bytes); ``SEARCHKIT_MAX_FILE_MB`` overrides.
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024


def index_home() -> Path:
    """Folder that holds indexes and tuned models: ``$SEARCHKIT_HOME``, else the per-user
    data folder (platformdirs: ``~/.local/share/searchkit`` on Linux,
    ``~/Library/Application Support/searchkit`` on macOS, ``%LOCALAPPDATA%\\searchkit`` on
    Windows), so that an index never lands in (and mixes with) the folder a user indexes."""
    env = os.environ.get("SEARCHKIT_HOME")
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_data_path("searchkit", appauthor=False)


def default_index_path() -> Path:
    """``$SEARCHKIT_INDEX`` or ``<index home>/default``."""
    env = os.environ.get("SEARCHKIT_INDEX")
    return Path(env) if env else index_home() / "default"


def models_home() -> Path:
    """Where ``search tune`` saves models: ``<index home>/models``."""
    return index_home() / "models"


def cache_home() -> Path:
    """Per-user cache (ONNX exports ...): ``$SEARCHKIT_CACHE`` or ``~/.cache/searchkit``."""
    return Path(os.environ.get("SEARCHKIT_CACHE") or Path.home() / ".cache" / "searchkit")


def max_file_bytes() -> int:
    env = os.environ.get("SEARCHKIT_MAX_FILE_MB")
    return int(float(env) * 1024 * 1024) if env else DEFAULT_MAX_FILE_BYTES


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut. Sizes are in the encoder's tokens, special tokens included."""

    max_tokens: int = 256
    overlap: int = 32

    def __post_init__(self):
        from .errors import BadValue

        for name in ("max_tokens", "overlap"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise BadValue(f"chunk {name} must be an integer, not {v!r}")
        if self.max_tokens < 8:
            raise BadValue("chunk size must be at least 8 tokens")
        if not 0 <= self.overlap < self.max_tokens // 2:
            raise BadValue("overlap must be >= 0 and below half the chunk size")


@dataclass
class Manifest:
    """What an index directory says about itself (stored in SQLite and mirrored to
    ``manifest.json`` for people and other tools)."""

    encoder: str
    dim: int
    chunking: dict = field(default_factory=dict)
    normalized: bool = True
    metric: str = "inner_product"
    format_version: int = FORMAT_VERSION
    searchkit_version: str = ""
    #: FAISS index kind: auto (exact below searchkit.store.vectors.ANN_THRESHOLD vectors,
    #: HNSW above), flat or hnsw.
    vector_index: str = "auto"
    #: the encoder's revision (see searchkit.encoders.base.Encoder.revision); "" for an
    #: encoder that has none, and for indexes built before revisions were recorded
    encoder_revision: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Manifest":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)
