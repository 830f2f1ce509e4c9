"""Embeddings as the index computes them: sentence vectors (document or query side) and
contextual token vectors, from an encoder name or from an index's own encoder."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

import numpy as np

from .errors import BadInput, EncoderMismatch


def resolve_encoder(encoder=None, index: str | Path | None = None):
    """The encoder ``encoder`` names (or is), or the one the index at ``index`` was built with.

    Raises:
        EncoderMismatch: both are given and the index was built with another encoder.
        IndexNotFound: ``index`` holds no index.
        BadInput: unknown encoder.
    """
    from .encoders import DEFAULT_ENCODER, Encoder, get_encoder, same_encoder

    if isinstance(encoder, Encoder) and index is None:
        return encoder
    if index is None:
        return get_encoder(encoder or DEFAULT_ENCODER)
    from .index import Index

    with Index.open(index, readonly=True) as idx:
        recorded = idx.manifest.encoder
        if encoder and not same_encoder(encoder, recorded):
            raise EncoderMismatch(f"index {index} was built with encoder {recorded!r}, "
                                  f"not {encoder!r}; drop --encoder to use the index's")
        return idx.encoder


def as_texts(texts: str | Sequence[str]) -> list[str]:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise BadInput("no text to embed")
    for n, t in enumerate(items, 1):
        if not isinstance(t, str) or not t.strip():
            raise BadInput(f"text {n} is empty" if isinstance(t, str) else
                           f"text {n} is not a string")
    return items


def embed(texts: str | Sequence[str], query: bool = False, encoder: str | None = None,
          index: str | Path | None = None, batch_size: int = 32) -> np.ndarray:
    """Sentence embeddings exactly as the index computes them.

    Args:
        texts: one text or several.
        query: embed as queries (``encode_queries``) instead of documents
            (``encode_documents``, what the index stores for each chunk's text).
        encoder: an encoder name (``minilm-int8``, the default for new indexes, when not given), tuned model name or path.
        index: use this index's own encoder (``encoder``, if also given, must match it).
        batch_size: texts per forward pass.

    Returns:
        float32, L2-normalised: ``(dim,)`` for one string, ``(len(texts), dim)`` for a list.
        A text longer than the encoder's limit is truncated, as it would never be indexed
        whole (the index chunks it first).
    """
    items = as_texts(texts)
    enc = resolve_encoder(encoder, index)
    vecs = (enc.encode_queries(items, batch_size=batch_size) if query
            else enc.encode_documents(items, batch_size=batch_size))
    return vecs[0] if isinstance(texts, str) else vecs


def token_vectors(text: str, encoder: str | None = None,
                  index: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """The tokens of ``text`` and their contextual vectors (the encoder's last hidden state,
    before pooling; special tokens left out). ``get_encoder(name).token_vectors(text)``
    also gives each token's character offsets.

    Returns:
        ``(tokens, vectors)`` with ``vectors.shape == (len(tokens), dim)``, float32.
    """
    tv = resolve_encoder(encoder, index).token_vectors(as_texts(text)[0])
    return tv.tokens, tv.vectors


def read_texts(path: str | Path) -> list[str]:
    """Texts from a file, one per line (blank lines skipped); ``-`` reads standard input."""
    import sys

    if str(path) == "-":
        lines = sys.stdin.read().splitlines()
    else:
        p = Path(path)
        if not p.is_file():
            raise BadInput(f"file not found: {p}")
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise BadInput(f"{p}: not UTF-8 text") from None
    texts = [line for line in lines if line.strip()]
    if not texts:
        raise BadInput(f"{path}: no text (one text per line is expected)")
    return texts


__all__ = ["embed", "token_vectors", "resolve_encoder", "read_texts"]
