"""searchkit: semantic search over your own documents, offline, on a CPU.

The public API. Importing this module is cheap: nothing heavy (torch, faiss) loads until used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (BadInput, BadUsage, EncoderMismatch, IndexDamaged, IndexLocked,
                     IndexNotFound, ReadError, SearchkitError)
from .types import Answer, Hit, IndexReport, Skipped


def __getattr__(name):  # lazy: keep `import searchkit` and `search --help` fast
    if name == "Index":
        from .index import Index

        return Index
    if name == "ChunkSettings":
        from .config import ChunkSettings

        return ChunkSettings
    if name in ("embed", "token_vectors"):  # modules named apart from the functions
        from . import embedding

        return getattr(embedding, name)
    if name == "Senses":
        from .senses_report import Senses

        return Senses
    if name in ("tune", "TuneResult"):
        from . import tuning

        return getattr(tuning, name)
    raise AttributeError(name)


__all__ = ["Index", "ChunkSettings", "Hit", "Answer", "Senses", "IndexReport", "Skipped",
           "SearchkitError", "BadInput", "BadUsage", "EncoderMismatch", "IndexDamaged",
           "IndexLocked", "IndexNotFound", "ReadError",
           "embed", "token_vectors", "tune", "TuneResult", "__version__"]
