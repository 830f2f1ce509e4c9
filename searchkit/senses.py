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

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import BadInput

__all__ = [
    "Occurrence", "SenseInfo", "find_occurrences", "context_for", "occurrence_vectors",
    "cluster_senses", "distinguishing_words", "central_examples", "glove_neighbours",
]

Occurrence = tuple[int, int, int]  # (text index, start, end) character span of one use


# -- finding the uses ------------------------------------------------------------------

def _pattern(word_or_phrase: str) -> re.Pattern:
    parts = word_or_phrase.split()
    if not parts:
        raise BadInput("empty word")
    body = r"\s+".join(re.escape(p) for p in parts)
    # Lookarounds rather than \b so that a phrase may start or end with punctuation.
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def find_occurrences(word_or_phrase: str, texts: Sequence[str]) -> list[Occurrence]:
    """Every whole-word, case-insensitive use of a word or phrase.

    A phrase matches across any run of whitespace (line breaks included) between its words.

    Returns:
        ``(text_index, start, end)`` character spans, in text then position order.
    """
    pat = _pattern(word_or_phrase)
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
    out = [None] * len(texts)
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
                       batch_size: int = 32) -> np.ndarray:
    """One contextual vector per use: the mean last hidden state of its subword tokens.

    Args:
        encoder: a :class:`searchkit.encoders.Encoder` that exposes token vectors.
        contexts_with_spans: ``(context, start, end)``, the use's character span inside
            its context (as :func:`context_for` gives it).
        batch_size: contexts per forward pass on the fast path.

    Returns:
        float32 array ``(n, dim)``, not normalised.
    """
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
        v = _span_mean(*by_text[context], s, e)
        if v is None:  # truncated away: encode a window around the use instead
            lo = max(0, s - 200)
            tv = encoder.token_vectors(context[lo:e + 200])
            v = _span_mean(tv.offsets, tv.vectors, s - lo, e - lo)
        if v is None:
            raise BadInput(f"no token covers {context[s:e]!r}")
        rows.append(v)
    return np.asarray(rows, dtype=np.float32)
